/// The first page of every segment file. Fields live in its first 128 bytes; the rest is zero.
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 8 | magic `KHATASEG` |
/// | 8 | 2 | format version |
/// | 10 | 2 | header size in bytes (4096) |
/// | 12 | 4 | record size in bytes (128) |
/// | 16 | 8 | segment size in bytes |
/// | 24 | 8 | first sequence number |
/// | 32 | 8 | segment index (0 for the first segment, then +1) |
/// | 40 | 32 | chain hash the segment continues from |
/// | 72 | 52 | reserved, zero |
/// | 124 | 4 | CRC-32C of bytes 0..<124 |
public struct SegmentHeader: Equatable, Sendable {
    public var segmentSizeBytes: Int
    public var firstSequence: UInt64
    public var segmentIndex: UInt64
    public var startChain: ChainHash

    public init(segmentSizeBytes: Int, firstSequence: UInt64, segmentIndex: UInt64, startChain: ChainHash) {
        self.segmentSizeBytes = segmentSizeBytes
        self.firstSequence = firstSequence
        self.segmentIndex = segmentIndex
        self.startChain = startChain
    }

    /// Writes the header page (4096 bytes) at `page`.
    func encode(into page: UnsafeMutableRawPointer) {
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Format.segmentHeaderSizeBytes)
        Format.segmentMagic.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: 8) }
        page.storeLE(Format.formatVersion, at: 8)
        page.storeLE(UInt16(Format.segmentHeaderSizeBytes), at: 10)
        page.storeLE(UInt32(Format.recordSizeBytes), at: 12)
        page.storeLE(UInt64(segmentSizeBytes), at: 16)
        page.storeLE(firstSequence, at: 24)
        page.storeLE(segmentIndex, at: 32)
        startChain.store(to: page + 40)
        page.storeLE(CRC32C.checksum(UnsafeRawPointer(page), count: 124), at: 124)
    }

    /// Decodes and validates a header page; the error says which field is wrong. `path` only
    /// labels the error.
    static func decode(_ page: UnsafeRawPointer, path: String) throws(StorageError) -> SegmentHeader {
        let magicMatches = Format.segmentMagic.withUnsafeBytes { memcmpBytes($0.baseAddress!, page, 8) }
        guard magicMatches else {
            if RecordCodec.isZero(page, count: Format.segmentHeaderFieldsSizeBytes) {
                throw StorageError(
                    .corrupted, "segment header is all zeros (segment never initialised)", path: path, offset: 0)
            }
            throw StorageError(.corrupted, "segment header magic is not KHATASEG", path: path, offset: 0)
        }
        try checkHeaderChecksumAndVersion(page, kind: "segment", path: path)
        guard page.loadLE(at: 10, as: UInt16.self) == Format.segmentHeaderSizeBytes,
            page.loadLE(at: 12, as: UInt32.self) == Format.recordSizeBytes
        else {
            throw StorageError(
                .corrupted, "segment header declares an unknown header or record size", path: path, offset: 10)
        }
        guard RecordCodec.isZero(page + 72, count: 52),
            RecordCodec.isZero(page + 128, count: Format.segmentHeaderSizeBytes - 128)
        else {
            throw StorageError(.corrupted, "segment header reserved bytes are not zero", path: path, offset: 72)
        }
        let sizeBytes = Int(page.loadLE(at: 16, as: UInt64.self))
        guard sizeBytes >= Format.minimumSegmentSizeBytes, sizeBytes % 4096 == 0 else {
            throw StorageError(
                .corrupted, "segment header declares an impossible segment size \(sizeBytes)", path: path, offset: 16)
        }
        return SegmentHeader(
            segmentSizeBytes: sizeBytes,
            firstSequence: page.loadLE(at: 24, as: UInt64.self),
            segmentIndex: page.loadLE(at: 32, as: UInt64.self),
            startChain: ChainHash(loadingFrom: page + 40))
    }
}

@inline(__always)
func memcmpBytes(_ lhs: UnsafeRawPointer, _ rhs: UnsafeRawPointer, _ count: Int) -> Bool {
    for index in 0..<count
    where lhs.load(fromByteOffset: index, as: UInt8.self) != rhs.load(fromByteOffset: index, as: UInt8.self) {
        return false
    }
    return true
}

/// Segment and checkpoint headers share their first fields' rules: a CRC-32C of bytes 0..<124
/// stored at 124, and the format version at 8. `kind` names the header in errors.
func checkHeaderChecksumAndVersion(_ page: UnsafeRawPointer, kind: String, path: String) throws(StorageError) {
    let stored = page.loadLE(at: 124, as: UInt32.self)
    let computed = CRC32C.checksum(page, count: 124)
    guard stored == computed else {
        throw StorageError(
            .corrupted,
            "\(kind) header checksum mismatch (stored 0x\(RecordCodec.hex32(stored)), computed "
                + "0x\(RecordCodec.hex32(computed)))",
            path: path, offset: 124)
    }
    let version = page.loadLE(at: 8, as: UInt16.self)
    guard version == Format.formatVersion else {
        throw StorageError(
            .unsupportedVersion, "\(kind) format version \(version); this build reads \(Format.formatVersion)",
            path: path, offset: 8)
    }
}
