/// How the state's tables write the words that other threads may read while the state changes
/// (index slots, history links, the index's current table) and how such readers load them.
///
/// `LedgerCore` is single-threaded and knows no atomics: the engine that shares the state with
/// reader threads hands in a policy whose stores release and whose loads acquire (`Ledger`'s
/// `ReleaseAcquire`); a state nobody else reads uses `Unshared`. The policy is a generic
/// parameter, so each use is specialized at compile time and the hot path pays no call for it.
public protocol MemoryPublication {
    /// Stores `value` so that a reader that loads it also sees everything written before.
    static func publish(_ value: UInt64, at address: UnsafeMutablePointer<UInt64>)
    static func publish(_ value: UInt32, at address: UnsafeMutablePointer<UInt32>)
    static func publish(_ value: UnsafeMutableRawPointer, at address: UnsafeMutablePointer<UnsafeMutableRawPointer?>)
    /// Loads a value `publish` stored, with everything written before it.
    static func observe(_ address: UnsafeMutablePointer<UInt64>) -> UInt64
    static func observe(_ address: UnsafeMutablePointer<UInt32>) -> UInt32
    static func observe(_ address: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> UnsafeMutableRawPointer?
}

/// The policy of a state that no other thread reads (tests, tools, the reference model): plain
/// loads and stores.
public enum Unshared: MemoryPublication {
    @inline(__always)
    public static func publish(_ value: UInt64, at address: UnsafeMutablePointer<UInt64>) { address.pointee = value }

    @inline(__always)
    public static func publish(_ value: UInt32, at address: UnsafeMutablePointer<UInt32>) { address.pointee = value }

    @inline(__always)
    public static func publish(
        _ value: UnsafeMutableRawPointer, at address: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) { address.pointee = value }

    @inline(__always)
    public static func observe(_ address: UnsafeMutablePointer<UInt64>) -> UInt64 { address.pointee }

    @inline(__always)
    public static func observe(_ address: UnsafeMutablePointer<UInt32>) -> UInt32 { address.pointee }

    @inline(__always)
    public static func observe(_ address: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> UnsafeMutableRawPointer? {
        address.pointee
    }
}
