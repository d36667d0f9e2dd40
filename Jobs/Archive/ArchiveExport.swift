import Dispatch
import Foundation
import JobStore
import KhataCrypto
import LedgerStorage
import Synchronization

/// What an export is asked to do.
public struct ExportRequest: Sendable {
    /// The ledger's segment directory (`<data-dir>/ledger`).
    public var ledgerDirectory: String
    /// The archive folder; each export adds one `khata-<first>-<last>` folder to it.
    public var archiveDirectory: String
    /// First sequence to export; `nil` continues after the newest export in the folder (or from
    /// the start of the log).
    public var fromSequence: UInt64?
    /// Last sequence to export; `nil` is the last durable group when the export starts.
    public var toSequence: UInt64?
    /// zstd level, 1...19.
    public var level: Int32 = 3
    public var signingKey: Ed25519.PrivateKey
    public var khataVersion: String
    /// The job store whose finance record of the export's period (see `FinanceRecord`) is added
    /// as `finance.jsonl.zst`; `nil` exports the log alone.
    public var jobDatabase: JobDatabase?
    /// Called with bytes of the log read so far and the total expected.
    public var progress: (@Sendable (_ doneBytes: Int, _ totalBytes: Int) -> Void)?

    public init(
        ledgerDirectory: String, archiveDirectory: String, signingKey: Ed25519.PrivateKey, khataVersion: String
    ) {
        self.ledgerDirectory = ledgerDirectory
        self.archiveDirectory = archiveDirectory
        self.signingKey = signingKey
        self.khataVersion = khataVersion
    }
}

/// What an export did.
public struct ExportOutcome: Sendable {
    /// The new export, or `nil` when there was nothing new to export.
    public var manifest: ArchiveManifest?
    /// Its folder.
    public var folder: String?
    /// Why nothing was exported, when nothing was.
    public var nothingToExport: String?
    /// Bytes of log the export read (from segment starts, to verify the chain).
    public var bytesRead = 0
}

/// Exports the committed log into compressed, signed archive files.
public enum ArchiveExporter {
    /// Records per block: enough for columns to pay, small enough that memory stays small.
    static let blockTargetRecords = 8_192
    static let streamMagic: [UInt8] = Array("KHATAARC".utf8)
    static let streamVersion: UInt32 = 1

