import Dispatch
import Foundation
import KhataCrypto
import LedgerStorage
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a restore wrote.
public struct RestoreOutcome: Sendable {
    public var segments = 0
    public var records = 0
    public var lastSequence: UInt64 = 0
    public var endChain = ""
    /// Bytes of segment files written (whole segments, zero tails included).
    public var bytesWritten = 0
}

/// Rebuilds a ledger's segment files from an archive that holds its whole history, byte for
/// byte: every segment's header, records, checksums, commit records and zero tail, each proven by
/// the chain the signed manifests state before it is given its name.
public enum ArchiveRestorer {
    /// Restores into `dataDirectory`, which must not exist or be empty; the segments go to its
    /// `ledger` folder.
    public static func restore(
        archiveDirectory: String, dataDirectory: String, trustedKey: Ed25519.PublicKey?,
        progress: (@Sendable (_ doneBytes: Int, _ totalBytes: Int) -> Void)? = nil
    ) throws(ArchiveError) -> RestoreOutcome {
        let target = try prepareTarget(dataDirectory, archiveDirectory: archiveDirectory)
        let exports = try ArchiveVerifier.exports(directory: archiveDirectory, trustedKey: trustedKey)
        guard let first = exports.first?.manifest, first.firstSequence == 1 else {
            throw ArchiveError(
                .refused,
                "the archive starts at sequence \(exports.first?.manifest.firstSequence ?? 0), not 1: restore needs "
                    + "the whole history (verify and statements work on a partial one)", path: archiveDirectory)
        }
        let segments = try plan(exports)
        let working = target + "/ledger.restoring"
        try ArchiveFolder.create(working)
        var finished = false
        defer { if !finished { ArchiveFolder.removeTree(working) } }
        let totalBytes = segments.reduce(0) { $0 + $1.sizeBytes }
        let done = Atomic<Int>(0)
        let failures = Mutex<[Int: ArchiveError]>([:])
        DispatchQueue.concurrentPerform(iterations: segments.count) { index in
            do throws(ArchiveError) {
                try segments[index].write(into: working) { bytes in
                    progress?(done.add(bytes, ordering: .relaxed).newValue, totalBytes)
                }
            } catch {
                failures.withLock { $0[index] = error }
            }
        }
        if let failure = failures.withLock({ $0.min { $0.key < $1.key } }) { throw failure.value }
        try ArchiveFolder.sync(working)
        try ArchiveFolder.rename(working, to: target + "/ledger")
        try ArchiveFolder.sync(target)
        finished = true
        // Safe: `exports` is not empty (checked above).
        let last = exports.last!.manifest
        return RestoreOutcome(
            segments: segments.count, records: exports.reduce(0) { $0 + $1.manifest.records.records },
            lastSequence: last.lastSequence, endChain: last.endChain, bytesWritten: totalBytes)
    }

    /// The target must be new or empty, and not inside the archive.
    static func prepareTarget(_ path: String, archiveDirectory: String) throws(ArchiveError) -> String {
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let archive = URL(fileURLWithPath: archiveDirectory).standardizedFileURL.path
        guard target != archive, !target.hasPrefix(archive + "/") else {
            throw ArchiveError(.refused, "the data directory may not be inside the archive folder", path: path)
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: target) {
            guard entries.isEmpty else {
                throw ArchiveError(
                    .refused,
                    "the data directory is not empty (\(entries.count) entries): restore writes only into a new "
                        + "or empty directory", path: path)
            }
        } else if FileManager.default.fileExists(atPath: target) {
            throw ArchiveError(.refused, "the data directory exists and is not a folder", path: path)
        }
        try ArchiveFolder.create(target)
        return target
    }

