import CKhataSupport

/// One record with its body copied out: the convenient form for tests, tools and replay.
public struct Record: Equatable, Sendable {
    /// The record's kind (a data kind for records of the layer above).
    public var kind: RecordKind
    /// The record's position in the log.
    public var sequence: UInt64
    /// Exactly `Format.recordBodySizeBytes` bytes.
    public var body: [UInt8]

    public init(kind: RecordKind, sequence: UInt64, body: [UInt8]) {
        precondition(body.count == Format.recordBodySizeBytes, "a record body is \(Format.recordBodySizeBytes) bytes")
        self.kind = kind
        self.sequence = sequence
        self.body = body
    }
}

/// What a 128-byte slot holds, as far as the record itself can tell.
enum SlotState: Equatable {
    /// All 128 bytes are zero: space never written.
    case empty
    /// The checksum matches and the header fields are well formed.
    case valid(kind: RecordKind, sequence: UInt64)
    /// The stored checksum does not match the bytes.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// The checksum matches, but a field is impossible (kind 0, non-zero reserved bytes).
    case malformed(String)
}

/// Encodes and decodes the fixed 128-byte record:
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 4 | CRC-32C of bytes 4..<128 |
/// | 4 | 1 | kind (0 invalid) |
/// | 5 | 3 | reserved, zero |
/// | 8 | 8 | sequence number |
/// | 16 | 112 | body |
public enum RecordCodec {
    /// Writes a complete record into the 128 bytes at `slot`, checksum included.
    @inline(__always)
    public static func encode(
        kind: RecordKind, sequence: UInt64, body: UnsafeRawPointer, into slot: UnsafeMutableRawPointer
    ) {
        (slot + Format.recordBodyOffset).copyMemory(from: body, byteCount: Format.recordBodySizeBytes)
        seal(slot, kind: kind, sequence: sequence)
    }

    /// Fills in kind, sequence and checksum of a slot whose body is already in place.
    @inline(__always)
    static func seal(_ slot: UnsafeMutableRawPointer, kind: RecordKind, sequence: UInt64) {
        precondition(kind.rawValue != 0, "record kind 0 is never valid")
        slot.storeLE(UInt32(kind.rawValue), at: 4)  // kind plus three reserved zero bytes
        slot.storeLE(sequence, at: 8)
        slot.storeLE(CRC32C.checksum(UnsafeRawPointer(slot) + 4, count: Format.recordSizeBytes - 4), at: 0)
    }

    /// Numbers and checksums `count` consecutive slots whose kind byte and body are in place.
    static func seal(records base: UnsafeMutableRawPointer, count: Int, firstSequence: UInt64) {
        for index in 0..<count {
            let slot = base + index * Format.recordSizeBytes
            let kind = slot.load(fromByteOffset: 4, as: UInt8.self)
            precondition(kind != 0, "record kind 0 is never valid")
            slot.storeLE(UInt32(kind), at: 4)
            slot.storeLE(firstSequence + UInt64(index), at: 8)
        }
        khata_crc32c_seal_records(base, count, Format.recordSizeBytes)
    }

