import JobStore
import Ledger
import LedgerCore

/// Something that happened to a reservation, read from the committed log: what its customer is
/// told about. Each happens once per reservation (a refund once per refund transfer), however
/// often its request was retried, and its `key` says which: a read answers each key once, but an
/// expiry is named by every expiry record of its hold, so a later read may name it again.
public struct BookingEvent: Sendable, Equatable {
    public var kind: NotificationEvent
    /// The log sequence of the record that made it happen.
    public var sequence: UInt64
    /// The log sequence of the transfer it is about: the hold (created, expired), the capture
    /// (confirmed), the release (cancelled), the refund. With `kind`, the event's identity.
    public var subjectSequence: UInt64
    /// The reservation's hold.
    public var holdId: UInt128
    /// The amount concerned, in minor units: held, captured, released or refunded.
    public var amountMinor: UInt64
    /// The currency's code (`BDT`).
    public var currency: String
    /// When it happened (sequencer time; the window's end for an expiry), nanoseconds since the
    /// Unix epoch.
    public var occurredAtNanoseconds: UInt64
    /// When the reservation's payment window closes(d), nanoseconds since the Unix epoch.
    public var windowEndsAtNanoseconds: UInt64

    /// `<subject sequence>:<event>`: the same for every record that made it happen (a retried
    /// request is logged again but creates nothing new).
    public var key: String { "\(subjectSequence):\(kind.rawValue)" }

    public init(
        kind: NotificationEvent, sequence: UInt64, subjectSequence: UInt64, holdId: UInt128, amountMinor: UInt64,
        currency: String, occurredAtNanoseconds: UInt64, windowEndsAtNanoseconds: UInt64
    ) {
        self.kind = kind
        self.sequence = sequence
        self.subjectSequence = subjectSequence
        self.holdId = holdId
        self.amountMinor = amountMinor
        self.currency = currency
        self.occurredAtNanoseconds = occurredAtNanoseconds
        self.windowEndsAtNanoseconds = windowEndsAtNanoseconds
    }
}

/// A stretch of the log read for booking events: the events, the last sequence read (the next
/// read's `after`) and the last readable sequence when it was read (where the log ends).
public struct BookingEventPage: Sendable, Equatable {
    public var events: [BookingEvent]
    public var through: UInt64
    public var logEnd: UInt64

    public init(events: [BookingEvent], through: UInt64, logEnd: UInt64) {
        self.events = events
        self.through = through
        self.logEnd = logEnd
    }
}

