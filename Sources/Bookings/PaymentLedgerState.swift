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

    /// The payments of the bookings `bookingIds` as of the ledger's last durable batch, one
    /// each in order, nil for a booking the ledger has no hold for. Refunds are listed for the
    /// bookings in `refundsFor` only (finding them walks history). `now` (nanoseconds) decides
    /// whether a pending hold's window has closed.
    public static func read(
        bookingIds: [String], refundsFor: Set<String> = [], in ledger: Ledger, now: UInt64
    ) throws(LedgerError) -> [PaymentLedgerState?] {
        var states: [PaymentLedgerState?] = []
        states.reserveCapacity(bookingIds.count)
        var refunded: [UInt128] = []
        for bookingId in bookingIds {
            let ids = BookingIds(bookingId: bookingId)
            guard let hold = try ledger.transfer(id: ids.holdId) else {
                states.append(nil)
                continue
            }
            let state: State =
                switch ReservationState(hold: hold, now: now) {
                case .paymentPending: .pending
                case .bookingConfirmed: .captured
                case .cancelled: .cancelled
                case .expired: .expired
                }
            let capture = state == .captured ? try ledger.transfer(id: ids.confirmId) : nil
            if let capture, capture.refundedMinor > 0, refundsFor.contains(bookingId) { refunded.append(ids.confirmId) }
            states.append(
                PaymentLedgerState(
                    bookingId: bookingId, holdId: ids.holdId, state: state, amountMinor: hold.fields.amountMinor,
                    captureId: capture?.fields.id, capturedAtNanoseconds: capture?.timestamp, refunds: []))
        }
        guard !refunded.isEmpty else { return states }
        let refunds = try ledger.refunds(of: refunded)
        for index in states.indices {
            guard let captureId = states[index]?.captureId, let list = refunds[captureId] else { continue }
            states[index]?.refunds = list.map {
                PaymentRefund(id: $0.fields.id, amountMinor: $0.fields.amountMinor, atNanoseconds: $0.timestamp)
            }
        }
        return states
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
