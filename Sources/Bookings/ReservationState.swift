import LedgerCore

/// Where a reservation stands, read from its hold in the ledger.
public enum ReservationState: String, Sendable {
    case paymentPending = "PAYMENT_PENDING"
    case bookingConfirmed = "BOOKING_CONFIRMED"
    case cancelled = "CANCELLED"
    case expired = "EXPIRED"

    /// The state of a hold at `now` (nanoseconds): a pending hold whose window has passed is
    /// expired even before the expiry job voids it, because the ledger refuses to capture it.
    public init(hold: Transfer, now: UInt64) {
        switch hold.state {
        case .pending: self = now >= hold.expiresAt ? .expired : .paymentPending
        case .pendingPosted: self = .bookingConfirmed
        case .pendingVoided: self = .cancelled
        case .pendingExpired: self = .expired
        case .posted: preconditionFailure("a reservation's hold \(hold.fields.id) is not a pending transfer")
        }
    }
}
