import JobStore
import LedgerCore

/// The payment providers a reservation can be paid through, each with its clearing account: the
/// money the provider owes the platform for payments it took.
enum Provider: String, CaseIterable, Sendable {
    case bkash = "BKASH"
    case nagad = "NAGAD"
    case sslcommerz = "SSLCOMMERZ"

    /// The ledger account the provider's payments are held from.
    var clearingAccountKey: String { "provider:\(rawValue.lowercased()):clearing" }

    /// The provider named in a webhook path (`bkash`, `nagad`, `sslcommerz`), any case.
    init?(pathName: String) { self.init(rawValue: pathName.uppercased()) }
}

/// Business codes Khata's own transfers carry.
enum BusinessCode {
    /// A reservation's hold, its capture and its release.
    static let bookingPayment: UInt16 = 1
}

/// Where a reservation stands, read from its hold in the ledger.
enum ReservationState: String, Encodable {
    case paymentPending = "PAYMENT_PENDING"
    case bookingConfirmed = "BOOKING_CONFIRMED"
    case cancelled = "CANCELLED"
    case expired = "EXPIRED"

    /// The state of a hold at `now` (nanoseconds): a pending hold whose window has passed is
    /// expired even before the expiry job voids it, because the ledger refuses to capture it.
    init(hold: Transfer, now: UInt64) {
        switch hold.state {
        case .pending: self = now >= hold.expiresAt ? .expired : .paymentPending
        case .pendingPosted: self = .bookingConfirmed
        case .pendingVoided: self = .cancelled
        case .pendingExpired: self = .expired
        case .posted: preconditionFailure("a reservation's hold \(hold.fields.id) is not a pending transfer")
        }
    }
}

/// A refused confirmation as the API shows it.
struct RefusedConfirmationBody: Encodable {
    var providerTransactionId: String
    var amount: String?
    var source: String
    var outcome: String
    var detail: String
    var attemptedAt: String
}

/// A reservation as the API answers it.
struct ReservationBody: Encodable {
    var id: String
    var bookingId: String
    var state: ReservationState
    var paymentReference: String
    var provider: String
    var amount: String
    var currency: String
    var customerId: String
    var serviceId: String
    var customerPhone: String
    var customerEmail: String
    var paymentWindowSeconds: Int
    var createdAt: String
    var expiresAt: String
    var providerTransactionId: String?
    var confirmedAt: String?
    var cancelledAt: String?
    var refusedConfirmations: [RefusedConfirmationBody]
}
