/// The constants of the on-disk format. `docs/FORMAT.md` describes every byte; a change here is a
/// format change and must bump `formatVersion` and the golden files.
public enum Format {
    /// The version written into every segment and checkpoint header.
    public static let formatVersion: UInt16 = 1
    /// Every record, data or commit, has this size.
    public static let recordSizeBytes = 128
    /// Bytes of a record that belong to the layer above (the body).
    public static let recordBodySizeBytes = 112
    /// Offset of the body inside a record.
    public static let recordBodyOffset = 16
    /// The segment header occupies one page so that records start page-aligned.
    public static let segmentHeaderSizeBytes = 4096
    /// Bytes of the segment header that hold fields; the rest of the page is zero.
    public static let segmentHeaderFieldsSizeBytes = 128
    /// The default size of a segment file.
    public static let defaultSegmentSizeBytes = 64 * 1024 * 1024
    /// The smallest segment size accepted (one header page plus one page of records).
    public static let minimumSegmentSizeBytes = 2 * 4096
    /// The most data records one commit group may hold.
    public static let maximumGroupRecords = 65_536
    /// Records per chunk of a group's hash: chunks are hashed in parallel, then the chain hash
    /// covers their digests (see `ChainHash`).
    public static let chainChunkRecords = 1024
    /// Size of a chain hash (SHA-256).
    public static let chainHashSizeBytes = 32
    /// Checkpoint header size; the payload follows it.
    public static let checkpointHeaderSizeBytes = 128

    /// Chunks in a group of `records` data records.
    static func chunkCount(records: Int) -> Int {
        (records + chainChunkRecords - 1) / chainChunkRecords
    }

    static let segmentMagic: [UInt8] = Array("KHATASEG".utf8)
    static let checkpointMagic: [UInt8] = Array("KHATACKP".utf8)

    static let segmentPrefix = "segment-"
    static let segmentSuffix = ".khata"
    static let checkpointPrefix = "checkpoint-"
    static let checkpointSuffix = ".khata"

    /// The file name of the segment whose first record has `firstSequence`, zero-padded so that
    /// `ls` lists segments in log order.
    public static func segmentFileName(firstSequence: UInt64) -> String {
        segmentPrefix + padded(firstSequence) + segmentSuffix
    }

    static func checkpointFileName(sequence: UInt64) -> String {
        checkpointPrefix + padded(sequence) + checkpointSuffix
    }

    static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// Parses the sequence number out of a file name with the given prefix and suffix.
    static func sequence(inFileName name: String, prefix: String, suffix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }
}

/// What a record is. 0 is never valid, so zeroed space cannot pass as a record; 1–15 belong to the
/// storage layer; 16–255 are data kinds owned by the layer above, opaque to storage.
public struct RecordKind: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Closes a commit group and carries the chain hash.
    public static let commit = RecordKind(rawValue: 1)
    /// The first kind available to the layer above.
    public static let firstDataKind: UInt8 = 16

    /// Whether the layer above may write records of this kind.
    public var isData: Bool { rawValue >= Self.firstDataKind }
}

/// Little-endian loads and stores at byte offsets of raw memory. The format is little-endian on
/// every platform; these helpers keep that explicit.
extension UnsafeRawPointer {
    @inline(__always) func loadLE<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    @inline(__always) func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
