import Bookings
import JSONInput
import LedgerCore

/// What the batch jobs need of the ledger, wherever it runs: in this process (`LocalLedger`, beside
/// the data directory) or on the ledger owner's machine, over its HTTP API (`RemoteLedger`). The
/// ledger itself is the single writer; workers on other machines reach it through this.
public protocol LedgerAccess: Sendable {
    /// The most events one submission takes.
    var maximumBatchEvents: Int { get }
    /// Applies `drafts` in order as one batch (linked chains allowed) and answers a result each,
    /// once durable. Accounts are named by key; amounts are read in the currency they are posted in.
    func submit(_ drafts: [TransferDraft]) async throws(LedgerAccessError) -> [EventResult]
    /// The account with this key and its balances as of the last durable batch, or nil.
    func account(key: String) async throws(LedgerAccessError) -> Account?
    /// Up to `limit` holds still pending whose payment window has closed at `now` (nanoseconds
    /// since the Unix epoch), earliest deadline first.
    func dueHolds(at now: UInt64, limit: Int) async throws(LedgerAccessError) -> [UInt128]
    /// Expires the holds as one batch (each reads `EXPIRED`, never `CANCELLED`), a result each.
    func expire(_ holdIds: [UInt128]) async throws(LedgerAccessError) -> [EventResult]
    /// The reservation a payment reference names, as it stands, or nil: what a provider's
    /// settlement line is matched with.
    func reservation(paymentReference: String) async throws(LedgerAccessError) -> ReservationSummary?
    /// The ledger's side of the payments of these bookings (at most `maximumPaymentLookups`),
    /// one answer each in order, nil for a booking without a hold; refunds are listed for the
    /// bookings of `refundsFor` only. A pending hold whose window has closed at `now`
    /// (nanoseconds since the Unix epoch) reads as expired.
    func payments(bookingIds: [String], refundsFor: Set<String>, at now: UInt64) async throws(LedgerAccessError)
        -> [PaymentLedgerState?]
    /// Creates the account with this key in `currency` (its id derived from the key) unless it
    /// exists; answers it. An account with the key in another currency is refused.
    func openAccount(key: String, currency: Currency) async throws(LedgerAccessError) -> Account
    /// What happened to reservations in the committed log after sequence `after`, reading at most
    /// `limit` records (see `BookingEvents`); the answer's `through` is the next call's `after`.
    func bookingEvents(after: UInt64, limit: Int) async throws(LedgerAccessError) -> BookingEventPage
    /// The last sequence of the committed log whose effects are readable: where a reader that
    /// starts at the end of the history starts.
    func logEnd() async throws(LedgerAccessError) -> UInt64
}

extension LedgerAccess {
    /// The most bookings one `payments(bookingIds:at:)` call takes.
    public var maximumPaymentLookups: Int { 1_000 }
}

/// A reservation as the jobs see it: enough to match a settlement line and to judge it.
public struct ReservationSummary: Sendable, Equatable {
    public var holdId: UInt128
    public var bookingId: String
    public var paymentReference: String
    public var provider: String
    public var currency: Currency
    public var amountMinor: UInt64
    public var state: ReservationState
    /// The provider's transaction that confirmed it, if one did.
    public var providerTransactionId: String?

    public init(
        holdId: UInt128, bookingId: String, paymentReference: String, provider: String, currency: Currency,
        amountMinor: UInt64, state: ReservationState, providerTransactionId: String?
    ) {
        self.holdId = holdId
        self.bookingId = bookingId
        self.paymentReference = paymentReference
        self.provider = provider
        self.currency = currency
        self.amountMinor = amountMinor
        self.state = state
        self.providerTransactionId = providerTransactionId
    }
}

/// Why the ledger could not be reached or would not take a request. The same shape as every
/// error of Khata: a stable, extensible code and what, where and why in words.
public struct LedgerAccessError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// The ledger owner could not be reached (connection, TLS, timeout): retry later.
        public static let unreachable = Code(name: "unreachable")
        /// The ledger refused the request as a whole (a problem answer, or a local ledger error);
        /// `problemType` names it for a remote ledger.
        public static let refused = Code(name: "refused")
        /// The ledger is overloaded or unavailable for now: retry with the same ids.
        public static let unavailable = Code(name: "unavailable")
        /// The answer was not what the API documents.
        public static let invalidAnswer = Code(name: "invalid-answer")
        /// The configuration cannot work (a plain http URL to another machine, no API key, ...).
        public static let invalidConfiguration = Code(name: "invalid-configuration")
    }

    public var code: Code
    public var message: String
    /// The problem type of a remote ledger's refusal (`/problems/account-not-found`).
    public var problemType: String?

    public init(_ code: Code, _ message: String, problemType: String? = nil) {
        self.code = code
        self.message = message
        self.problemType = problemType
    }

    public var description: String { message }
}
