import CKhataSupport
import LedgerCore

/// The engine's publication policy for the state's tables: stores release and loads acquire, so a
/// reader thread that finds an index slot or a history link also sees the record it names.
enum ReleaseAcquire: MemoryPublication {
    @inline(__always)
    static func publish(_ value: UInt64, at address: UnsafeMutablePointer<UInt64>) {
        khata_store_release_u64(address, value)
    }

    @inline(__always)
    static func publish(_ value: UInt32, at address: UnsafeMutablePointer<UInt32>) {
        khata_store_release_u32(address, value)
    }

    @inline(__always)
    static func publish(_ value: UnsafeMutableRawPointer, at address: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        khata_store_release_pointer(address, value)
    }

    @inline(__always)
    static func observe(_ address: UnsafeMutablePointer<UInt64>) -> UInt64 { khata_load_acquire_u64(address) }

    @inline(__always)
    static func observe(_ address: UnsafeMutablePointer<UInt32>) -> UInt32 { khata_load_acquire_u32(address) }

    @inline(__always)
    static func observe(_ address: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> UnsafeMutableRawPointer? {
        khata_load_acquire_pointer(address)
    }
}

/// The state as the engine runs it: its tables shared with reader threads.
typealias EngineState = LedgerState<ReleaseAcquire>
