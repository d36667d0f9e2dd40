import Bookings
import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import LedgerCore

/// `/v1/reservations`: reserve, read, confirm and cancel, each a call into the booking rules
/// (`BookingDesk`); this layer parses, calls and answers.
struct ReservationsController: APIController {
    typealias D = OpenAPIDocument
    let desk: BookingDesk
    let bodies: BodyReader

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/reservations", scope: .post,
                OpenAPIOperation(
                    summary: "Reserve: hold the amount for the payment window", body: "ReservationRequest",
                    answers: [
                        (201, D.answer("Reserved, PAYMENT_PENDING", "Reservation")),
                        (200, D.answer("The same reservation again", "Reservation")),
                    ], problems: [400, 404, 409, 413, 422, 500, 503])
            ) { request, _ in try await reserve(request) },
            APIRoute(
                .get, "/v1/reservations", scope: .read,
                OpenAPIOperation(
                    summary: "The reservation a payment reference names (as a provider's settlement quotes it)",
                    parameters: [
                        D.queryParameter(
                            "paymentReference",
                            ["type": "string", "pattern": "^KH[0-9A-Z]{16}$", "description": "Required"])
                    ],
                    answers: [(200, D.answer("The reservation", "Reservation"))], problems: [400, 404, 500, 503])
            ) { request, _ in
                guard let reference = request.uri.queryParameters["paymentReference"] else {
                    throw Problem.badRequest(
                        "missing-field", "Missing field", "paymentReference is required, e.g. ?paymentReference=KH…")
                }
                guard
                    let reservation = try await booking({
                        try await desk.reservation(paymentReference: String(reference))
                    })
                else {
                    throw Problem.notFound(
                        "reservation",
                        "no reservation has the payment reference \"\(JSONInput.echo(String(reference)))\"")
                }
                return try answer(reservation)
            },
            APIRoute(
                .get, "/v1/reservations/{id}", scope: .read,
                OpenAPIOperation(
                    summary: "A reservation and its state", parameters: [D.idParameter],
                    answers: [(200, D.answer("The reservation", "Reservation"))], problems: [400, 404, 500, 503])
            ) { _, context in
                try answer(try await booking { try await desk.reservation(holdId: try holdId(context)) })
            },
            APIRoute(
                .post, "/v1/reservations/{id}/confirm", scope: .post,
                OpenAPIOperation(
                    summary: "Confirm the payment: capture the hold (BOOKING_CONFIRMED). After expiry, after "
                        + "cancellation or for another amount it is refused and recorded.",
                    parameters: [D.idParameter], body: "ConfirmRequest",
                    answers: [(200, D.answer("Confirmed (also when repeated)", "Reservation"))],
                    problems: [400, 404, 409, 413, 422, 500, 503])
            ) { request, context in try await confirm(request, context) },
            APIRoute(
                .post, "/v1/reservations/{id}/cancel", scope: .post,
                OpenAPIOperation(
                    summary: "Cancel: release the hold (CANCELLED)", parameters: [D.idParameter],
                    answers: [(200, D.answer("Cancelled (also when repeated)", "Reservation"))],
                    problems: [400, 404, 409, 422, 500, 503])
            ) { _, context in
                let holdId = try holdId(context)
                return try answer(
                    try await booking {
                        try await desk.cancel(try await desk.reservation(holdId: holdId).record)
                    })
            },
        ]
    }

    func reserve(_ request: Request) async throws -> Response {
        let body = try ReservationRequest.parse(try await bodies.read(request))
        guard let provider = Provider(rawValue: body.provider) else {
            throw Problem.badRequest(
                "unknown-provider", "Unknown provider",
                "provider \"\(JSONInput.echo(body.provider))\" is not one of \(Provider.names)")
        }
        guard let currency = Currency(code: body.currency) else {
            throw Problem.badRequest(
                "unknown-currency", "Unknown currency",
                "currency \"\(JSONInput.echo(body.currency))\" is not an ISO 4217 code Khata knows")
        }
        let draft = ReservationDraft(
            bookingId: body.bookingId, customerId: body.customerId, serviceId: body.serviceId, provider: provider,
            currency: currency, amountMinor: try body.amount.minor(in: currency), customerPhone: body.customerPhone,
            customerEmail: body.customerEmail, paymentWindowSeconds: body.paymentWindowSeconds,
            language: body.language, preferredChannel: body.preferredChannel)
        let (reservation, created) = try await booking { try await desk.reserve(draft) }
        return try answer(reservation, status: created ? .created : .ok)
    }

    func confirm(_ request: Request, _ context: KhataRequestContext) async throws -> Response {
        let holdId = try holdId(context)
        let record = try await booking { try await desk.reservation(holdId: holdId).record }
        let body = try ConfirmRequest.parse(try await bodies.read(request))
        let outcome = try await booking {
            try await desk.confirm(
                record, providerTransactionId: body.providerTransactionId, amount: body.amount.map(Self.reader),
                source: .api)
        }
        if let problem = Self.problem(refusing: outcome) { throw problem }
        return try answer(try await booking { try await desk.reservation(record) })
    }

    private func holdId(_ context: KhataRequestContext) throws -> UInt128 {
        try PathValues.id(context.pathParameter("id"), field: "reservation id")
    }

    /// Reads a client's amount at the reservation's scale, as the booking rules ask.
    static func reader(_ input: AmountInput) -> BookingDesk.AmountReader {
        { currency throws(BookingError) in
            do {
                return try input.minor(in: currency)
            } catch let error as JSONInputError {
                throw BookingError(.invalidAmount, error.detail)
            } catch {
                throw BookingError(.invalidAmount, "\(error)")
            }
        }
    }

    /// The problem answering a refused confirmation, nil for one that succeeded.
    static func problem(refusing outcome: ConfirmationOutcome) -> Problem? {
        guard let detail = outcome.detail else { return nil }
        let (status, title): (HTTPResponse.Status, String) =
            switch outcome.word {
            case "amount-mismatch": (.unprocessableContent, "Amount differs")
            case "conflict": (.conflict, "Confirmed already")
            case "expired": (.conflict, "Reservation expired")
            case "cancelled": (.conflict, "Reservation cancelled")
            default: (.conflict, "Confirmation refused")
            }
        return Problem(status, "reservation-\(outcome.word)", title, detail: detail)
    }

    func answer(_ reservation: Reservation, status: HTTPResponse.Status = .ok) throws -> Response {
        try JSONResponse.make(ReservationBody(reservation), status: status)
    }
}

