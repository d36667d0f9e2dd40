import Foundation
import KhataCrypto
import LedgerStorage

/// What one export holds, written last, as `manifest.json` in the export's folder and signed in
/// `manifest.sig`. Everything restore rebuilds and verify checks is named here: ranges, counts,
/// the chain hashes at every file's ends, and the SHA-256 of every file's compressed and
/// decompressed bytes.
public struct ArchiveManifest: Codable, Equatable, Sendable {
    public static let formatName = "khata-archive"
    public static let currentVersion = 1

    public var format: String
    public var formatVersion: Int
    /// The Khata version that wrote the export.
    public var khataVersion: String
    /// When the export was written (UTC, ISO 8601).
    public var createdAt: String
    /// The log's first and last sequence in this export: whole commit groups.
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// The chain hash before the first group and after the last.
    public var startChain: String
    public var endChain: String
    /// Sequencer times (nanoseconds since 1970, UTC) of the first and last batch, if any.
    public var firstTimeNanoseconds: UInt64?
    public var lastTimeNanoseconds: UInt64?
    public var records: RecordCounts
    /// Bytes these records take in the log (commit records included, headers not).
    public var logBytes: Int
    /// The Ed25519 public key that signed `manifest.sig`, hexadecimal.
    public var signingKey: String
    public var files: [ArchiveFile]

    /// The export's folder name: `khata-<first>-<last>`, twenty digits each, so that `ls` lists
    /// exports in log order.
    public var folderName: String { Self.folderName(first: firstSequence, last: lastSequence) }

    public static func folderName(first: UInt64, last: UInt64) -> String {
        "khata-" + padded(first) + "-" + padded(last)
    }

    /// The range a folder name states, if it is one.
    public static func range(ofFolder name: String) -> (first: UInt64, last: UInt64)? {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "khata", parts[1].count == 20, parts[2].count == 20,
            let first = UInt64(parts[1]), let last = UInt64(parts[2]), parts[1].allSatisfy(\.isASCIIDigit),
            parts[2].allSatisfy(\.isASCIIDigit)
        else { return nil }
        return (first, last)
    }

    static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// The log files, in log order.
    public var logFiles: [ArchiveFile] { files.filter { $0.log != nil } }
}

/// One file of an export.
public struct ArchiveFile: Codable, Equatable, Sendable {
    /// The file's name in the export's folder; only the forms `logFileName` and
    /// `financeFileName` make are accepted, so a manifest cannot name a path elsewhere.
    public var name: String
    /// `log` or `finance`.
    public var role: String
    public var compressed: FileDigest
    public var uncompressed: FileDigest
    /// For a log file: where its groups lie in the ledger's log.
    public var log: LogPiece?
    /// For the finance file: its JSON lines.
    public var financeLines: Int?

    public static func logFileName(segmentFirstSequence: UInt64) -> String {
        "log-" + ArchiveManifest.padded(segmentFirstSequence) + ".zst"
    }

    public static let financeFileName = "finance.jsonl.zst"

    /// Whether `name` is a name this version writes (nothing with a slash, dot-dot or other
    /// surprise can pass).
    public static func isAcceptable(_ name: String) -> Bool {
        if name == financeFileName { return true }
        guard name.hasPrefix("log-"), name.hasSuffix(".zst") else { return false }
        let digits = name.dropFirst(4).dropLast(4)
        return digits.count == 20 && digits.allSatisfy(\.isASCIIDigit)
    }
}

/// The part of one segment file an archive file holds: whole groups from `offsetBytes`.
public struct LogPiece: Codable, Equatable, Sendable {
    /// The segment's header fields, which restore writes back.
    public var segmentFirstSequence: UInt64
    public var segmentIndex: UInt64
    public var segmentSizeBytes: Int
    public var segmentStartChain: String
    /// Where the first group starts in the segment, and where the last one ends.
    public var offsetBytes: Int
    public var endOffsetBytes: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// The chain hash before the first group and after the last.
    public var startChain: String
    public var endChain: String
    public var records: RecordCounts
    public var firstTimeNanoseconds: UInt64?
    public var lastTimeNanoseconds: UInt64?
}