    public static func export(_ request: ExportRequest) throws(ArchiveError) -> ExportOutcome {
        let archive = request.archiveDirectory
        try ArchiveFolder.create(archive)
        let lock = try ArchiveFolder.lock(archive)
        defer { lock.release() }
        try ArchiveFolder.removeUnfinished(archive)
        let existing = try ArchiveFolder.exports(archive)
        let key = request.signingKey.publicKey
        var manifests: [ArchiveManifest] = []
        for name in existing {
            manifests.append(try ManifestFiles.read(folder: archive + "/" + name, trustedKey: key).0)
        }
        let previous = manifests.last
        let from = request.fromSequence ?? (previous.map { $0.lastSequence + 1 } ?? 1)
        let to = request.toSequence ?? UInt64.max
        guard from >= 1, from <= to else {
            throw ArchiveError(.refused, "--from-seq \(from) is after --to-seq \(to)")
        }
        if let overlap = manifests.first(where: { $0.firstSequence <= to && $0.lastSequence >= from }) {
            throw ArchiveError(
                .refused,
                "the archive already holds sequences \(overlap.firstSequence)...\(overlap.lastSequence) in "
                    + "\(overlap.folderName); export another range or into another folder", path: archive)
        }
        let segments: [LogSegment]
        do { segments = try LogSegments.list(directory: request.ledgerDirectory) } catch {
            throw ArchiveError(.io, "cannot read the ledger: \(error)", path: request.ledgerDirectory)
        }
        guard let firstIndex = segments.lastIndex(where: { $0.header.firstSequence <= from }) else {
            return ExportOutcome(nothingToExport: "the ledger has no records from sequence \(from)")
        }
        let selected = Array(segments[firstIndex...].prefix { $0.header.firstSequence <= to })
        let live = LogSegments.isOpenForWriting(directory: request.ledgerDirectory)
        let work = archive + "/" + ArchiveFolder.unfinishedPrefix + String(getpid())
        try ArchiveFolder.create(work)
        var finished = false
        defer { if !finished { ArchiveFolder.removeTree(work) } }

        let totalBytes = selected.reduce(0) { $0 + $1.sizeBytes }
        let doneBytes = Atomic<Int>(0)
        let results = Mutex([Result<PieceExport, ArchiveError>?](repeating: nil, count: selected.count))
        DispatchQueue.concurrentPerform(iterations: selected.count) { index in
            let job = PieceJob(
                segment: selected[index], isLast: selected[index] === segments.last, live: live, from: from, to: to,
                folder: work, level: request.level)
            let result = Result { () throws(ArchiveError) in
                try job.run { bytes in
                    let done = doneBytes.add(bytes, ordering: .relaxed).newValue
                    request.progress?(done, totalBytes)
                }
            }
            results.withLock { $0[index] = result }
        }
        var pieces: [PieceExport] = []
        for (index, result) in results.withLock({ $0 }).enumerated() {
            // Safe: concurrentPerform ran every index.
            let piece = try result!.get()
            if index > 0, let before = pieces.last, before.scannedToEnd {
                do { try LogSegments.checkContinuity(selected[index], after: before.segmentEnd) } catch {
                    throw ArchiveError(.damaged, "the ledger's log is damaged: \(error)", path: selected[index].path)
                }
            }
            pieces.append(piece)
        }
        if let last = selected.last, last === segments.last {
            // What was read of the live segment is made durable before it is archived (see
            // LogSegments.syncData).
            do { try LogSegments.syncData(path: last.path) } catch {
                throw ArchiveError(.io, "cannot sync the ledger's last segment: \(error)", path: last.path)
            }
        }
        let written = pieces.compactMap(\.file)
        guard let firstPiece = written.first?.log, let lastPiece = written.last?.log else {
            let end = pieces.last?.segmentEnd.nextSequence ?? from
            return ExportOutcome(
                nothingToExport: "nothing new: the log's committed records end before sequence \(max(from, end))",
                bytesRead: doneBytes.load(ordering: .relaxed))
        }
        if let previous, firstPiece.firstSequence == previous.lastSequence + 1,
            firstPiece.startChain != previous.endChain
        {
            throw ArchiveError(
                .refused,
                "the ledger's chain before sequence \(firstPiece.firstSequence) is \(firstPiece.startChain), but the "
                    + "archive's last export ends with \(previous.endChain): this archive is of another ledger",
                path: archive + "/" + previous.folderName)
        }
        var files = written
        let firstTime = written.lazy.compactMap(\.log?.firstTimeNanoseconds).first
        let lastTime = written.reversed().lazy.compactMap(\.log?.lastTimeNanoseconds).first
        if let database = request.jobDatabase, let lastTime {
            // The period starts where the export before this one in the chain ended.
            let before = manifests.last { $0.lastSequence < firstPiece.firstSequence }
            files.append(
                try writeFinance(
                    database, after: before?.lastTimeNanoseconds, through: lastTime, folder: work,
                    level: request.level))
        }
        let records = written.compactMap(\.log?.records).reduce(RecordCounts(), +)
        let manifest = ArchiveManifest(
            format: ArchiveManifest.formatName, formatVersion: ArchiveManifest.currentVersion,
            khataVersion: request.khataVersion, createdAt: Self.timestamp(Date()),
            firstSequence: firstPiece.firstSequence, lastSequence: lastPiece.lastSequence,
            startChain: firstPiece.startChain, endChain: lastPiece.endChain, firstTimeNanoseconds: firstTime,
            lastTimeNanoseconds: lastTime, records: records,
            logBytes: (records.records + records.groups) * Format.recordSizeBytes, signingKey: key.hex, files: files)
        let manifestBytes = ManifestFiles.encode(manifest)
        try ArchiveFolder.writeDurably(work + "/" + ManifestFiles.manifestName, manifestBytes)
        try ArchiveFolder.writeDurably(
            work + "/" + ManifestFiles.signatureName,
            ManifestFiles.signature(of: manifestBytes, key: request.signingKey))
        try ArchiveFolder.sync(work)
        let folder = archive + "/" + manifest.folderName
        try ArchiveFolder.rename(work, to: folder)
        try ArchiveFolder.sync(archive)
        finished = true
        return ExportOutcome(
            manifest: manifest, folder: folder, nothingToExport: nil, bytesRead: doneBytes.load(ordering: .relaxed))
    }