/// Calls the booking rules, answering their refusals as problems.
func booking<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as BookingError {
        throw Problem(booking: error)
    }
}

extension Problem {
    /// The problem answering a booking refusal: its code is the problem type.
    init(booking error: BookingError) {
        let message = error.message
        switch error.code {
        case .refused: self = ServedLedger.refusal(error.refusal ?? .recordDamaged)
        case .ledger:
            self =
                error.ledgerError.map(ServedLedger.problem)
                ?? Problem(.internalServerError, "ledger-unavailable", "Ledger unavailable", detail: message)
        case .accountNotFound, .reservationNotFound:
            self = Problem(.notFound, error.code.name, Self.title(error.code), detail: message)
        case .currencyMismatch:
            self = Problem(.unprocessableContent, error.code.name, Self.title(error.code), detail: message)
        case .existsWithDifferentFields, .confirmed, .expired:
            self = Problem(.conflict, error.code.name, Self.title(error.code), detail: message)
        case .storeUnavailable:
            self = Problem(.serviceUnavailable, error.code.name, Self.title(error.code), detail: message)
        default: self = Problem(.badRequest, error.code.name, Self.title(error.code), detail: message)
        }
    }

    private static func title(_ code: BookingError.Code) -> String {
        switch code {
        case .invalidPhone: "Invalid phone number"
        case .invalidEmail: "Invalid email"
        case .invalidProviderTransactionId: "Invalid provider transaction id"
        case .accountNotFound: "Account not found"
        case .reservationNotFound: "Reservation not found"
        case .existsWithDifferentFields: "Reservation exists"
        case .confirmed: "Reservation confirmed"
        case .expired: "Reservation expired"
        case .storeUnavailable: "Store unavailable"
        default:
            // The code's words: `invalid-payment-window` is "Invalid payment window".
            code.name.split(separator: "-").enumerated().map { $0 == 0 ? $1.capitalized : String($1) }
                .joined(separator: " ")
        }
    }
}
