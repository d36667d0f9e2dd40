import Dispatch
import Foundation
import JSONInput
import KhataCrypto
import LedgerStorage
import Synchronization

/// One export of an archive folder, its manifest read and its signature checked.
public struct ArchiveExport: Sendable {
    public var folder: String
    public var manifest: ArchiveManifest
    public var signedBy: Ed25519.PublicKey
}

/// What `verify` checked.
public struct ArchiveCheck: Sendable {
    public var exports: [ArchiveExport] = []
    public var files = 0
    public var records = RecordCounts()
    /// Bytes of log the records rebuild into (what `khata check` would read), and the archive's
    /// compressed and decompressed bytes.
    public var logBytes = 0
    public var compressedBytes = 0
    public var decompressedBytes = 0
    public var financeLines = 0
    /// The sequence range the exports cover, and the chain hash after the last.
    public var firstSequence: UInt64 = 0
    public var lastSequence: UInt64 = 0
    public var endChain = ""
    /// Whether the exports start at the log's first sequence (a full history, restorable).
    public var startsAtFirstSequence: Bool { firstSequence == 1 }
}

/// Reads an archive folder's exports and checks everything: signatures, manifests, every file's
/// hashes, every record rebuilt with its checksum, the chain through each file and across files
/// and exports.
public enum ArchiveVerifier {
    /// The exports of `directory`, manifests checked and linked; the files are not read.
    public static func exports(directory: String, trustedKey: Ed25519.PublicKey?) throws(ArchiveError)
        -> [ArchiveExport]
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArchiveError(.refused, "no archive folder here", path: directory)
        }
        var exports: [ArchiveExport] = []
        for name in try ArchiveFolder.exports(directory) {
            let folder = directory + "/" + name
            let (manifest, key) = try ManifestFiles.read(folder: folder, trustedKey: trustedKey)
            if let previous = exports.last?.manifest {
                guard manifest.firstSequence == previous.lastSequence + 1 else {
                    throw ArchiveError(
                        .damaged,
                        "sequences \(previous.lastSequence + 1)...\(manifest.firstSequence - 1) are missing between "
                            + "\(previous.folderName) and \(name)", path: folder)
                }
                guard manifest.startChain == previous.endChain else {
                    throw ArchiveError(
                        .damaged,
                        "the export starts from chain \(manifest.startChain), but \(previous.folderName) ends with "
                            + "\(previous.endChain)", path: folder)
                }
            }
            exports.append(ArchiveExport(folder: folder, manifest: manifest, signedBy: key))
        }
        guard !exports.isEmpty else { throw ArchiveError(.refused, "the folder holds no export", path: directory) }
        return exports
    }

    /// Verifies every byte of every export, files in parallel.
    public static func verify(
        directory: String, trustedKey: Ed25519.PublicKey?,
        progress: (@Sendable (_ doneBytes: Int, _ totalBytes: Int) -> Void)? = nil
    ) throws(ArchiveError) -> ArchiveCheck {
        let exports = try exports(directory: directory, trustedKey: trustedKey)
        let work = exports.flatMap { export in export.manifest.files.map { (export.folder, $0) } }
        let totalBytes = work.reduce(0) { $0 + $1.1.uncompressed.bytes }
        let done = Atomic<Int>(0)
        let failures = Mutex<[Int: ArchiveError]>([:])
        DispatchQueue.concurrentPerform(iterations: work.count) { index in
            let (folder, file) = work[index]
            let path = folder + "/" + file.name
            let report: (Int) -> Void = { bytes in
                progress?(done.add(bytes, ordering: .relaxed).newValue, totalBytes)
            }
            do throws(ArchiveError) {
                if let piece = file.log {
                    try PieceReplay(path: path, file: file, piece: piece).run(
                        sealer: GroupSealer(), group: { _ in }, progress: report)
                } else {
                    try verifyFinance(path: path, file: file)
                    report(file.uncompressed.bytes)
                }
            } catch {
                failures.withLock { $0[index] = error }
            }
        }
        if let first = failures.withLock({ $0.min { $0.key < $1.key } }) { throw first.value }
        var check = ArchiveCheck()
        check.exports = exports
        check.files = work.count
        check.firstSequence = exports.first?.manifest.firstSequence ?? 0
        check.lastSequence = exports.last?.manifest.lastSequence ?? 0
        check.endChain = exports.last?.manifest.endChain ?? ""
        for export in exports {
            check.records = check.records + export.manifest.records
            check.logBytes += export.manifest.logBytes
            for file in export.manifest.files {
                check.compressedBytes += file.compressed.bytes
                check.decompressedBytes += file.uncompressed.bytes
                check.financeLines += file.financeLines ?? 0
            }
        }
        return check
    }

    /// The finance file: its hashes, its line count, and that every line is one JSON object
    /// naming its record.
    static func verifyFinance(path: String, file: ArchiveFile) throws(ArchiveError) {
        try readFinance(path: path, file: file) { _ in }
    }

    /// The finance record of `export`, line by line, each checked as `verify` checks it; the file's
    /// hashes and line count are compared at its end, so `body` may see lines of a file that
    /// turns out damaged: act on them only once this returns. An export without a finance
    /// record has no lines.
    public static func financeRecord(
        of export: ArchiveExport, _ body: (String) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        guard let file = export.manifest.files.first(where: { $0.role == "finance" }) else { return }
        try readFinance(path: export.folder + "/" + file.name, file: file) { line throws(ArchiveError) in
            try body(String(decoding: line, as: UTF8.self))
        }
    }

    private static func readFinance(
        path: String, file: ArchiveFile, _ body: ([UInt8]) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        let reader = try CompressedFileReader(path: path)
        var lines = 0
        var line: [UInt8] = []
        var lineStart = 0
        func check() throws(ArchiveError) {
            if let problem = JSONDocumentCheck.problem(line, wholeNumbers: false) {
                throw ArchiveError(
                    .damaged, "line \(lines + 1) (decompressed offset \(lineStart)) is not a record: \(problem)",
                    path: path, offset: reader.compressedOffset)
            }
            guard line.starts(with: Array("{\"record\":\"".utf8)) else {
                throw ArchiveError(
                    .damaged, "line \(lines + 1) (decompressed offset \(lineStart)) does not name its record",
                    path: path, offset: reader.compressedOffset)
            }
        }
        while let chunk = try reader.nextAvailable(upTo: 1 << 16) {
            let chunkStart = reader.consumed - chunk.count
            var from = chunk.startIndex
            while let newline = chunk[from...].firstIndex(of: UInt8(ascii: "\n")) {
                line.append(contentsOf: chunk[from..<newline])
                try check()
                try body(line)
                lines += 1
                line.removeAll(keepingCapacity: true)
                from = newline + 1
                lineStart = chunkStart + from
            }
            line.append(contentsOf: chunk[from...])
        }
        guard line.isEmpty else { throw reader.damage("the last line has no end") }
        let digests = try reader.finish()
        try PieceReplay.compare(digests, file, path: path)
        guard lines == file.financeLines else {
            throw ArchiveError(
                .damaged, "the file holds \(lines) lines, the manifest says \(file.financeLines ?? 0)", path: path)
        }
    }
}