    private static func writeFinance(
        _ database: JobDatabase, after: UInt64?, through: UInt64, folder: String, level: Int32
    ) throws(ArchiveError) -> ArchiveFile {
        let writer = try CompressedFileWriter(path: folder + "/" + ArchiveFile.financeFileName, level: level)
        var count = 0
        do {
            try FinanceRecord.write(from: database, afterNanoseconds: after, throughNanoseconds: through) { line in
                precondition(!line.utf8.contains(UInt8(ascii: "\n")), "a JSON line holds no newline")
                var bytes = Array(line.utf8)
                bytes.append(UInt8(ascii: "\n"))
                try bytes.withBytes { (raw) throws(ArchiveError) in try writer.write(raw) }
                count += 1
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(.io, "cannot read the finance record from the job store: \(error)")
        }
        let digests = try writer.finish()
        return ArchiveFile(
            name: ArchiveFile.financeFileName, role: "finance", compressed: digests.compressed,
            uncompressed: digests.uncompressed, log: nil, financeLines: count)
    }

    /// UTC, ISO 8601, to the second: how manifests and logs write times.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// What exporting one segment's groups produced.
struct PieceExport: Sendable {
    /// The archive file, `nil` when the segment holds no group in the range.
    var file: ArchiveFile?
    /// Where the scan of the segment ended.
    var segmentEnd: LogPosition
    /// Whether the scan reached the segment's end (not stopped at the range's end).
    var scannedToEnd: Bool
}

/// Exports the groups of one segment that fall in the range: the scan verifies every record and
/// the chain from the segment's start; groups before the range are only verified.
struct PieceJob {
    let segment: LogSegment
    let isLast: Bool
    let live: Bool
    let from: UInt64
    let to: UInt64
    let folder: String
    let level: Int32

    func run(progress: (Int) -> Void) throws(ArchiveError) -> PieceExport {
        let header = segment.header
        let name = ArchiveFile.logFileName(segmentFirstSequence: header.firstSequence)
        var writer: CompressedFileWriter?
        let encoder = LogColumnEncoder()
        let block = ColumnBuffer(capacity: 1 << 20)
        var previousChain = header.startChain
        var piece: LogPiece?
        var lastChain = header.startChain
        var failure: ArchiveError?
        var stopped = false
        var reported = Format.segmentHeaderSizeBytes
        func flush() throws(ArchiveError) {
            guard encoder.recordsInBlock > 0, let writer else { return }
            block.removeAll()
            encoder.finishBlock(into: block)
            let length = ColumnBuffer(capacity: 16)
            length.append(varint: UInt64(block.count))
            try writer.write(length.bytes)
            try writer.write(block.bytes)
        }
        let end: LogPosition
        do {
            end = try segment.forEachGroup(isLastSegment: isLast, tailInProgress: live) { group in
                defer { previousChain = group.chain }
                if group.offset - reported >= 1 << 22 {
                    progress(group.offset - reported)
                    reported = group.offset
                }
                if group.lastSequence < from { return true }
                if group.firstSequence > to {
                    stopped = true
                    return false
                }
                do throws(ArchiveError) {
                    if writer == nil {
                        let opened = try CompressedFileWriter(path: folder + "/" + name, level: level)
                        var streamHeader = ArchiveExporter.streamMagic
                        withUnsafeBytes(of: ArchiveExporter.streamVersion.littleEndian) { streamHeader += $0 }
                        streamHeader += [0, 0, 0, 0]
                        try streamHeader.withBytes { (raw) throws(ArchiveError) in try opened.write(raw) }
                        writer = opened
                        piece = LogPiece(
                            segmentFirstSequence: header.firstSequence, segmentIndex: header.segmentIndex,
                            segmentSizeBytes: header.segmentSizeBytes, segmentStartChain: header.startChain.hex,
                            offsetBytes: group.offset, endOffsetBytes: group.offset, firstSequence: group.firstSequence,
                            lastSequence: group.firstSequence, startChain: previousChain.hex, endChain: "",
                            records: RecordCounts())
                    }
                    encoder.add(records: group.records, count: group.recordCount)
                    piece?.endOffsetBytes = group.offset + group.sizeBytes
                    piece?.lastSequence = group.lastSequence
                    lastChain = group.chain
                    if encoder.recordsInBlock >= ArchiveExporter.blockTargetRecords { try flush() }
                } catch {
                    failure = error
                    return false
                }
                return true
            }
        } catch {
            throw ArchiveError(.damaged, "the ledger's log is damaged: \(error)", path: error.path ?? segment.path)
        }
        if let failure { throw failure }
        progress(max(0, segment.sizeBytes - reported))
        guard var piece, let writer else {
            return PieceExport(file: nil, segmentEnd: end, scannedToEnd: !stopped)
        }
        try flush()
        var terminator: UInt8 = 0
        try writer.write(UnsafeRawBufferPointer(start: &terminator, count: 1))
        let digests = try writer.finish()
        piece.records = encoder.counts
        piece.endChain = lastChain.hex
        piece.firstTimeNanoseconds = encoder.firstBatchTime
        piece.lastTimeNanoseconds = encoder.lastBatchTime
        let file = ArchiveFile(
            name: name, role: "log", compressed: digests.compressed, uncompressed: digests.uncompressed, log: piece,
            financeLines: nil)
        return PieceExport(file: file, segmentEnd: end, scannedToEnd: !stopped)
    }
}

extension ArchiveExporter {
    /// `export` on a dispatch thread, awaited: an export blocks for as long as the log takes to
    /// read and compress, and must not hold one of the few Swift concurrency threads a serving
    /// ledger answers requests on.
    public static func exportInBackground(_ request: ExportRequest) async throws(ArchiveError) -> ExportOutcome {
        let result = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(returning: Result { () throws(ArchiveError) in try export(request) })
            }
        }
        return try result.get()
    }
}