/// `manifest.sig`: the Ed25519 signature of `manifest.json`'s exact bytes.
struct ManifestSignature: Codable {
    var algorithm: String
    var publicKey: String
    var signature: String
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Reading and writing manifests, with every field checked before anything trusts it.
enum ManifestFiles {
    static let manifestName = "manifest.json"
    static let signatureName = "manifest.sig"
    /// Manifests list a file per segment; a million segments is far past any real log.
    static let maximumManifestBytes = 64 << 20

    static func encode(_ manifest: ArchiveManifest) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Safe: the manifest holds only strings and numbers, which always encode.
        return Array(try! encoder.encode(manifest)) + [UInt8(ascii: "\n")]
    }

    static func signature(of manifestBytes: [UInt8], key: Ed25519.PrivateKey) -> [UInt8] {
        let signature = ManifestSignature(
            algorithm: "ed25519", publicKey: key.publicKey.hex, signature: Crypto.hex(key.sign(manifestBytes)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Safe: three strings always encode.
        return Array(try! encoder.encode(signature)) + [UInt8(ascii: "\n")]
    }

    /// Reads an export's manifest, checks its signature (against `trustedKey` when given, else
    /// against the key the manifest names) and every field's consistency.
    static func read(folder: String, trustedKey: Ed25519.PublicKey?) throws(ArchiveError) -> (
        ArchiveManifest, signedBy: Ed25519.PublicKey
    ) {
        let path = folder + "/" + manifestName
        let bytes = try FileBytes.read(path, limit: maximumManifestBytes)
        let signaturePath = folder + "/" + signatureName
        let signatureBytes = try FileBytes.read(signaturePath, limit: 4096)
        guard let signature = try? JSONDecoder().decode(ManifestSignature.self, from: Data(signatureBytes)),
            signature.algorithm == "ed25519", let signatureRaw = Crypto.bytes(hex: signature.signature),
            let claimedKey = try? Ed25519.PublicKey(text: signature.publicKey)
        else { throw ArchiveError(.damaged, "the signature file is not an Ed25519 signature", path: signaturePath) }
        let key = trustedKey ?? claimedKey
        guard key.verify(signature: signatureRaw, of: bytes) else {
            let whose = trustedKey == nil ? "the key it names" : "the trusted key \(key.hex.prefix(16))…"
            throw ArchiveError(
                .damaged,
                "the manifest's signature does not verify with \(whose): the manifest or manifest.sig was changed",
                path: path)
        }
        let manifest: ArchiveManifest
        do {
            manifest = try JSONDecoder().decode(ArchiveManifest.self, from: Data(bytes))
        } catch {
            throw ArchiveError(.damaged, "the manifest is not a Khata archive manifest: \(error)", path: path)
        }
        guard manifest.signingKey == key.hex else {
            throw ArchiveError(
                .damaged, "the manifest names signing key \(manifest.signingKey), not \(key.hex)", path: path)
        }
        try check(manifest, path: path, folderName: String(folder.split(separator: "/").last ?? ""))
        return (manifest, key)
    }

    /// Every rule a manifest this version writes obeys; the first broken one is the error.
    static func check(_ manifest: ArchiveManifest, path: String, folderName: String) throws(ArchiveError) {
        func fail(_ reason: String) -> ArchiveError { ArchiveError(.damaged, "manifest: \(reason)", path: path) }
        guard manifest.format == ArchiveManifest.formatName else {
            throw fail("format is not \(ArchiveManifest.formatName)")
        }
        guard manifest.formatVersion == ArchiveManifest.currentVersion else {
            throw ArchiveError(
                .refused,
                "archive format version \(manifest.formatVersion); this build reads \(ArchiveManifest.currentVersion)",
                path: path)
        }
        guard folderName == manifest.folderName else {
            throw fail("the folder is named \(folderName) but the manifest covers \(manifest.folderName)")
        }
        guard manifest.firstSequence >= 1, manifest.firstSequence <= manifest.lastSequence else {
            throw fail("sequence range \(manifest.firstSequence)...\(manifest.lastSequence)")
        }
        var names = Set<String>()
        for file in manifest.files {
            guard ArchiveFile.isAcceptable(file.name), names.insert(file.name).inserted else {
                throw fail("file name \(file.name.debugDescription) is not one this version writes, or repeats")
            }
            guard (file.role == "log") == (file.log != nil), file.role == "log" || file.role == "finance",
                (file.role == "finance") == (file.name == ArchiveFile.financeFileName)
            else { throw fail("file \(file.name) has role \(file.role)") }
            guard ChainHash(hex: file.compressed.sha256) != nil, ChainHash(hex: file.uncompressed.sha256) != nil,
                file.compressed.bytes >= 0, file.uncompressed.bytes >= 0
            else { throw fail("file \(file.name) has malformed digests") }
        }
        let pieces = manifest.logFiles.compactMap(\.log)
        guard let first = pieces.first, let last = pieces.last else { throw fail("no log files") }
        guard first.firstSequence == manifest.firstSequence, last.lastSequence == manifest.lastSequence,
            first.startChain == manifest.startChain, last.endChain == manifest.endChain
        else { throw fail("the log files do not span the manifest's range and chain") }
        var total = RecordCounts()
        var previous: LogPiece?
        for (file, piece) in zip(manifest.logFiles.map(\.name), pieces) {
            try checkPiece(piece, name: file, path: path)
            if let previous {
                guard piece.firstSequence == previous.lastSequence + 1, piece.startChain == previous.endChain,
                    piece.segmentFirstSequence > previous.segmentFirstSequence,
                    piece.segmentIndex == previous.segmentIndex + 1
                else { throw fail("log file \(file) does not continue the one before it") }
            }
            total = total + piece.records
            previous = piece
        }
        guard total == manifest.records else { throw fail("record counts do not add up over the files") }
    }

    static func checkPiece(_ piece: LogPiece, name: String, path: String) throws(ArchiveError) {
        func fail(_ reason: String) -> ArchiveError {
            ArchiveError(.damaged, "manifest, \(name): \(reason)", path: path)
        }
        guard name == ArchiveFile.logFileName(segmentFirstSequence: piece.segmentFirstSequence) else {
            throw fail("the name does not match segment \(piece.segmentFirstSequence)")
        }
        let header = Format.segmentHeaderSizeBytes
        let record = Format.recordSizeBytes
        guard piece.segmentSizeBytes >= Format.minimumSegmentSizeBytes, piece.segmentSizeBytes % 4096 == 0,
            piece.segmentSizeBytes <= 1 << 40
        else { throw fail("segment size \(piece.segmentSizeBytes)") }
        guard piece.offsetBytes >= header, (piece.offsetBytes - header) % record == 0,
            piece.endOffsetBytes <= piece.segmentSizeBytes,
            piece.endOffsetBytes - piece.offsetBytes == (piece.records.records + piece.records.groups) * record
        else { throw fail("offsets \(piece.offsetBytes)..<\(piece.endOffsetBytes) do not fit the records") }
        guard piece.firstSequence >= piece.segmentFirstSequence, piece.records.records >= 1,
            piece.lastSequence - piece.firstSequence + 1 == UInt64(piece.records.records), piece.records.groups >= 1
        else { throw fail("sequence range \(piece.firstSequence)...\(piece.lastSequence)") }
        guard ChainHash(hex: piece.startChain) != nil, ChainHash(hex: piece.endChain) != nil,
            ChainHash(hex: piece.segmentStartChain) != nil
        else { throw fail("malformed chain hash") }
        if piece.offsetBytes == header {
            guard piece.firstSequence == piece.segmentFirstSequence, piece.startChain == piece.segmentStartChain else {
                throw fail("starts its segment but not at the segment's first sequence and chain")
            }
        }
    }
}

/// Whole small files, read with a limit.
enum FileBytes {
    static func read(_ path: String, limit: Int) throws(ArchiveError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArchiveError(.damaged, "missing or unreadable", path: path)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw ArchiveError(.io, "cannot read: \(error)", path: path)
        }
        guard data.count <= limit else { throw ArchiveError(.damaged, "larger than \(limit) bytes", path: path) }
        return Array(data)
    }
}
