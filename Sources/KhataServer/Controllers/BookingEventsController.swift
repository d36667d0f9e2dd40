import Bookings
import Hummingbird
import JobStore
import Ledger
import LedgerCore

/// `GET /v1/ledger/booking-events`: what happened to reservations, read from the committed log
/// in order, for the notification job wherever it runs (it keeps its own cursor, `after`).
struct BookingEventsController: APIController {
    typealias D = OpenAPIDocument
    let ledger: ServedLedger

    /// The most log records one call reads.
    static let maximumRecords = 100_000

    var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/v1/ledger/booking-events", scope: .read,
                OpenAPIOperation(
                    summary: "Reservations created, confirmed, cancelled, expired and refunded, from the committed log",
                    parameters: [
                        D.queryParameter(
                            "after",
                            [
                                "type": "string", "pattern": "^[0-9]{1,20}$",
                                "description":
                                    "Read the log after this sequence (the last answer's through); default 0",
                            ]),
                        D.limitParameter(maximum: Self.maximumRecords),
                    ], answers: [(200, D.answer("The events and the last sequence read", "BookingEventPage"))],
                    problems: [400, 500])
            ) { request, _ in
                let query = request.uri.queryParameters
                let after: UInt64 = try PathValues.digits(
                    query["after"], fallback: 0, field: "after", kind: "invalid-cursor", title: "Invalid cursor",
                    rule: "must be a log sequence in digits")
                let limit = try PathValues.limit(query["limit"], fallback: 10_000, maximum: Self.maximumRecords)
                let page = try BookingEvents.read(from: ledger.ledger, after: after, limit: limit)
                return try JSONResponse.make(BookingEventPageAnswer(page))
            }
        ]
    }
}

/// A `BookingEventPage` as JSON: 64-bit numbers as strings, like every id and amount the API
/// answers.
struct BookingEventPageAnswer: Encodable {
    struct Item: Encodable {
        let kind: String
        let sequence: String
        let subjectSequence: String
        let holdId: String
        let amountMinor: String
        let currency: String
        let occurredAtNanoseconds: String
        let windowEndsAtNanoseconds: String
    }

    let events: [Item]
    let through: String
    let logEnd: String

    init(_ page: BookingEventPage) {
        events = page.events.map { event in
            Item(
                kind: event.kind.rawValue, sequence: String(event.sequence),
                subjectSequence: String(event.subjectSequence), holdId: String(event.holdId),
                amountMinor: String(event.amountMinor), currency: event.currency,
                occurredAtNanoseconds: String(event.occurredAtNanoseconds),
                windowEndsAtNanoseconds: String(event.windowEndsAtNanoseconds))
        }
        through = String(page.through)
        logEnd = String(page.logEnd)
    }
}
