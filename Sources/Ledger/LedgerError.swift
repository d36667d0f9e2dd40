import LedgerCore
import LedgerStorage

/// Why a submission or an open failed. Per-event outcomes are result codes, not errors: an error
/// means the whole submission was not applied.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The submission queue is full: try again later (HTTP 503).
    case overloaded
    /// A submission must hold 1...`maximumBatchEvents` events.
    case batchSize(count: Int, maximum: Int)
    /// An event cannot be stored as it is (its text is too long or holds NUL); nothing applied.
    case invalidEvent(index: Int, code: ResultCode)
    /// The log could not be written or read; the ledger stopped and must be reopened.
    case storage(StorageError)
    /// The log holds a record that is not a valid ledger event.
    case corruptLog(sequence: UInt64, reason: String)
    /// The ledger is closed or closing.
    case closed
    /// The configuration cannot work; the text says which setting and why.
    case invalidConfiguration(String)
    /// A record read back from the log failed its checksum: where, and what is wrong. Nothing
    /// was read from it or decided on it; new postings stay safe. Repair is from an archive.
    case damagedRecord(LogDamage)

    public var description: String {
        switch self {
        case .overloaded: return "the ledger is overloaded: its submission queue is full"
        case .batchSize(let count, let maximum): return "a submission holds 1...\(maximum) events, got \(count)"
        case .invalidEvent(let index, let code): return "event \(index) cannot be stored: \(code)"
        case .storage(let error): return "ledger storage failed: \(error)"
        case .corruptLog(let sequence, let reason): return "log record \(sequence) is not a ledger event: \(reason)"
        case .closed: return "the ledger is closed"
        case .invalidConfiguration(let reason): return "invalid ledger configuration: \(reason)"
        case .damagedRecord(let damage): return "a log record is damaged: \(damage)"
        }
    }
}
