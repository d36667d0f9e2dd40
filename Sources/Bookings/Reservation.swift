import JobStore
import LedgerCore

/// What a client asks to reserve, its amount already read at the scale of `currency`.
public struct ReservationDraft: Sendable {
    public var bookingId: String
    public var customerId: String
    public var serviceId: String
    public var provider: Provider
    public var currency: Currency
    public var amountMinor: UInt64
    public var customerPhone: String
    public var customerEmail: String
    /// Nil: the default window (`BookingDesk.defaultPaymentWindowSeconds`).
    public var paymentWindowSeconds: Int?
    /// The language of the customer's messages; nil keeps what their contact says (Bangla at first).
    public var language: ContactLanguage?
    /// The channel the customer prefers; nil keeps what their contact says.
    public var preferredChannel: NotificationChannel?

    public init(
        bookingId: String, customerId: String, serviceId: String, provider: Provider, currency: Currency,
        amountMinor: UInt64, customerPhone: String, customerEmail: String, paymentWindowSeconds: Int?,
        language: ContactLanguage? = nil, preferredChannel: NotificationChannel? = nil
    ) {
        self.bookingId = bookingId
        self.customerId = customerId
        self.serviceId = serviceId
        self.provider = provider
        self.currency = currency
        self.amountMinor = amountMinor
        self.customerPhone = customerPhone
        self.customerEmail = customerEmail
        self.paymentWindowSeconds = paymentWindowSeconds
        self.language = language
        self.preferredChannel = preferredChannel
    }
}

/// A reservation as it stands: who booked it (the job store's record), its money (the hold, and
/// the capture or release of it, from the ledger) and the confirmations that were refused.
public struct Reservation: Sendable {
    public let record: ReservationRecord
    public let hold: Transfer
    public let confirmation: Transfer?
    public let cancellation: Transfer?
    public let refusedConfirmations: [ConfirmationAttempt]
    public let state: ReservationState

    /// The currency the reservation is held in (one the API accepted when it was made).
    public var currency: Currency {
        // Safe: a stored reservation names a currency that was parsed when it was made.
        Currency(code: record.currency)!
    }
}

/// Where a confirmation came from, as recorded with a refused one.
public enum ConfirmationSource: String, Sendable {
    case api
    case webhook
}

/// What a confirmation came to. A refused one (`succeeded` false) was recorded for
/// reconciliation, since the provider may still settle the payment.
public struct ConfirmationOutcome: Sendable, Equatable {
    /// `confirmed`, `already-confirmed`, or what refused it: `amount-mismatch`, `conflict`,
    /// `expired`, `cancelled`.
    public let word: String
    /// Why it was refused, in words.
    public let detail: String?

    public var succeeded: Bool { detail == nil }
}

/// A provider's payment notification, its signature already verified.
public struct WebhookDelivery: Sendable {
    public var providerTransactionId: String
    public var paymentReference: String
    /// The provider's status word; only `COMPLETED` (any case) confirms.
    public var status: String
    /// The amount the provider reports, read at the scale of the reservation's currency.
    public var amount: BookingDesk.AmountReader?

    public init(
        providerTransactionId: String, paymentReference: String, status: String, amount: BookingDesk.AmountReader?
    ) {
        self.providerTransactionId = providerTransactionId
        self.paymentReference = paymentReference
        self.status = status
        self.amount = amount
    }
}

/// What a webhook delivery came to.
public struct WebhookOutcome: Sendable {
    /// The confirmation's word, or `ignored-STATUS`, `provider-mismatch`, `unknown-reference`.
    public let outcome: String
    /// Whether this delivery was seen before (its first outcome is answered, nothing changes).
    public let duplicate: Bool
    /// The reservation it concerned, if one was found.
    public let holdId: UInt128?
}
