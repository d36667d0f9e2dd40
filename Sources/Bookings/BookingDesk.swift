import JobStore
import Ledger
import LedgerCore

/// The booking rules: a reservation is a hold from the provider's clearing account to the
/// merchant's account for a payment window; confirming captures it, cancelling releases it, and a
/// confirmation that cannot be applied (expired, cancelled, another amount, another transaction)
/// is refused and recorded for reconciliation. Its money and state live in the ledger; the job
/// store keeps who booked it. The HTTP API, the command line and the jobs all go through here.
public struct BookingDesk: Sendable {
    public let ledger: Ledger
    public let records: ReservationRecords
    /// Now, in nanoseconds since the Unix epoch.
    public let now: @Sendable () -> UInt64

    /// The payment window of a reservation that does not name one: 30 minutes.
    public static let defaultPaymentWindowSeconds = 1_800
    public static let paymentWindowRange = 60...86_400
    /// The longest booking, customer and service id.
    public static let maximumIdBytes = 64

    /// Reads an amount at the scale of the reservation's currency (the caller's written form);
    /// throws `BookingError` `.invalidAmount` when it is not one.
    public typealias AmountReader = @Sendable (Currency) throws(BookingError) -> UInt64

    public init(ledger: Ledger, records: ReservationRecords, now: @escaping @Sendable () -> UInt64) {
        self.ledger = ledger
        self.records = records
        self.now = now
    }

    /// Creates the providers' clearing accounts (BDT) when they are missing: every reservation
    /// holds from one of them.
    public static func openClearingAccounts(in ledger: Ledger) async throws(BookingError) {
        let events = Provider.allCases.map { provider in
            Event.createAccount(
                NewAccount(
                    id: NewAccount.derivedId(forKey: provider.clearingAccountKey), key: provider.clearingAccountKey,
                    currency: .bdt))
        }
        let results: [EventResult]
        do {
            results = try await ledger.submit(events)
        } catch {
            throw .ledger(error)
        }
        for (provider, result) in zip(Provider.allCases, results) where !result.code.succeeded {
            throw BookingError(
                .refused, "the clearing account \(provider.clearingAccountKey) cannot be created: \(result.code)",
                refusal: result.code)
        }
    }

    // MARK: Reserving

    /// Holds the amount for the payment window. Answers the reservation and whether it is new
    /// (false for a retry of the same booking, which changes nothing).
    public func reserve(_ draft: ReservationDraft) async throws(BookingError) -> (Reservation, created: Bool) {
        try BookingRules.checkText(draft.bookingId, field: "bookingId", maximumBytes: Self.maximumIdBytes)
        try BookingRules.checkText(draft.customerId, field: "customerId", maximumBytes: Self.maximumIdBytes)
        try BookingRules.checkText(draft.serviceId, field: "serviceId", maximumBytes: Self.maximumIdBytes)
        let provider = draft.provider
        let clearing = try account(provider.clearingAccountKey, field: "provider")
        // The provider settles in its clearing account's currency (BDT): a reservation in any
        // other would be held at the wrong scale in the wrong currency.
        guard draft.currency == clearing.currency else {
            throw BookingError(
                .currencyMismatch,
                "the reservation is in \(draft.currency.code), but \(provider.rawValue) settles in "
                    + "\(clearing.currency.code) (\(clearing.key)); reservations are made in \(clearing.currency.code)")
        }
        guard draft.amountMinor > 0, draft.amountMinor <= UInt64(Int64.max) else {
            throw BookingError(
                .invalidAmount,
                "amount must be more than zero and at most "
                    + Amount(minorUnits: UInt64(Int64.max)).formatted(draft.currency, grouping: false))
        }
        let phone = try BookingRules.checkPhone(draft.customerPhone)
        try BookingRules.checkEmail(draft.customerEmail)
        let window = draft.paymentWindowSeconds ?? Self.defaultPaymentWindowSeconds
        guard Self.paymentWindowRange.contains(window) else {
            throw BookingError(
                .invalidPaymentWindow,
                "paymentWindowSeconds must be \(Self.paymentWindowRange.lowerBound)..."
                    + "\(Self.paymentWindowRange.upperBound), not \(window)")
        }
        let merchantKey = "merchant:\(draft.serviceId)"
        guard let merchant = ledger.account(key: merchantKey) else {
            throw BookingError(
                .accountNotFound,
                "serviceId \"\(draft.serviceId)\" has no merchant account \"\(merchantKey)\"; create it first")
        }
        guard merchant.currency == clearing.currency else {
            throw BookingError(
                .currencyMismatch,
                "the merchant account \(merchantKey) is in \(merchant.currency.code), but \(provider.rawValue) "
                    + "settles in \(clearing.currency.code) (\(clearing.key))")
        }
        let ids = BookingIds(bookingId: draft.bookingId)
        // Safe: the payment reference is 18 ASCII letters and digits.
        let hold = NewTransfer(
            id: ids.holdId, debitAccountId: clearing.id, creditAccountId: merchant.id, amountMinor: draft.amountMinor,
            timeoutSeconds: UInt32(window), code: BusinessCode.bookingPayment,
            reference: TransferReference(ids.paymentReference)!, flags: .pending)
        let code = try await submit(hold)
        switch code {
        case .ok, .exists: break
        case .existsWithDifferentFields:
            throw BookingError(
                .existsWithDifferentFields,
                "booking \"\(draft.bookingId)\" already has a reservation with different details")
        default: throw .refused(code)
        }
        let record = ReservationRecord(
            bookingId: draft.bookingId, holdId: ids.holdId, paymentReference: ids.paymentReference,
            customerId: draft.customerId, serviceId: draft.serviceId, provider: provider.rawValue,
            currency: draft.currency.code, amountMinor: Int64(draft.amountMinor), customerPhone: draft.customerPhone,
            customerEmail: draft.customerEmail, paymentWindowSeconds: window,
            createdAt: UTCTime.text(nanoseconds: now()))
        let stored = try await store { try await records.insertOrFetch(record) }
        guard stored.sameRequest(as: record) else {
            throw BookingError(
                .existsWithDifferentFields,
                "booking \"\(draft.bookingId)\" already has a reservation with different details")
        }
        // The customer's contact, for their messages: after the hold is durable, like the record
        // (a retry of the request writes both again). Opt-outs kept for them are left as they are.
        let contacts = Contacts(database: records.database)
        let booked = ContactFromBooking(
            customerId: draft.customerId, phone: phone, email: draft.customerEmail, language: draft.language,
            preferredChannel: draft.preferredChannel)
        try await store { try await contacts.note(booked, at: now()) }
        return (try await reservation(stored), code == .ok)
    }

