import Foundation
import Hummingbird
import JSONInput
import JobStore
import KhataCrypto
import Ledger
import LedgerCore

/// The booking flow: a reservation is a hold from the provider's clearing account to the
/// merchant's account, with a payment window. Its money and state live in the ledger; the job
/// store keeps who booked it. Every id is derived from the booking id, so that every step can be
/// retried and lands once.
extension API {
    /// The ids and reference a booking's reservation always has.
    struct ReservationIds {
        let holdId: UInt128
        let confirmId: UInt128
        let cancelId: UInt128
        let paymentReference: String

        init(bookingId: String) {
            func derived(_ purpose: String) -> [UInt8] { Crypto.sha256(Array("khata:\(purpose):\(bookingId)".utf8)) }
            func id(_ purpose: String) -> UInt128 {
                let id = derived(purpose).prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
                return id == 0 ? 1 : id
            }
            holdId = id("reservation-hold")
            confirmId = id("reservation-confirm")
            cancelId = id("reservation-cancel")
            // 80 bits in Crockford base 32: unambiguous to read aloud, and accepted by every
            // provider's invoice-number field.
            let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
            var bits = derived("payment-reference").prefix(10).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            var characters: [Character] = []
            for _ in 0..<16 {
                characters.append(alphabet[Int(bits & 31)])
                bits >>= 5
            }
            paymentReference = "KH" + String(characters.reversed())
        }
    }

    static let paymentWindowRange = 60...86_400

