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

/// `POST /v1/reservations`.
struct ReservationRequest: Decodable {
    var bookingId: String
    var customerId: String
    var serviceId: String
    var amount: AmountValue
    var currency: String
    var provider: String
    var customerPhone: String
    var customerEmail: String
    var paymentWindowSeconds: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case bookingId, customerId, serviceId, amount, currency, provider, customerPhone, customerEmail
        case paymentWindowSeconds
    }

    init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, allowed: Set(CodingKeys.allCases.map(\.rawValue)), in: "a reservation")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        bookingId = try container.decode(String.self, forKey: .bookingId)
        customerId = try container.decode(String.self, forKey: .customerId)
        serviceId = try container.decode(String.self, forKey: .serviceId)
        amount = try container.decode(AmountValue.self, forKey: .amount)
        currency = try container.decode(String.self, forKey: .currency)
        provider = try container.decode(String.self, forKey: .provider)
        customerPhone = try container.decode(String.self, forKey: .customerPhone)
        customerEmail = try container.decode(String.self, forKey: .customerEmail)
        paymentWindowSeconds = try container.decodeIfPresent(Int.self, forKey: .paymentWindowSeconds)
    }
}

/// `POST /v1/reservations/{id}/confirm`, and the body of a provider's webhook.
struct ConfirmRequest: Decodable {
    var providerTransactionId: String
    var amount: AmountValue?

    enum CodingKeys: String, CodingKey, CaseIterable { case providerTransactionId, amount }

    init(providerTransactionId: String, amount: AmountValue?) {
        self.providerTransactionId = providerTransactionId
        self.amount = amount
    }

    init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, allowed: Set(CodingKeys.allCases.map(\.rawValue)), in: "a confirmation")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        providerTransactionId = try container.decode(String.self, forKey: .providerTransactionId)
        amount = try container.decodeIfPresent(AmountValue.self, forKey: .amount)
    }
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