    // MARK: Reading

    /// The reservation whose hold has this id.
    public func reservation(holdId: UInt128) async throws(BookingError) -> Reservation {
        guard let record = try await store({ try await records.reservation(holdId: holdId) }),
            try committed(holdId) != nil
        else {
            throw BookingError(.reservationNotFound, "no reservation has the id \(holdId)")
        }
        return try await reservation(record)
    }

    /// The reservation whose payment reference is `paymentReference` (what a provider's
    /// settlement line quotes), or nil.
    public func reservation(paymentReference: String) async throws(BookingError) -> Reservation? {
        guard let record = try await store({ try await records.reservation(paymentReference: paymentReference) }),
            try committed(record.holdId) != nil
        else { return nil }
        return try await reservation(record)
    }

    /// The reservation of a stored record, as it stands now.
    public func reservation(_ record: ReservationRecord) async throws(BookingError) -> Reservation {
        let ids = BookingIds(bookingId: record.bookingId)
        guard let hold = try committed(ids.holdId) else {
            // The record is written only after its hold is durable.
            preconditionFailure("reservation \(record.holdId) has no hold in the ledger")
        }
        let attempts = try await store { try await records.attempts(holdId: record.holdId) }
        return Reservation(
            record: record, hold: hold, confirmation: try committed(ids.confirmId),
            cancellation: try committed(ids.cancelId), refusedConfirmations: attempts,
            state: ReservationState(hold: hold, now: now()))
    }

    // MARK: Confirming and cancelling

    /// Captures the reservation's hold for the provider's transaction `providerTransactionId`;
    /// `amount`, when the provider reports one, must be the held amount. A refusal is recorded
    /// (with `source`) and answered as an outcome that did not succeed; a retry of a confirmation
    /// that succeeded succeeds again and changes nothing.
    public func confirm(
        _ record: ReservationRecord, providerTransactionId transactionId: String, amount: AmountReader?,
        source: ConfirmationSource
    ) async throws(BookingError) -> ConfirmationOutcome {
        guard TextRules.referenceProblem(transactionId) == nil, let reference = TransferReference(transactionId) else {
            throw BookingError(
                .invalidProviderTransactionId,
                "providerTransactionId must be 1 to \(TransferReference.maximumBytes) bytes of text without control "
                    + "characters")
        }
        // Safe: a stored reservation names a currency that was parsed when it was made.
        let currency = Currency(code: record.currency)!
        let reportedMinor = try amount.map { reader throws(BookingError) in try reader(currency) }
        func refuse(_ word: String, _ detail: String) async throws(BookingError) -> ConfirmationOutcome {
            let attempt = ConfirmationAttempt(
                holdId: record.holdId, paymentReference: record.paymentReference, provider: record.provider,
                providerTransactionId: transactionId, amountMinor: reportedMinor.map { Int64(clamping: $0) },
                source: source.rawValue, outcome: word, detail: detail, attemptedAt: UTCTime.text(nanoseconds: now()))
            try await store { try await records.record(attempt) }
            return ConfirmationOutcome(word: word, detail: detail)
        }
        if let reportedMinor, reportedMinor != UInt64(record.amountMinor) {
            let reported = Amount(minorUnits: reportedMinor).formatted(currency, grouping: false)
            let held = Amount(minorUnits: UInt64(record.amountMinor)).formatted(currency, grouping: false)
            return try await refuse(
                "amount-mismatch",
                "the provider reports \(reported) \(record.currency) but the reservation holds \(held)")
        }
        let ids = BookingIds(bookingId: record.bookingId)
        let capture = NewTransfer(
            id: ids.confirmId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: ids.holdId,
            code: BusinessCode.bookingPayment, reference: reference, flags: .postPending)
        let code = try await submit(capture)
        switch code {
        case .ok: return ConfirmationOutcome(word: "confirmed", detail: nil)
        case .exists: return ConfirmationOutcome(word: "already-confirmed", detail: nil)
        case .existsWithDifferentFields, .pendingAlreadyPosted:
            let earlier = try committed(ids.confirmId)?.fields.reference.string ?? "another transfer"
            return try await refuse(
                "conflict", "the reservation was confirmed already by \(earlier), not by \(transactionId)")
        case .pendingExpired:
            return try await refuse(
                "expired", "the payment window closed before the confirmation arrived; the hold was not captured")
        case .pendingAlreadyVoided:
            return try await refuse(
                "cancelled", "the reservation was cancelled before the confirmation arrived; the hold was not captured")
        default: throw .refused(code)
        }
    }

