import LedgerCore
import LedgerStorage

/// How ledger events are laid out in the 112-byte bodies of log records (little-endian). Each
/// submitted batch is logged as a batch record followed by its events, so that replaying the log
/// applies exactly the same batches at exactly the same sequencer times. See docs/FORMAT.md.
public enum EventCodec {
    /// Opens a batch: the sequencer time it was applied at and how many events follow.
    public static let batchKind = RecordKind(rawValue: 16)
    public static let createAccountKind = RecordKind(rawValue: 17)
    public static let createTransferKind = RecordKind(rawValue: 18)
    public static let expirePendingKind = RecordKind(rawValue: 19)

    /// Writes the batch record: `now` (u64 at 0), event count (u32 at 8), the rest zero.
    public static func encodeBatch(now: UInt64, eventCount: Int, into body: UnsafeMutableRawPointer) {
        precondition(eventCount > 0 && eventCount <= Int(UInt32.max))
        body.initializeMemory(as: UInt8.self, repeating: 0, count: Format.recordBodySizeBytes)
        store(now, body, 0)
        store(UInt32(eventCount), body, 8)
    }

    /// Reads a batch record: the sequencer time and the number of events that follow.
    public static func decodeBatch(_ body: UnsafeRawPointer) throws(EventDecodingError) -> (
        now: UInt64, eventCount: Int
    ) {
        let count = Int(load(UInt32.self, body, 8))
        guard count > 0 else { throw EventDecodingError("batch record announces no events") }
        return (load(UInt64.self, body, 0), count)
    }

    /// The record kind an event is stored as.
    public static func kind(of event: Event) -> RecordKind {
        switch event {
        case .createAccount: return createAccountKind
        case .createTransfer: return createTransferKind
        case .expirePending: return expirePendingKind
        }
    }

    /// Writes all 112 bytes of an event's body. Events must have passed `validateForLog`.
    public static func encode(_ event: Event, into body: UnsafeMutableRawPointer) {
        body.initializeMemory(as: UInt8.self, repeating: 0, count: Format.recordBodySizeBytes)
        switch event {
        case .createAccount(let account):
            // id 0, currency 16, flags 18, code 20, key length 22, key 24..<88.
            store(account.id, body, 0)
            store(account.currency.numericCode, body, 16)
            store(account.flags.rawValue, body, 18)
            store(account.code, body, 20)
            let key = Array(account.key.utf8)
            precondition(key.count <= NewAccount.maximumKeyBytes, "account keys are validated before logging")
            body.storeBytes(of: UInt8(key.count), toByteOffset: 22, as: UInt8.self)
            key.withUnsafeBytes { (body + 24).copyMemory(from: $0.baseAddress!, byteCount: key.count) }
        case .createTransfer(let transfer):
            // id 0, debit 16, credit 32, amount 48, pending id 56, timeout 72, code 76, flags 78,
            // reference 80..<112 (zero-padded; references hold no NUL).
            store(transfer.id, body, 0)
            store(transfer.debitAccountId, body, 16)
            store(transfer.creditAccountId, body, 32)
            store(transfer.amountMinor, body, 48)
            store(transfer.pendingId, body, 56)
            store(transfer.timeoutSeconds, body, 72)
            store(transfer.code, body, 76)
            store(transfer.flags.rawValue, body, 78)
            withUnsafeBytes(of: transfer.reference.bytes) {
                (body + 80).copyMemory(from: $0.baseAddress!, byteCount: 32)
            }
        case .expirePending(let pendingId):
            store(pendingId, body, 0)
        }
    }

    /// Reads an event body of the given kind.
    public static func decode(kind: RecordKind, _ body: UnsafeRawPointer) throws(EventDecodingError) -> Event {
        switch kind {
        case createAccountKind:
            let numeric = load(UInt16.self, body, 16)
            guard let currency = Currency(numericCode: numeric) else {
                throw EventDecodingError("account record names unknown currency \(numeric)")
            }
            let length = Int(body.load(fromByteOffset: 22, as: UInt8.self))
            guard length <= NewAccount.maximumKeyBytes else { throw EventDecodingError("account key length \(length)") }
            let key = String(decoding: UnsafeRawBufferPointer(start: body + 24, count: length), as: UTF8.self)
            return .createAccount(
                NewAccount(
                    id: load(UInt128.self, body, 0), key: key, currency: currency,
                    flags: AccountFlags(rawValue: load(UInt16.self, body, 18)), code: load(UInt16.self, body, 20)))
        case createTransferKind:
            let reference = TransferReference(
                bytes: (
                    body.loadUnaligned(fromByteOffset: 80, as: UInt64.self),
                    body.loadUnaligned(fromByteOffset: 88, as: UInt64.self),
                    body.loadUnaligned(fromByteOffset: 96, as: UInt64.self),
                    body.loadUnaligned(fromByteOffset: 104, as: UInt64.self)
                ))
            return .createTransfer(
                NewTransfer(
                    id: load(UInt128.self, body, 0), debitAccountId: load(UInt128.self, body, 16),
                    creditAccountId: load(UInt128.self, body, 32), amountMinor: load(UInt64.self, body, 48),
                    pendingId: load(UInt128.self, body, 56), timeoutSeconds: load(UInt32.self, body, 72),
                    code: load(UInt16.self, body, 76), reference: reference,
                    flags: TransferFlags(rawValue: load(UInt16.self, body, 78))))
        case expirePendingKind:
            return .expirePending(pendingId: load(UInt128.self, body, 0))
        default:
            throw EventDecodingError("record kind \(kind.rawValue) is not a ledger event")
        }
    }

    /// Whether the event can be logged as it is; the same limits the state machine enforces, so
    /// an event refused here would have been refused by the rules anyway.
    public static func validateForLog(_ event: Event) -> ResultCode? {
        switch event {
        case .createAccount(let account):
            return account.key.utf8.count > NewAccount.maximumKeyBytes ? .accountKeyTooLong : nil
        case .createTransfer, .expirePending:
            return nil
        }
    }

    @inline(__always)
    private static func store<T: FixedWidthInteger>(_ value: T, _ body: UnsafeMutableRawPointer, _ offset: Int) {
        body.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ type: T.Type, _ body: UnsafeRawPointer, _ offset: Int) -> T {
        T(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

/// A log record that is not a valid ledger event; recovery reports it with the record's place.
public struct EventDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
