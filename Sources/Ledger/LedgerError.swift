import LedgerCore
import LedgerStorage

/// Why a submission or an open failed. Per-event outcomes are result codes, not errors: an error
/// means the whole submission was not applied. The shape of every error of Khata (as
/// `StorageError`): a stable code, extensible without breaking callers, what and why in words, and
/// the details that belong to some codes.
public struct LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// The submission queue is full: try again later (HTTP 503).
        public static let overloaded = Code(name: "overloaded")
        /// A submission must hold 1...`maximumBatchEvents` events.
        public static let batchSize = Code(name: "batchSize")
        /// An event cannot be stored as it is (its text is too long or holds NUL); nothing applied.
        public static let invalidEvent = Code(name: "invalidEvent")
        /// The log could not be written or read; the ledger stopped and must be reopened.
        public static let storage = Code(name: "storage")
        /// The log holds a record that is not a valid ledger event.
        public static let corruptLog = Code(name: "corruptLog")
        /// The ledger is closed or closing.
        public static let closed = Code(name: "closed")
        /// The configuration cannot work; the message says which setting and why.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// A record read back from the log failed its checksum: where, and what is wrong. Nothing
        /// was read from it or decided on it; new postings stay safe. Repair is from an archive.
        public static let damagedRecord = Code(name: "damagedRecord")
    }

    public var code: Code
    /// What went wrong, in words.
    public var message: String
    /// The storage failure behind `.storage`.
    public var storage: StorageError?
    /// Where the damaged record is, for `.damagedRecord`.
    public var damage: LogDamage?
    /// The log sequence concerned (`.corruptLog`).
    public var sequence: UInt64?
    /// The event concerned (`.invalidEvent`) and why it cannot be stored.
    public var eventIndex: Int?
    public var resultCode: ResultCode?

    public init(
        _ code: Code, _ message: String, storage: StorageError? = nil, damage: LogDamage? = nil,
        sequence: UInt64? = nil, eventIndex: Int? = nil, resultCode: ResultCode? = nil
    ) {
        self.code = code
        self.message = message
        self.storage = storage
        self.damage = damage
        self.sequence = sequence
        self.eventIndex = eventIndex
        self.resultCode = resultCode
    }

    public var description: String { message }

    public static var overloaded: LedgerError {
        LedgerError(.overloaded, "the ledger is overloaded: its submission queue is full")
    }

    public static func batchSize(count: Int, maximum: Int) -> LedgerError {
        LedgerError(.batchSize, "a submission holds 1...\(maximum) events, got \(count)")
    }

    public static func invalidEvent(index: Int, code: ResultCode) -> LedgerError {
        LedgerError(.invalidEvent, "event \(index) cannot be stored: \(code)", eventIndex: index, resultCode: code)
    }

    public static func storage(_ error: StorageError) -> LedgerError {
        LedgerError(.storage, "ledger storage failed: \(error)", storage: error)
    }

    public static func corruptLog(sequence: UInt64, reason: String) -> LedgerError {
        LedgerError(.corruptLog, "log record \(sequence) is not a ledger event: \(reason)", sequence: sequence)
    }

    public static var closed: LedgerError { LedgerError(.closed, "the ledger is closed") }

    public static func invalidConfiguration(_ reason: String) -> LedgerError {
        LedgerError(.invalidConfiguration, "invalid ledger configuration: \(reason)")
    }

    public static func damagedRecord(_ damage: LogDamage) -> LedgerError {
        LedgerError(.damagedRecord, "a log record is damaged: \(damage)", damage: damage)
    }
}