    /// `POST /v1/reservations`: holds the amount for the payment window and answers
    /// `PAYMENT_PENDING` (201), or the same reservation again for a retry (200).
    func createReservation(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try ReservationRequest.parse(try await rawBody(request))
        try checkText(body.bookingId, field: "bookingId", maximumBytes: 64)
        try checkText(body.customerId, field: "customerId", maximumBytes: 64)
        try checkText(body.serviceId, field: "serviceId", maximumBytes: 64)
        guard let provider = Provider(rawValue: body.provider) else {
            throw Problem.badRequest(
                "unknown-provider", "Unknown provider",
                "provider \"\(body.provider)\" is not one of "
                    + Provider.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let currency = Currency(code: body.currency) else {
            throw Problem.badRequest(
                "unknown-currency", "Unknown currency",
                "currency \"\(JSONInput.echo(body.currency))\" is not an ISO 4217 code Khata knows")
        }
        // The provider settles in its clearing account's currency (BDT): a reservation in any
        // other would be held at the wrong scale in the wrong currency.
        let clearing = try accountNamed(provider.clearingAccountKey, field: "provider")
        guard currency == clearing.currency else {
            throw Problem(
                .unprocessableContent, "currency-mismatch", "Currency mismatch",
                detail: "the reservation is in \(currency.code), but \(provider.rawValue) settles in "
                    + "\(clearing.currency.code) (\(clearing.key)); reservations are made in \(clearing.currency.code)")
        }
        let amountMinor = try body.amount.minor(in: currency)
        guard amountMinor > 0, amountMinor <= UInt64(Int64.max) else {
            throw Problem.badRequest(
                "invalid-amount", "Invalid amount",
                "amount \"\(JSONInput.echo(body.amount.text))\" must be more than zero and at most "
                    + Amount(minorUnits: UInt64(Int64.max)).formatted(currency, grouping: false))
        }
        try checkPhone(body.customerPhone)
        try checkEmail(body.customerEmail)
        let window = body.paymentWindowSeconds ?? 1_800
        guard Self.paymentWindowRange.contains(window) else {
            throw Problem.badRequest(
                "invalid-payment-window", "Invalid payment window",
                "paymentWindowSeconds must be \(Self.paymentWindowRange.lowerBound)..."
                    + "\(Self.paymentWindowRange.upperBound), not \(window)")
        }
        let merchantKey = "merchant:\(body.serviceId)"
        guard let merchant = ledger.account(key: merchantKey) else {
            throw Problem.notFound(
                "account", "serviceId \"\(body.serviceId)\" has no merchant account \"\(merchantKey)\"; create it first"
            )
        }
        guard merchant.currency == clearing.currency else {
            throw Problem(
                .unprocessableContent, "currency-mismatch", "Currency mismatch",
                detail: "the merchant account \(merchantKey) is in \(merchant.currency.code), but \(provider.rawValue) "
                    + "settles in \(clearing.currency.code) (\(clearing.key))")
        }
        let ids = ReservationIds(bookingId: body.bookingId)
        let hold = NewTransfer(
            id: ids.holdId, debitAccountId: clearing.id, creditAccountId: merchant.id, amountMinor: amountMinor,
            timeoutSeconds: UInt32(window), code: BusinessCode.bookingPayment,
            reference: TransferReference(ids.paymentReference)!, flags: .pending)
        let result = try await submitBatch([.createTransfer(hold)])[0]
        switch result.code {
        case .ok, .exists: break
        case .existsWithDifferentFields:
            throw Problem(
                .conflict, "reservation-exists-with-different-fields", "Reservation exists",
                detail: "booking \"\(body.bookingId)\" already has a reservation with different details")
        default: throw refusal(result.code)
        }
        let record = ReservationRecord(
            bookingId: body.bookingId, holdId: ids.holdId, paymentReference: ids.paymentReference,
            customerId: body.customerId, serviceId: body.serviceId, provider: provider.rawValue,
            currency: currency.code, amountMinor: Int64(amountMinor), customerPhone: body.customerPhone,
            customerEmail: body.customerEmail, paymentWindowSeconds: window, createdAt: UTCTime.text(nanoseconds: now())
        )
        let stored = try await storeCall { try await records.insertOrFetch(record) }
        guard stored.sameRequest(as: record) else {
            throw Problem(
                .conflict, "reservation-exists-with-different-fields", "Reservation exists",
                detail: "booking \"\(body.bookingId)\" already has a reservation with different details")
        }
        return try await reservationResponse(stored, status: result.code == .ok ? .created : .ok)
    }

    /// `GET /v1/reservations/{id}`.
    func reservation(_ idText: String) async throws -> Response {
        try await reservationResponse(try await reservationRecord(idText), status: .ok)
    }

    /// `POST /v1/reservations/{id}/confirm`: captures the hold with the provider's transaction id.
    func confirmReservation(_ idText: String, _ request: Request) async throws -> Response {
        let record = try await reservationRecord(idText)
        let body = try ConfirmRequest.parse(try await rawBody(request))
        let outcome = try await confirm(record, body, source: "api")
        if let problem = outcome.problem { throw problem }
        return try await reservationResponse(record, status: .ok)
    }

    /// `POST /v1/reservations/{id}/cancel`: releases the hold.
    func cancelReservation(_ idText: String) async throws -> Response {
        let record = try await reservationRecord(idText)
        let ids = ReservationIds(bookingId: record.bookingId)
        let void = NewTransfer(
            id: ids.cancelId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: ids.holdId,
            code: BusinessCode.bookingPayment, flags: .voidPending)
        let code = try await submitBatch([.createTransfer(void)])[0].code
        switch code {
        case .ok, .exists: return try await reservationResponse(record, status: .ok)
        case .pendingAlreadyPosted:
            throw Problem(
                .conflict, "reservation-confirmed", "Reservation confirmed",
                detail: "reservation \(record.holdId) is confirmed; refund it instead of cancelling")
        case .pendingExpired:
            throw Problem(
                .conflict, "reservation-expired", "Reservation expired",
                detail: "reservation \(record.holdId) expired; there is nothing left to cancel")
        default: throw refusal(code)
        }
    }

    /// What a confirmation came to: `word` for webhook answers and the record, `problem` when it
    /// was refused.
    struct ConfirmOutcome {
        let word: String
        let problem: Problem?
    }

    /// Captures `record`'s hold for `body`; a refusal (expired, cancelled, another amount, another
    /// transaction) is recorded for reconciliation, since the provider may still settle it.
    func confirm(_ record: ReservationRecord, _ body: ConfirmRequest, source: String) async throws -> ConfirmOutcome {
        let transactionId = body.providerTransactionId
        guard TextRules.referenceProblem(transactionId) == nil, let reference = TransferReference(transactionId) else {
            throw Problem.badRequest(
                "invalid-provider-transaction-id", "Invalid provider transaction id",
                "providerTransactionId must be 1 to \(TransferReference.maximumBytes) bytes of text without control "
                    + "characters")
        }
        // Safe: a stored reservation names a currency the API accepted.
        let currency = Currency(code: record.currency)!
        let reportedMinor = try body.amount.map { try $0.minor(in: currency) }
        func refuse(_ word: String, _ status: HTTPResponse.Status, _ title: String, _ detail: String) async throws
            -> ConfirmOutcome
        {
            let attempt = ConfirmationAttempt(
                holdId: record.holdId, paymentReference: record.paymentReference, provider: record.provider,
                providerTransactionId: transactionId, amountMinor: reportedMinor.map { Int64(clamping: $0) },
                source: source, outcome: word, detail: detail, attemptedAt: UTCTime.text(nanoseconds: now()))
            try await storeCall { try await records.record(attempt) }
            return ConfirmOutcome(word: word, problem: Problem(status, "reservation-\(word)", title, detail: detail))
        }
        if let reportedMinor, reportedMinor != UInt64(record.amountMinor) {
            let reported = Amount(minorUnits: reportedMinor).formatted(currency, grouping: false)
            let held = Amount(minorUnits: UInt64(record.amountMinor)).formatted(currency, grouping: false)
            return try await refuse(
                "amount-mismatch", .unprocessableContent, "Amount differs",
                "the provider reports \(reported) \(record.currency) but the reservation holds \(held)")
        }
        let ids = ReservationIds(bookingId: record.bookingId)
        let capture = NewTransfer(
            id: ids.confirmId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: ids.holdId,
            code: BusinessCode.bookingPayment, reference: reference, flags: .postPending)
        let code = try await submitBatch([.createTransfer(capture)])[0].code
        switch code {
        case .ok: return ConfirmOutcome(word: "confirmed", problem: nil)
        case .exists: return ConfirmOutcome(word: "already-confirmed", problem: nil)
        case .existsWithDifferentFields, .pendingAlreadyPosted:
            let earlier = try committedTransfer(ids.confirmId)?.fields.reference.string ?? "another transfer"
            return try await refuse(
                "conflict", .conflict, "Confirmed already",
                "the reservation was confirmed already by \(earlier), not by \(transactionId)")
        case .pendingExpired:
            return try await refuse(
                "expired", .conflict, "Reservation expired",
                "the payment window closed before the confirmation arrived; the hold was not captured")
        case .pendingAlreadyVoided:
            return try await refuse(
                "cancelled", .conflict, "Reservation cancelled",
                "the reservation was cancelled before the confirmation arrived; the hold was not captured")
        default: throw refusal(code)
        }
    }

    func reservationRecord(_ idText: String) async throws -> ReservationRecord {
        let holdId = try parseId(idText, field: "reservation id")
        guard let record = try await storeCall({ try await records.reservation(holdId: holdId) }),
            try committedTransfer(holdId) != nil
        else {
            throw Problem.notFound("reservation", "no reservation has the id \(idText)")
        }
        return record
    }

    func reservationResponse(_ record: ReservationRecord, status: HTTPResponse.Status) async throws -> Response {
        let ids = ReservationIds(bookingId: record.bookingId)
        // Safe: the record is written only after its hold is durable.
        let hold = try committedTransfer(ids.holdId)!
        let currency = Currency(code: record.currency)!
        let confirmation = try committedTransfer(ids.confirmId)
        let cancellation = try committedTransfer(ids.cancelId)
        let attempts = try await storeCall { try await records.attempts(holdId: record.holdId) }
        let body = ReservationBody(
            id: String(record.holdId), bookingId: record.bookingId, state: ReservationState(hold: hold, now: now()),
            paymentReference: record.paymentReference, provider: record.provider,
            amount: Amount(minorUnits: UInt64(record.amountMinor)).formatted(currency, grouping: false),
            currency: record.currency, customerId: record.customerId, serviceId: record.serviceId,
            customerPhone: record.customerPhone, customerEmail: record.customerEmail,
            paymentWindowSeconds: record.paymentWindowSeconds, createdAt: UTCTime.text(nanoseconds: hold.timestamp),
            expiresAt: UTCTime.text(nanoseconds: hold.expiresAt),
            providerTransactionId: confirmation?.fields.reference.string,
            confirmedAt: confirmation.map { UTCTime.text(nanoseconds: $0.timestamp) },
            cancelledAt: cancellation.map { UTCTime.text(nanoseconds: $0.timestamp) },
            refusedConfirmations: attempts.map { attempt in
                RefusedConfirmationBody(
                    providerTransactionId: attempt.providerTransactionId,
                    amount: attempt.amountMinor.map {
                        Amount(minorUnits: UInt64(clamping: $0)).formatted(currency, grouping: false)
                    }, source: attempt.source, outcome: attempt.outcome, detail: attempt.detail,
                    attemptedAt: attempt.attemptedAt)
            })
        return try JSONResponse.make(body, status: status)
    }

    /// A call into the job store; its failures are the server's, answered as 503.
    func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw Problem(
                .serviceUnavailable, "store-unavailable", "Store unavailable",
                detail: "the job store failed (\(error.code)); retry with the same request")
        }
    }

    private func checkText(_ text: String, field: String, maximumBytes: Int) throws {
        let valid =
            !text.isEmpty && text.utf8.count <= maximumBytes
            && text.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControl }
        guard valid else {
            throw Problem.badRequest(
                "invalid-field", "Invalid field",
                "\(field) must be 1 to \(maximumBytes) bytes of text without control characters")
        }
    }

    private func checkPhone(_ phone: String) throws {
        let digits = phone.hasPrefix("+") ? phone.dropFirst() : Substring(phone)
        guard (10...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Problem.badRequest(
                "invalid-phone", "Invalid phone number",
                "customerPhone \"\(phone)\" must be 10 to 15 digits, optionally after a +")
        }
    }

    private func checkEmail(_ email: String) throws {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let valid =
            parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && email.utf8.count <= 254 && !email.contains(where: \.isWhitespace)
        guard valid else {
            throw Problem.badRequest("invalid-email", "Invalid email", "customerEmail \"\(email)\" is not an address")
        }
    }
}

extension Unicode.GeneralCategory {
    var isControl: Bool { self == .control || self == .format || self == .lineSeparator || self == .paragraphSeparator }
}
