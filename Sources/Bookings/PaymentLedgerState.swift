import Ledger
import LedgerCore

/// What the ledger holds of one reservation's payment: the hold's state, the capture, and the
/// refunds of it. What reconciliation matches a provider's settlement lines against.
public struct PaymentLedgerState: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Held, its payment window still open.
        case pending
        case captured
        /// Released by a cancellation, or by the close of the payment window (even before the
        /// expiry job voids it: the ledger refuses to capture it).
        case cancelled, expired
    }

    public var bookingId: String
    public var holdId: UInt128
    public var state: State
    /// The amount held, in the reservation currency's minor units.
    public var amountMinor: UInt64
    /// The capture's transfer and when the ledger committed it (nanoseconds since the Unix epoch).
    public var captureId: UInt128?
    public var capturedAtNanoseconds: UInt64?
    public var refunds: [PaymentRefund]

    public init(
        bookingId: String, holdId: UInt128, state: State, amountMinor: UInt64, captureId: UInt128?,
        capturedAtNanoseconds: UInt64?, refunds: [PaymentRefund]
    ) {
        self.bookingId = bookingId
        self.holdId = holdId
        self.state = state
        self.amountMinor = amountMinor
        self.captureId = captureId
        self.capturedAtNanoseconds = capturedAtNanoseconds
        self.refunds = refunds
    }

    /// The payment of booking `bookingId` as of the ledger's last durable batch, or nil when the
    /// ledger has no hold for it. `now` (nanoseconds) decides whether a pending hold's window
    /// has closed.
    public static func read(bookingId: String, in ledger: Ledger, now: UInt64) throws(LedgerError)
        -> PaymentLedgerState?
    {
        let ids = BookingIds(bookingId: bookingId)
        guard let hold = try ledger.transfer(id: ids.holdId) else { return nil }
        let state: State =
            switch ReservationState(hold: hold, now: now) {
            case .paymentPending: .pending
            case .bookingConfirmed: .captured
            case .cancelled: .cancelled
            case .expired: .expired
            }
        var capture: Transfer?
        var refunds: [PaymentRefund] = []
        if state == .captured {
            capture = try ledger.transfer(id: ids.confirmId)
            refunds = try ledger.refunds(of: ids.confirmId).map { refund in
                PaymentRefund(
                    id: refund.fields.id, amountMinor: refund.fields.amountMinor, atNanoseconds: refund.timestamp)
            }
        }
        return PaymentLedgerState(
            bookingId: bookingId, holdId: ids.holdId, state: state, amountMinor: hold.fields.amountMinor,
            captureId: capture?.fields.id, capturedAtNanoseconds: capture?.timestamp, refunds: refunds)
    }
}

/// A refund the ledger posted against a reservation's capture.
public struct PaymentRefund: Sendable, Equatable {
    public var id: UInt128
    public var amountMinor: UInt64
    public var atNanoseconds: UInt64

    public init(id: UInt128, amountMinor: UInt64, atNanoseconds: UInt64) {
        self.id = id
        self.amountMinor = amountMinor
        self.atNanoseconds = atNanoseconds
    }
}
