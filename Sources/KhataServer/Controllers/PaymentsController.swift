import Bookings
import Hummingbird
import JSONInput
import JobStore
import Ledger
import LedgerCore

/// `POST /v1/payments/states`: the ledger's side of many reservations' payments at once (the
/// hold's state, the capture and its refunds), for reconciliation in a worker on another machine.
struct PaymentsController: APIController {
    typealias D = OpenAPIDocument
    /// The most bookings one request names.
    static let maximumBookings = 1_000
    let ledger: ServedLedger
    let bodies: BodyReader
    let now: @Sendable () -> UInt64

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/payments/states", scope: .read,
                OpenAPIOperation(
                    summary: "The ledger's side of reservations' payments: hold state, capture, refunds",
                    body: "PaymentStatesRequest",
                    answers: [(200, D.answer("One payment per booking, null when it has no hold", "PaymentStates"))],
                    problems: [400, 413, 500, 503])
            ) { request, _ in try await states(request) }
        ]
    }

    func states(_ request: Request) async throws -> Response {
        let body = try PaymentStatesRequest.parse(try await bodies.read(request), fallbackNow: now())
        let states: [PaymentLedgerState?]
        do {
            states = try PaymentLedgerState.read(
                bookingIds: body.bookingIds, refundsFor: body.refundsFor, in: ledger.ledger, now: body.atNanoseconds)
        } catch {
            throw ServedLedger.problem(error)
        }
        var answer = JSONWriter()
        answer.raw("{\"payments\":[")
        for (index, (bookingId, state)) in zip(body.bookingIds, states).enumerated() {
            if index > 0 { answer.raw(",") }
            guard let state else {
                answer.raw("null")
                continue
            }
            answer.raw("{")
            answer.key("bookingId", first: true)
            answer.string(bookingId)
            answer.key("holdId")
            answer.string(String(state.holdId))
            answer.key("state")
            answer.string(state.state.rawValue)
            answer.key("amountMinor")
            answer.string(String(state.amountMinor))
            if let captureId = state.captureId, let at = state.capturedAtNanoseconds {
                answer.key("captureId")
                answer.string(String(captureId))
                answer.key("capturedAtNanoseconds")
                answer.string(String(at))
            }
            answer.key("refunds")
            answer.raw("[")
            for (position, refund) in state.refunds.enumerated() {
                answer.raw(position == 0 ? "{" : ",{")
                answer.key("id", first: true)
                answer.string(String(refund.id))
                answer.key("amountMinor")
                answer.string(String(refund.amountMinor))
                answer.key("atNanoseconds")
                answer.string(String(refund.atNanoseconds))
                answer.raw("}")
            }
            answer.raw("]}")
        }
        answer.raw("]}")
        return answer.response()
    }
}

/// The bookings whose payments are asked for, and the time that decides whether a pending
/// hold's window has closed.
struct PaymentStatesRequest {
    var bookingIds: [String]
    var refundsFor: Set<String>
    var atNanoseconds: UInt64

    static let reader = JSONObjectReader(
        what: "a payment lookup", known: ["bookingIds", "refundsFor", "atNanoseconds"])

    static func parse(_ bytes: [UInt8], fallbackNow: UInt64) throws -> PaymentStatesRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var ids: [String]?
            var refundsFor: [String] = []
            var at: UInt64?
            try reader.read(&scanner) { scanner, key in
                if key == "bookingIds" {
                    ids = try scanner.textList(field: "bookingIds", maximumCount: PaymentsController.maximumBookings)
                } else if key == "refundsFor" {
                    refundsFor = try scanner.textList(
                        field: "refundsFor", maximumCount: PaymentsController.maximumBookings)
                } else {
                    let text = try scanner.text(field: "atNanoseconds")
                    guard let value = UInt64(text), text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                        throw JSONInputError(
                            .invalidField, field: "atNanoseconds",
                            "atNanoseconds must be nanoseconds since 1970 in digits, not \"\(JSONInput.echo(text))\"")
                    }
                    at = value
                }
            }
            let list = try reader.required(ids, "bookingIds")
            for (field, ids) in [("bookingIds", list), ("refundsFor", refundsFor)] {
                for (index, id) in ids.enumerated() {
                    guard !id.isEmpty, id.utf8.count <= BookingDesk.maximumIdBytes,
                        TextRules.controlProblem(id, what: "a booking id") == nil
                    else {
                        throw JSONInputError(
                            .invalidField, field: "\(field)[\(index)]",
                            "\(field)[\(index)] must be 1 to \(BookingDesk.maximumIdBytes) bytes of text without "
                                + "control characters")
                    }
                }
            }
            return PaymentStatesRequest(
                bookingIds: list, refundsFor: Set(refundsFor), atNanoseconds: at ?? fallbackNow)
        }
    }
}