/// Reads booking events from the committed log. The log holds requests, some of which were
/// refused or were retries; what each did is read from the committed state: a transfer request
/// made its transfer only when the transfer's own sequence is the record's, and an expiry
/// happened when the hold stands expired (any of its expiry records names it, and the event's
/// identity is the hold's, so it counts once).
public enum BookingEvents {
    /// The booking events among the committed records after `after`, reading at most `limit`
    /// records; see `Ledger.committedEvents`.
    public static func read(from ledger: Ledger, after: UInt64, limit: Int) throws(LedgerError) -> BookingEventPage {
        let logEnd = ledger.visibleSequence
        let (logged, through) = try ledger.committedEvents(after: after, limit: limit)
        var events: [BookingEvent] = []
        var expired: Set<UInt128> = []
        // An account's currency, once per read: the lookup builds the account whole.
        // Most holds debit one of a few accounts (a provider's clearing account), so the last
        // one asked about is kept apart from the table, whose hashing costs more than a compare.
        var currencies: [UInt128: String] = [:]
        var lastAccount: (id: UInt128, code: String)?
        func currency(_ account: UInt128) -> String {
            if let lastAccount, lastAccount.id == account { return lastAccount.code }
            let code: String
            if let known = currencies[account] {
                code = known
            } else {
                // Safe fallback: a committed transfer's accounts exist; the code is for the message only.
                code = ledger.account(id: account)?.currency.code ?? "BDT"
                currencies[account] = code
            }
            lastAccount = (account, code)
            return code
        }
        // The holds this read has met (made in it or looked up for a capture or release): a
        // hold's capture usually follows it closely, and its facts are then in hand.
        var holds: [UInt128: HoldFacts] = [:]
        holds.reserveCapacity(logged.count)
        func hold(_ id: UInt128) throws(LedgerError) -> HoldFacts? {
            if let known = holds[id] { return known }
            guard let found = try ledger.transfer(id: id), found.fields.flags.contains(.pending) else { return nil }
            let facts = HoldFacts(
                amountMinor: found.fields.amountMinor, debitAccountId: found.fields.debitAccountId,
                expiresAtNanoseconds: found.expiresAt, code: found.fields.code)
            holds[id] = facts
            return facts
        }
        for record in logged {
            switch record.event {
            case .createTransfer(let request):
                // The request made its transfer only when the transfer's sequence is the record's.
                guard let stamp = ledger.transferStamp(id: request.id), stamp.sequence == record.sequence else {
                    continue
                }
                let flags = request.flags
                if flags.contains(.refund) {
                    guard let made = try ledger.transfer(id: request.id),
                        let event = try refund(made, sequence: record.sequence, ledger: ledger, currency: currency)
                    else { continue }
                    events.append(event)
                    continue
                }
                guard request.code == BusinessCode.bookingPayment else { continue }
                if flags.contains(.pending) {
                    let facts = HoldFacts(
                        amountMinor: request.amountMinor, debitAccountId: request.debitAccountId,
                        expiresAtNanoseconds: stamp.timestampNanoseconds
                            &+ UInt64(request.timeoutSeconds) &* 1_000_000_000,
                        code: request.code)
                    holds[request.id] = facts
                    events.append(
                        BookingEvent(
                            kind: .reservationCreated, sequence: record.sequence, subjectSequence: record.sequence,
                            holdId: request.id, amountMinor: request.amountMinor,
                            currency: currency(facts.debitAccountId),
                            occurredAtNanoseconds: stamp.timestampNanoseconds,
                            windowEndsAtNanoseconds: facts.expiresAtNanoseconds))
                } else if flags.contains(.postPending) || flags.contains(.voidPending) {
                    guard let facts = try hold(request.pendingId) else { continue }
                    // A release, or a capture of the whole, moves the hold's amount.
                    let whole = flags.contains(.voidPending) || request.amountMinor == 0
                    events.append(
                        BookingEvent(
                            kind: flags.contains(.postPending) ? .paymentConfirmed : .cancelled,
                            sequence: record.sequence, subjectSequence: record.sequence, holdId: request.pendingId,
                            amountMinor: whole ? facts.amountMinor : request.amountMinor,
                            currency: currency(facts.debitAccountId),
                            occurredAtNanoseconds: stamp.timestampNanoseconds,
                            windowEndsAtNanoseconds: facts.expiresAtNanoseconds))
                }
            case .expirePending(let holdId):
                guard !expired.contains(holdId), let stamp = ledger.transferStamp(id: holdId),
                    stamp.state == .pendingExpired, let facts = try hold(holdId),
                    facts.code == BusinessCode.bookingPayment
                else { continue }
                expired.insert(holdId)
                events.append(
                    BookingEvent(
                        kind: .expired, sequence: record.sequence, subjectSequence: stamp.sequence, holdId: holdId,
                        amountMinor: facts.amountMinor, currency: currency(facts.debitAccountId),
                        occurredAtNanoseconds: facts.expiresAtNanoseconds,
                        windowEndsAtNanoseconds: facts.expiresAtNanoseconds))
            case .createAccount:
                continue
            }
        }
        return BookingEventPage(events: events, through: through, logEnd: max(logEnd, through))
    }

    /// The refund event transfer `made` (created at `sequence`) is, if it refunds a booking's
    /// capture, whatever its own code.
    private static func refund(
        _ made: Transfer, sequence: UInt64, ledger: Ledger, currency: (UInt128) -> String
    ) throws(LedgerError) -> BookingEvent? {
        guard let capture = try ledger.transfer(id: made.fields.pendingId),
            capture.fields.flags.contains(.postPending), capture.fields.code == BusinessCode.bookingPayment,
            let hold = try ledger.transfer(id: capture.fields.pendingId)
        else { return nil }
        return BookingEvent(
            kind: .refunded, sequence: sequence, subjectSequence: sequence, holdId: hold.fields.id,
            amountMinor: made.fields.amountMinor, currency: currency(hold.fields.debitAccountId),
            occurredAtNanoseconds: made.timestamp, windowEndsAtNanoseconds: hold.expiresAt)
    }
}

/// What a booking event needs of its reservation's hold.
private struct HoldFacts {
    var amountMinor: UInt64
    var debitAccountId: UInt128
    var expiresAtNanoseconds: UInt64
    var code: UInt16
}
