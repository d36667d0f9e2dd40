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

/// Settings of the ledger engine, with units in their names.
public struct LedgerConfiguration: Sendable {
    /// The segment store beneath.
    public var storage = StoreConfiguration()
    /// Submissions waiting for the sequencer; beyond this, `submit` fails with `.overloaded`.
    public var queueCapacity = 4096
    /// The most events in one submission (a batch record plus its events fit one commit group).
    public var maximumBatchEvents = 8190
    /// Log records between checkpoints of the state (and one at close): recovery replays at most
    /// about this many records. Each checkpoint pauses the sequencer while it is written.
    public var checkpointIntervalRecords = 4_000_000
    /// Capacity hints: the state's and the readers' tables are sized for these up front, so that
    /// they do not grow (and stall the sequencer while they copy) in operation.
    public var expectedAccounts = 100_000
    public var expectedTransfers = 1_000_000

    public init() {}
}

/// One commit group made durable: its log records, and the submissions and events it carried.
public struct CommittedGroup: Sendable {
    public let records: Int
    public let submissions: Int
    public let events: Int
}
