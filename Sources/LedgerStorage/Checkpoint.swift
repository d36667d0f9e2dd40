#if canImport(Glibc)
    import Glibc
#endif

/// A snapshot of the layer above's state at a commit-group boundary, so that recovery replays
/// only the records after it. Stored as `checkpoint-<sequence>.khata` beside the segments:
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 8 | magic `KHATACKP` |
/// | 8 | 2 | format version |
/// | 10 | 6 | reserved, zero |
/// | 16 | 8 | last sequence covered (0 before the first record) |
/// | 24 | 8 | first sequence of the segment holding the last group before the checkpoint |
/// | 32 | 8 | byte offset of the next record in that segment |
/// | 40 | 32 | chain hash at that point |
/// | 72 | 8 | payload size in bytes |
/// | 80 | 32 | SHA-256 of the payload |
/// | 112 | 12 | reserved, zero |
/// | 124 | 4 | CRC-32C of bytes 0..<124 |
/// | 128 | n | payload |
public struct Checkpoint: Equatable, Sendable {
    /// The position the payload corresponds to: every record before it is reflected in it.
    public var position: LogPosition
    /// The state of the layer above, opaque to storage.
    public var payload: [UInt8]

    public init(position: LogPosition, payload: [UInt8]) {
        self.position = position
        self.payload = payload
    }

    /// The last sequence whose effect the payload includes.
    public var sequence: UInt64 { position.nextSequence - 1 }

    /// The 128-byte header; the payload follows it in the file.
    func encodeHeader() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Format.checkpointHeaderSizeBytes)
        let hasher = SHA256Hasher()
        payload.withUnsafeBytes { hasher.update($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) }
        let payloadHash = hasher.finish()
        bytes.withUnsafeMutableBytes { raw in
            let page = raw.baseAddress!
            Format.checkpointMagic.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: 8) }
            page.storeLE(Format.formatVersion, at: 8)
            page.storeLE(sequence, at: 16)
            page.storeLE(position.segmentFirstSequence, at: 24)
            page.storeLE(UInt64(position.offset), at: 32)
            position.chain.store(to: page + 40)
            page.storeLE(UInt64(payload.count), at: 72)
            payloadHash.store(to: page + 80)
            page.storeLE(CRC32C.checksum(UnsafeRawPointer(page), count: 124), at: 124)
        }
        return bytes
    }

    /// The whole file's bytes.
    func encode() -> [UInt8] { encodeHeader() + payload }

    /// Decodes and verifies a checkpoint file's bytes; `path` labels errors.
    static func decode(_ bytes: [UInt8], path: String) throws(StorageError) -> Checkpoint {
        guard bytes.count >= Format.checkpointHeaderSizeBytes else {
            throw StorageError(
                .corrupted, "checkpoint is \(bytes.count) bytes, shorter than its header", path: path,
                offset: bytes.count)
        }
        return try bytes.withBytes { (raw) throws(StorageError) -> Checkpoint in
            let page = raw.baseAddress!
            guard Format.checkpointMagic.withUnsafeBytes({ memcmpBytes($0.baseAddress!, page, 8) }) else {
                throw StorageError(.corrupted, "checkpoint magic is not KHATACKP", path: path, offset: 0)
            }
            try checkHeaderChecksumAndVersion(page, kind: "checkpoint", path: path)
            guard RecordCodec.isZero(page + 10, count: 6), RecordCodec.isZero(page + 112, count: 12) else {
                throw StorageError(.corrupted, "checkpoint reserved bytes are not zero", path: path, offset: 10)
            }
            let payloadSize = Int(page.loadLE(at: 72, as: UInt64.self))
            guard payloadSize == bytes.count - Format.checkpointHeaderSizeBytes else {
                throw StorageError(
                    .corrupted,
                    "checkpoint declares a \(payloadSize)-byte payload but holds "
                        + "\(bytes.count - Format.checkpointHeaderSizeBytes)",
                    path: path, offset: 72)
            }
            let hasher = SHA256Hasher()
            hasher.update(page + Format.checkpointHeaderSizeBytes, count: payloadSize)
            guard hasher.finish() == ChainHash(loadingFrom: page + 80) else {
                throw StorageError(
                    .corrupted, "checkpoint payload does not match its SHA-256", path: path,
                    offset: Format.checkpointHeaderSizeBytes)
            }
            let sequence = page.loadLE(at: 16, as: UInt64.self)
            let position = LogPosition(
                segmentFirstSequence: page.loadLE(at: 24, as: UInt64.self),
                offset: Int(page.loadLE(at: 32, as: UInt64.self)),
                nextSequence: sequence &+ 1,
                chain: ChainHash(loadingFrom: page + 40))
            guard position.offset >= Format.segmentHeaderSizeBytes, position.offset % Format.recordSizeBytes == 0 else {
                throw StorageError(
                    .corrupted, "checkpoint names an impossible record offset \(position.offset)", path: path,
                    offset: 32)
            }
            let expectedName = Format.checkpointFileName(sequence: sequence)
            guard Path.fileName(of: path) == expectedName else {
                throw StorageError(
                    .corrupted, "checkpoint header says sequence \(sequence), which belongs in \(expectedName)",
                    path: path, offset: 16)
            }
            return Checkpoint(position: position, payload: Array(raw[Format.checkpointHeaderSizeBytes...]))
        }
    }

    /// Reads a checkpoint file.
    static func read(path: String) throws(StorageError) -> Checkpoint {
        let file = try FileDescriptor.open(path, flags: O_RDONLY)
        defer { file.close() }
        let size = try file.sizeBytes()
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withMutableBytes { (raw) throws(StorageError) in try file.readAll(into: raw, at: 0) }
        return try decode(bytes, path: path)
    }

    /// Writes the checkpoint durably: a temporary file, fsync, rename, fsync of the directory.
    func write(directory: String) throws(StorageError) {
        let finalPath = Path.join(directory, Format.checkpointFileName(sequence: sequence))
        let temporaryPath = finalPath + ".tmp"
        // Header and payload are written separately: the payload can be gigabytes, and copying
        // it behind the header would double the memory a checkpoint needs.
        let header = encodeHeader()
        do throws(StorageError) {
            let file = try FileDescriptor.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
            defer { file.close() }
            try header.withBytes { (raw) throws(StorageError) in try file.writeAll(raw, at: 0) }
            try payload.withBytes { (raw) throws(StorageError) in
                if raw.count > 0 { try file.writeAll(raw, at: Format.checkpointHeaderSizeBytes) }
            }
            try file.syncAll()
        } catch {
            try? Directory.remove(temporaryPath)
            throw error
        }
        try Directory.rename(temporaryPath, to: finalPath)
        try Directory.sync(directory)
    }
}