    /// Encodes a record into a new array of 128 bytes.
    public static func encode(_ record: Record) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Format.recordSizeBytes)
        bytes.withUnsafeMutableBytes { slot in
            record.body.withUnsafeBytes { body in
                encode(kind: record.kind, sequence: record.sequence, body: body.baseAddress!, into: slot.baseAddress!)
            }
        }
        return bytes
    }

    /// Decodes 128 bytes; `nil` when the slot is empty, an error description when it is damaged.
    public static func decode(_ bytes: [UInt8]) -> Result<Record?, RecordDamage> {
        precondition(bytes.count == Format.recordSizeBytes, "a record is \(Format.recordSizeBytes) bytes")
        return bytes.withUnsafeBytes { raw in
            switch inspect(raw.baseAddress!) {
            case .empty: return .success(nil)
            case .valid(let kind, let sequence):
                let body = Array(raw[Format.recordBodyOffset..<Format.recordSizeBytes])
                return .success(Record(kind: kind, sequence: sequence, body: body))
            case .checksumMismatch(let stored, let computed):
                return .failure(RecordDamage(reason: checksumText(stored: stored, computed: computed)))
            case .malformed(let reason): return .failure(RecordDamage(reason: reason))
            }
        }
    }

    /// Classifies the slot at `slot`.
    @inline(__always)
    static func inspect(_ slot: UnsafeRawPointer) -> SlotState {
        let stored = slot.loadLE(at: 0, as: UInt32.self)
        let computed = CRC32C.checksum(slot + 4, count: Format.recordSizeBytes - 4)
        if stored != computed {
            if stored == 0 && isZero(slot, count: Format.recordSizeBytes) { return .empty }
            return .checksumMismatch(stored: stored, computed: computed)
        }
        let kindAndReserved = slot.loadLE(at: 4, as: UInt32.self)
        if kindAndReserved & 0xFF == 0 { return .malformed("record kind 0 is never valid") }
        if kindAndReserved >> 8 != 0 { return .malformed("reserved bytes 5..<8 are not zero") }
        return .valid(
            kind: RecordKind(rawValue: UInt8(kindAndReserved & 0xFF)), sequence: slot.loadLE(at: 8, as: UInt64.self))
    }

    static func checksumText(stored: UInt32, computed: UInt32) -> String {
        "record checksum mismatch (stored 0x\(hex32(stored)), computed 0x\(hex32(computed)))"
    }

    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Whether `count` bytes at `pointer` are all zero.
    static func isZero(_ pointer: UnsafeRawPointer, count: Int) -> Bool {
        var offset = 0
        while offset + 8 <= count {
            if pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != 0 { return false }
            offset += 8
        }
        while offset < count {
            if pointer.load(fromByteOffset: offset, as: UInt8.self) != 0 { return false }
            offset += 1
        }
        return true
    }
}

/// Why a record could not be decoded.
public struct RecordDamage: Error, Equatable, Sendable {
    public var reason: String
}

/// The body of a commit record, which closes a group:
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 16 | 8 | sequence of the group's first data record |
/// | 24 | 4 | number of data records in the group |
/// | 28 | 4 | reserved, zero |
/// | 32 | 32 | chain hash after the group |
/// | 64 | 64 | reserved, zero |
///
/// The commit record's own sequence field holds the group's last data sequence.
struct CommitBody: Equatable {
    var firstSequence: UInt64
    var recordCount: UInt32
    var chain: ChainHash

    func encode(into slot: UnsafeMutableRawPointer, lastSequence: UInt64) {
        let body = slot + Format.recordBodyOffset
        body.initializeMemory(as: UInt8.self, repeating: 0, count: Format.recordBodySizeBytes)
        slot.storeLE(firstSequence, at: 16)
        slot.storeLE(recordCount, at: 24)
        chain.store(to: slot + 32)
        RecordCodec.seal(slot, kind: .commit, sequence: lastSequence)
    }

    init(firstSequence: UInt64, recordCount: UInt32, chain: ChainHash) {
        self.firstSequence = firstSequence
        self.recordCount = recordCount
        self.chain = chain
    }

    /// Reads the body of a slot already known to be a valid commit record.
    init(decoding slot: UnsafeRawPointer) {
        firstSequence = slot.loadLE(at: 16, as: UInt64.self)
        recordCount = slot.loadLE(at: 24, as: UInt32.self)
        chain = ChainHash(loadingFrom: slot + 32)
    }

    static func reservedAreZero(_ slot: UnsafeRawPointer) -> Bool {
        slot.loadLE(at: 28, as: UInt32.self) == 0 && RecordCodec.isZero(slot + 64, count: 64)
    }
}
