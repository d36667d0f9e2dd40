import Hummingbird
import JobStore
import Ledger
import LedgerCore

/// The holds' side of the ledger for the expiry job, wherever it runs: which holds are due, and
/// expiring them (an `expirePending` event each, so that a hold reads `EXPIRED`, never
/// `CANCELLED`).
struct HoldsController: APIController {
    typealias D = OpenAPIDocument
    let ledger: ServedLedger
    let bodies: BodyReader
    let now: @Sendable () -> UInt64

    var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/v1/holds/due", scope: .read,
                OpenAPIOperation(
                    summary: "Holds still pending whose payment window has closed, earliest deadline first",
                    parameters: [
                        D.queryParameter(
                            "atNanoseconds",
                            [
                                "type": "string", "pattern": "^[0-9]{1,20}$",
                                "description": "Due at this time, in nanoseconds since the Unix epoch; default now",
                            ]),
                        D.limitParameter(maximum: 8_190),
                    ], answers: [(200, D.answer("The due holds' ids", "DueHolds"))], problems: [400])
            ) { request, _ in
                let query = request.uri.queryParameters
                return try due(at: query["atNanoseconds"], limit: query["limit"])
            },
            APIRoute(
                .post, "/v1/holds/expire", scope: .post,
                OpenAPIOperation(
                    summary: "Expire holds whose payment window has closed, as one batch, with a result per hold",
                    body: "ExpireRequest", answers: [(200, D.answer("A result per hold", "BatchAnswer"))],
                    problems: [400, 413, 500, 503])
            ) { request, _ in try await expire(request) },
        ]
    }

    func due(at atText: Substring?, limit limitText: Substring?) throws -> Response {
        let at = try PathValues.digits(
            atText, fallback: now(), field: "atNanoseconds", kind: "invalid-time", title: "Invalid time",
            rule: "must be nanoseconds since 1970 in digits")
        let maximum = ledger.ledger.configuration.maximumBatchEvents
        let limit = try PathValues.limit(limitText, fallback: 1_000, maximum: maximum)
        return try JSONResponse.make(DueHoldsAnswer(ids: ledger.ledger.dueHolds(at: at, limit: limit).map(String.init)))
    }

    func expire(_ request: Request) async throws -> Response {
        let body = try ExpireRequest.parse(
            try await bodies.read(request), maximumEvents: ledger.ledger.configuration.maximumBatchEvents)
        let results = try await ledger.submitBatch(body.ids.map { .expirePending(pendingId: $0) })
        let items = zip(body.ids, results).map { id, result in
            BatchItem(
                id: String(id), result: String(describing: result.code), code: result.code.rawValue,
                timestamp: result.code.succeeded ? result.timestamp : nil)
        }
        return BatchAnswer(results: items).response()
    }
}

struct DueHoldsAnswer: Encodable { let ids: [String] }
