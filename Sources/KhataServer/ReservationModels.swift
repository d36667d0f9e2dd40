import Bookings
import JobStore
import LedgerCore

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
    var state: String
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

extension ReservationBody {
    init(_ reservation: Reservation) {
        let record = reservation.record
        let currency = reservation.currency
        let hold = reservation.hold
        self.init(
            id: String(record.holdId), bookingId: record.bookingId, state: reservation.state.rawValue,
            paymentReference: record.paymentReference, provider: record.provider,
            amount: Amount(minorUnits: UInt64(record.amountMinor)).formatted(currency, grouping: false),
            currency: record.currency, customerId: record.customerId, serviceId: record.serviceId,
            customerPhone: record.customerPhone, customerEmail: record.customerEmail,
            paymentWindowSeconds: record.paymentWindowSeconds, createdAt: UTCTime.text(nanoseconds: hold.timestamp),
            expiresAt: UTCTime.text(nanoseconds: hold.expiresAt),
            providerTransactionId: reservation.confirmation?.fields.reference.string,
            confirmedAt: reservation.confirmation.map { UTCTime.text(nanoseconds: $0.timestamp) },
            cancelledAt: reservation.cancellation.map { UTCTime.text(nanoseconds: $0.timestamp) },
            refusedConfirmations: reservation.refusedConfirmations.map { attempt in
                RefusedConfirmationBody(
                    providerTransactionId: attempt.providerTransactionId,
                    amount: attempt.amountMinor.map {
                        Amount(minorUnits: UInt64(clamping: $0)).formatted(currency, grouping: false)
                    }, source: attempt.source, outcome: attempt.outcome, detail: attempt.detail,
                    attemptedAt: attempt.attemptedAt)
            })
    }
}