    /// Releases the reservation's hold; a retry changes nothing. A confirmed or expired
    /// reservation cannot be cancelled.
    public func cancel(_ record: ReservationRecord) async throws(BookingError) -> Reservation {
        let ids = BookingIds(bookingId: record.bookingId)
        let void = NewTransfer(
            id: ids.cancelId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: ids.holdId,
            code: BusinessCode.bookingPayment, flags: .voidPending)
        let code = try await submit(void)
        switch code {
        case .ok, .exists: return try await reservation(record)
        case .pendingAlreadyPosted:
            throw BookingError(
                .confirmed, "reservation \(record.holdId) is confirmed; refund it instead of cancelling")
        case .pendingExpired:
            throw BookingError(
                .expired, "reservation \(record.holdId) expired; there is nothing left to cancel")
        default: throw .refused(code)
        }
    }

    // MARK: Webhooks

    /// Applies a provider's verified payment notification: a delivery already seen for the same
    /// provider transaction answers its first outcome and changes nothing; `COMPLETED` confirms
    /// the reservation its payment reference names (refusals are recorded as for `confirm`); any
    /// other status is noted and ignored.
    public func deliver(_ delivery: WebhookDelivery, from provider: Provider) async throws(BookingError)
        -> WebhookOutcome
    {
        if let earlier = try await store({
            try await records.delivery(
                provider: provider.rawValue, providerTransactionId: delivery.providerTransactionId)
        }) {
            return WebhookOutcome(
                outcome: earlier.outcome, duplicate: true, holdId: earlier.holdId.flatMap(UInt128.init))
        }
        let record = try await store { try await records.reservation(paymentReference: delivery.paymentReference) }
        let outcome: String
        if delivery.status.uppercased() != "COMPLETED" {
            outcome = "ignored-\(delivery.status.lowercased())"
        } else if let record, try committed(record.holdId) != nil {
            if record.provider != provider.rawValue {
                outcome = "provider-mismatch"
            } else {
                outcome = try await confirm(
                    record, providerTransactionId: delivery.providerTransactionId, amount: delivery.amount,
                    source: .webhook
                ).word
            }
        } else {
            outcome = "unknown-reference"
        }
        try await store {
            try await records.recordDelivery(
                provider: provider.rawValue, providerTransactionId: delivery.providerTransactionId,
                paymentReference: delivery.paymentReference, holdId: record.map { String($0.holdId) },
                outcome: outcome)
        }
        return WebhookOutcome(outcome: outcome, duplicate: false, holdId: record?.holdId)
    }

    // MARK: The ledger and the store

    private func account(_ key: String, field: String) throws(BookingError) -> Account {
        guard let account = ledger.account(key: key) else {
            throw BookingError(.accountNotFound, "\(field): no account has the key \"\(key)\"")
        }
        return account
    }

    private func submit(_ transfer: NewTransfer) async throws(BookingError) -> ResultCode {
        do {
            return try await ledger.submit([.createTransfer(transfer)])[0].code
        } catch {
            throw .ledger(error)
        }
    }

    private func committed(_ id: UInt128) throws(BookingError) -> Transfer? {
        do {
            return try ledger.transfer(id: id)
        } catch {
            throw .ledger(error)
        }
    }

    /// A call into the job store; its failures are the deployment's, and a retry is safe.
    private func store<T>(_ body: () async throws -> T) async throws(BookingError) -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw BookingError(
                .storeUnavailable, "the job store failed (\(error.code)); retry with the same request")
        } catch {
            throw BookingError(.storeUnavailable, "the job store failed (\(error)); retry with the same request")
        }
    }
}
