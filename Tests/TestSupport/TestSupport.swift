import Foundation
import PropertyBased

/// SplitMix64: a small, fast generator seeded so that every test run makes the same choices. It
/// drives the PropertyBased generators, so a failing case is reproduced by its printed seed.
public struct SplitMix: SeededRandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }
    public init() { state = 0x5EED }

    public var currentSeed: UInt64 { state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "khata-test") {
        var bytes = Array((NSTemporaryDirectory() + "\(label)-XXXXXX").utf8CString)
        // Safe: mkdtemp fails only when the temporary directory is unusable, and then no test can run.
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// Bit rot on purpose: flips one bit of a transfer's record in a ledger's segment files, in
/// place (the file keeps its inode, so a process that has it mapped reads the damaged byte).
public enum LogBitRot {
    /// The record kind of a transfer event and the offsets in a 128-byte slot of the record's
    /// kind, its transfer id and its amount (see docs/FORMAT.md).
    static let transferKind: UInt8 = 18
    static let kindOffset = 4
    static let idOffset = 16
    public static let amountOffset = 16 + 48

    /// Flips bit `bit` of the byte `byteInSlot` of the record of transfer `id`; answers the
    /// segment file and the slot's offset in it.
    @discardableResult
    public static func flip(
        transfer id: UInt128, in ledgerDirectory: String, byteInSlot: Int = amountOffset, bit: Int = 3
    ) throws -> (path: String, slotOffset: Int) {
        let names = try FileManager.default.contentsOfDirectory(atPath: ledgerDirectory)
            .filter { $0.hasPrefix("segment-") }.sorted()
        var wanted = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 { wanted[index] = UInt8(truncatingIfNeeded: id >> (8 * index)) }
        for name in names {
            let path = ledgerDirectory + "/" + name
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            var slot = 4_096
            while slot + 128 <= bytes.count {
                if bytes[slot + kindOffset] == transferKind
                    && Array(bytes[(slot + idOffset)..<(slot + idOffset + 16)]) == wanted
                {
                    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                    defer { try? handle.close() }
                    try handle.seek(toOffset: UInt64(slot + byteInSlot))
                    try handle.write(contentsOf: [bytes[slot + byteInSlot] ^ UInt8(1 << bit)])
                    try handle.synchronize()
                    return (path, slot)
                }
                slot += 128
            }
        }
        throw NoSuchRecord(id: id)
    }

    public struct NoSuchRecord: Error { public let id: UInt128 }
}

/// Runs `body`, which blocks (a child process to its end, a ledger's replay), on a thread of its
/// own: the cooperative pool has one thread per core, and a test that blocks them stalls every
/// other test's async work (live HTTP servers time out).
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