    /// The segments to write, each from its pieces in order, checked to tile it exactly.
    static func plan(_ exports: [ArchiveExport]) throws(ArchiveError) -> [SegmentRebuild] {
        var segments: [SegmentRebuild] = []
        for export in exports {
            for file in export.manifest.logFiles {
                // Safe: logFiles holds only files with a log piece.
                let piece = file.log!
                let path = export.folder + "/" + file.name
                if var current = segments.last, current.firstSequence == piece.segmentFirstSequence {
                    guard let previous = current.pieces.last, piece.offsetBytes == previous.piece.endOffsetBytes,
                        piece.segmentIndex == current.index, piece.segmentSizeBytes == current.sizeBytes,
                        piece.segmentStartChain == current.startChain
                    else {
                        throw ArchiveError(
                            .damaged,
                            "the file does not continue segment \(piece.segmentFirstSequence) where the "
                                + "previous export left it", path: path)
                    }
                    current.pieces.append(PieceReplay(path: path, file: file, piece: piece))
                    segments[segments.count - 1] = current
                    continue
                }
                guard piece.offsetBytes == Format.segmentHeaderSizeBytes else {
                    throw ArchiveError(
                        .damaged,
                        "segment \(piece.segmentFirstSequence) starts at offset \(piece.offsetBytes) in "
                            + "the first file that holds it; its earlier groups are missing", path: path)
                }
                if let previous = segments.last {
                    guard piece.segmentIndex == previous.index + 1 else {
                        throw ArchiveError(.damaged, "segment index \(piece.segmentIndex) skips", path: path)
                    }
                } else {
                    guard piece.segmentIndex == 0 else {
                        throw ArchiveError(.damaged, "the first segment has index \(piece.segmentIndex)", path: path)
                    }
                }
                segments.append(
                    SegmentRebuild(
                        firstSequence: piece.segmentFirstSequence, index: piece.segmentIndex,
                        sizeBytes: piece.segmentSizeBytes, startChain: piece.segmentStartChain,
                        pieces: [PieceReplay(path: path, file: file, piece: piece)]))
            }
        }
        return segments
    }
}

/// One segment file to rebuild from its archive pieces.
struct SegmentRebuild {
    var firstSequence: UInt64
    var index: UInt64
    var sizeBytes: Int
    var startChain: String
    var pieces: [PieceReplay]

    var fileName: String { Format.segmentFileName(firstSequence: firstSequence) }

    /// Writes the segment under a temporary name, its groups replayed and proven, then syncs it
    /// and gives it its name.
    func write(into folder: String, progress: (Int) -> Void) throws(ArchiveError) {
        let path = folder + "/" + fileName
        let temporary = path + ".tmp"
        try write(to: temporary)
        try ArchiveFolder.rename(temporary, to: path)
        progress(sizeBytes)
    }

    /// Writes the segment at `temporary`, its groups replayed and proven, and syncs it.
    func write(to temporary: String) throws(ArchiveError) {
        guard let chain = ChainHash(hex: startChain) else {
            throw ArchiveError(.damaged, "malformed segment start chain \(startChain)")
        }
        let output = try SequentialFile(path: temporary)
        let header = SegmentHeader(
            segmentSizeBytes: sizeBytes, firstSequence: firstSequence, segmentIndex: index, startChain: chain)
        try GroupSealer.headerPage(header).withBytes { (raw) throws(ArchiveError) in try output.write(raw) }
        let sealer = GroupSealer()
        for piece in pieces {
            try piece.run(sealer: sealer, group: { (bytes) throws(ArchiveError) in try output.write(bytes) })
        }
        guard output.offset <= sizeBytes else {
            throw ArchiveError(.damaged, "the records overflow the segment's \(sizeBytes) bytes", path: temporary)
        }
        try output.zeroFill(to: sizeBytes)
        try output.finish()
    }
}

/// A file written front to back through a buffer, synced at the end.
final class SequentialFile {
    let path: String
    private let fd: Int32
    private let buffer = ColumnBuffer(capacity: 4 << 20)
    private(set) var offset = 0

    init(path: String) throws(ArchiveError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.system("cannot create", path: path) }
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        buffer.append(bytes)
        offset += bytes.count
        if buffer.count >= 4 << 20 { try flush() }
    }

    /// Writes zeros up to `size`: the tail a segment has until records fill it.
    func zeroFill(to size: Int) throws(ArchiveError) {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        while offset < size {
            let count = min(zeros.count, size - offset)
            try zeros.withBytes { (raw) throws(ArchiveError) in
                try write(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            }
        }
    }

    func flush() throws(ArchiveError) {
        var written = 0
        while written < buffer.count {
            let result = Glibc.write(fd, buffer.base + written, buffer.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.system("cannot write", path: path)
            }
            written += result
        }
        buffer.removeAll()
    }

    func finish() throws(ArchiveError) {
        try flush()
        guard fsync(fd) == 0 else { throw ArchiveError.system("cannot sync", path: path) }
    }
}
