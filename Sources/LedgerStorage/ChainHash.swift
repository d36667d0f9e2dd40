import COpenSSL

/// A 32-byte SHA-256 value of the hash chain that links commit groups.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    /// The bytes, as stored on disk.
    public var bytes: (UInt64, UInt64, UInt64, UInt64)

    /// The chain value before the first group: 32 zero bytes.
    public static let genesis = ChainHash(bytes: (0, 0, 0, 0))

    public init(bytes: (UInt64, UInt64, UInt64, UInt64)) { self.bytes = bytes }

    /// Reads 32 bytes at `pointer`.
    init(loadingFrom pointer: UnsafeRawPointer) {
        bytes = (
            pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// Writes the 32 bytes to `pointer`.
    func store(to pointer: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: bytes) { pointer.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    public static func == (lhs: ChainHash, rhs: ChainHash) -> Bool {
        lhs.bytes.0 == rhs.bytes.0 && lhs.bytes.1 == rhs.bytes.1 && lhs.bytes.2 == rhs.bytes.2
            && lhs.bytes.3 == rhs.bytes.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
        hasher.combine(bytes.3)
    }

    /// Lower-case hexadecimal, as `sha256sum` prints.
    public var hex: String {
        withUnsafeBytes(of: bytes) { raw in
            raw.map { byte in
                let digits = Array("0123456789abcdef")
                return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
            }.joined()
        }
    }

    public var description: String { hex }

    /// Parses 64 hexadecimal digits.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let high = Self.nibble(digits[2 * index]), let low = Self.nibble(digits[2 * index + 1]) else {
                return nil
            }
            raw[index] = high << 4 | low
        }
        self = raw.withUnsafeBytes { ChainHash(loadingFrom: $0.baseAddress!) }
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Incremental SHA-256 through OpenSSL's EVP interface (which uses the CPU's SHA extensions).
/// Not thread-safe: one hasher per thread.
final class SHA256Hasher {
    private let context: OpaquePointer

    init() {
        // Safe: EVP_MD_CTX_new only fails when memory is exhausted, where the process cannot go on.
        guard let context = EVP_MD_CTX_new() else { fatalError("OpenSSL could not allocate a digest context") }
        self.context = context
        reset()
    }

    /// SHA-256 fetched from OpenSSL's provider once: `EVP_sha256()` makes every init look the
    /// algorithm up again under a lock, which showed in profiles of archive verification.
    // Safe (nonisolated(unsafe)): set once at first use and only read after; OpenSSL's fetched
    // algorithm objects are safe to share between threads.
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    func reset() {
        let status = EVP_DigestInit_ex(context, Self.algorithm ?? EVP_sha256(), nil)
        precondition(status == 1, "EVP_DigestInit_ex(sha256) failed")
    }

    func update(_ pointer: UnsafeRawPointer, count: Int) {
        let status = EVP_DigestUpdate(context, pointer, count)
        precondition(status == 1, "EVP_DigestUpdate failed")
    }

    func update(_ hash: ChainHash) {
        withUnsafeBytes(of: hash.bytes) { update($0.baseAddress!, count: 32) }
    }

    /// Finishes the digest and resets the hasher for reuse.
    func finish() -> ChainHash {
        var output = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        withUnsafeMutableBytes(of: &output) { raw in
            let status = EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
            precondition(status == 1 && length == 32, "EVP_DigestFinal_ex failed")
        }
        reset()
        return ChainHash(bytes: output)
    }

    /// SHA-256 of `count` records: the digest of one chunk of a group.
    func chunkDigest(records: UnsafeRawPointer, count: Int) -> ChainHash {
        update(records, count: count * Format.recordSizeBytes)
        return finish()
    }

    /// The next chain value: SHA-256 of the previous chain value, the group's first sequence
    /// (8 bytes LE), its record count (4 bytes LE) and the digests of its chunks in order.
    func chain(after previous: ChainHash, firstSequence: UInt64, count: Int, chunkDigests: UnsafePointer<ChainHash>)
        -> ChainHash
    {
        update(previous)
        var header = (firstSequence.littleEndian, UInt32(count).littleEndian)
        withUnsafeBytes(of: &header) { update($0.baseAddress!, count: 12) }
        for index in 0..<Format.chunkCount(records: count) {
            update(chunkDigests[index])
        }
        return finish()
    }

    /// The next chain value for a group whose records are contiguous at `records`, hashing its
    /// chunks one after another (recovery and checks; the writer hashes chunks in parallel).
    func chain(after previous: ChainHash, firstSequence: UInt64, records: UnsafeRawPointer, count: Int) -> ChainHash {
        let chunks = Format.chunkCount(records: count)
        return withUnsafeTemporaryAllocation(of: ChainHash.self, capacity: chunks) { digests in
            for index in 0..<chunks {
                let start = index * Format.chainChunkRecords
                let length = min(Format.chainChunkRecords, count - start)
                digests[index] = chunkDigest(records: records + start * Format.recordSizeBytes, count: length)
            }
            return chain(
                after: previous, firstSequence: firstSequence, count: count,
                chunkDigests: UnsafePointer(digests.baseAddress!))
        }
    }

    deinit { EVP_MD_CTX_free(context) }
}
