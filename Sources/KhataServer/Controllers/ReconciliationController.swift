import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import LedgerCore
import Reconciliation
import ReviewPages
import Scheduler

/// `/v1/reconciliation/runs` and `/v1/mismatches`: the finance team's review of each night's
/// reconciliation: runs with their totals, their mismatches page by page, one mismatch with the
/// line and the ledger transfer it concerns and its history, and the changes a reviewer makes
/// (acknowledge, resolve, reopen), each checked against the state the reviewer saw.
struct ReconciliationController: APIController {
    typealias D = OpenAPIDocument
    let database: JobDatabase
    let reviewer: MismatchReviewer
    let ledger: ServedLedger
    let bodies: BodyReader
    let auth: Authenticator
    let now: @Sendable () -> UInt64
    let pages: ReviewPages

    var routes: [APIRoute] {
        let idParameter = D.pathParameter("id", ["type": "string", "pattern": "^[1-9][0-9]{0,17}$"])
        return [
            APIRoute(
                .get, "/v1/reconciliation/runs", scope: .read,
                OpenAPIOperation(
                    summary: "Reconciliation runs, newest first",
                    parameters: [
                        D.queryParameter("provider", ["type": "string", "description": "Only this provider's runs"]),
                        D.queryParameter(
                            "from", ["type": "string", "format": "date", "description": "Settled on or after"]),
                        D.queryParameter(
                            "to", ["type": "string", "format": "date", "description": "Settled on or before"]),
                        D.queryParameter("before", ["type": "string", "description": "A page's `next`"]),
                        D.limitParameter(maximum: 200),
                    ], answers: [(200, D.answer("A page of runs", "ReconciliationRuns"))], problems: [400, 503])
            ) { request, _ in try await runs(request.uri.queryParameters) },
            APIRoute(
                .get, "/v1/reconciliation/runs/{id}", scope: .read,
                OpenAPIOperation(
                    summary: "A run with its totals per category and currency", parameters: [idParameter],
                    answers: [(200, D.answer("The run", "ReconciliationRun"))], problems: [400, 404, 503])
            ) { _, context in try await run(try Self.number(context.pathParameter("id"), "run")) },
            APIRoute(
                .get, "/v1/reconciliation/runs/{id}/mismatches", scope: .read,
                OpenAPIOperation(
                    summary: "The mismatches a run found, a page at a time",
                    parameters: [
                        idParameter,
                        D.queryParameter(
                            "category",
                            ["type": "string", "enum": .array(MismatchCategory.allCases.map { .string($0.rawValue) })]),
                        D.queryParameter(
                            "state",
                            ["type": "string", "enum": .array(MismatchState.allCases.map { .string($0.rawValue) })]),
                        D.queryParameter("after", ["type": "string", "description": "A page's `next`"]),
                        D.limitParameter(),
                    ], answers: [(200, D.answer("A page of mismatches", "MismatchPage"))], problems: [400, 404, 503])
            ) { request, context in
                try await mismatches(
                    run: try Self.number(context.pathParameter("id"), "run"), request.uri.queryParameters)
            },
            APIRoute(
                .get, "/v1/reconciliation/runs/{id}/report.csv", scope: .read,
                OpenAPIOperation(
                    summary: "The run's report as CSV for Excel and LibreOffice (streamed)", parameters: [idParameter],
                    answers: [
                        (
                            200,
                            D.json(["type": "string"], type: "text/csv").adding([
                                ("description", "UTF-8 with a byte-order mark, CRLF, formulas neutralised")
                            ])
                        )
                    ], problems: [400, 404, 503])
            ) { _, context in try await report(try Self.number(context.pathParameter("id"), "run"), "csv") },
            APIRoute(
                .get, "/v1/reconciliation/runs/{id}/report.html", scope: .read,
                OpenAPIOperation(
                    summary: "The run's report as one printable web page, needing nothing else (streamed)",
                    parameters: [idParameter],
                    answers: [
                        (
                            200,
                            D.json(["type": "string"], type: "text/html").adding([
                                ("description", "UTF-8 HTML with its stylesheet inline (print rules included)")
                            ])
                        )
                    ], problems: [400, 404, 503])
            ) { _, context in try await report(try Self.number(context.pathParameter("id"), "run"), "html") },
            APIRoute(
                .get, "/v1/reconciliation/runs/{id}/report.json", scope: .read,
                OpenAPIOperation(
                    summary: "The run's report as JSON (streamed)", parameters: [idParameter],
                    answers: [(200, D.answer("The report", "RunReport"))], problems: [400, 404, 503])
            ) { _, context in try await report(try Self.number(context.pathParameter("id"), "run"), "json") },
            APIRoute(
                .get, "/v1/mismatches", scope: .read,
                OpenAPIOperation(
                    summary: "Mismatches of a payment reference or a provider transaction id",
                    parameters: [
                        D.queryParameter(
                            "search", ["type": "string", "description": "The reference or transaction id"])
                    ], answers: [(200, D.answer("The mismatches, newest first", "Mismatches"))], problems: [400, 503])
            ) { request, _ in try await search(request.uri.queryParameters) },
            APIRoute(
                .get, "/v1/mismatches/{id}", scope: .read,
                OpenAPIOperation(
                    summary: "A mismatch: the fields side by side, its line, its ledger transfer, its history",
                    parameters: [idParameter],
                    answers: [(200, D.answer("The mismatch", "MismatchDetail"))], problems: [400, 404, 503])
            ) { _, context in try await detail(try Self.number(context.pathParameter("id"), "mismatch")) },
        ]
            + [
                ("acknowledge", MismatchState.acknowledged, "Acknowledge a mismatch: someone is on it"),
                ("resolve", .resolved, "Resolve a mismatch with a kind and a note; money kinds post to the ledger"),
                ("reopen", .open, "Reopen a mismatch; a resolution's postings are reversed"),
            ].map { action, next, summary in
                APIRoute(
                    .post, "/v1/mismatches/{id}/\(action)", scope: .finance,
                    OpenAPIOperation(
                        summary: summary, parameters: [idParameter], body: "MismatchReview",
                        answers: [(200, D.answer("The mismatch after the change", "MismatchDetail"))],
                        problems: [400, 404, 409, 413, 422, 503])
                ) { request, context in
                    let key = try await auth.authorize(request, .finance)
                    let id = try Self.number(context.pathParameter("id"), "mismatch")
                    let body = try MismatchReviewRequest.parse(try await bodies.read(request), action: action)
                    return try await review(
                        id: id, body: body, next: next, actor: key.name.isEmpty ? key.id : key.name)
                }
            }
    }

    // MARK: Reading

    func runs(_ query: Parameters) async throws -> Response {
        let limit = try PathValues.limit(query["limit"], fallback: 50, maximum: 200)
        let before: Int64? = try query["before"].map { try PathValues.cursor($0) }
        let from = try query["from"].map { try Self.date($0, "from") }
        let to = try query["to"].map { try Self.date($0, "to") }
        let store = Mismatches(database: database)
        let runs = try await storeCall {
            try await store.runs(
                provider: query["provider"].map(String.init), from: from, to: to, before: before, limit: limit + 1)
        }
        let page = runs.prefix(limit)
        var bodies: [ReconciliationRunBody] = []
        for run in page {
            bodies.append(
                ReconciliationRunBody(run, totals: try await storeCall { try await store.totals(runId: run.id) }))
        }
        return try JSONResponse.make(
            ReconciliationRunsBody(runs: bodies, next: runs.count > limit ? page.last.map { String($0.id) } : nil))
    }

    func run(_ id: Int64) async throws -> Response {
        let store = Mismatches(database: database)
        guard let run = try await storeCall({ try await store.run(id: id) }) else {
            throw Problem.notFound("run", "no reconciliation run \(id)")
        }
        return try JSONResponse.make(
            ReconciliationRunBody(run, totals: try await storeCall { try await store.totals(runId: id) }))
    }

    func mismatches(run id: Int64, _ query: Parameters) async throws -> Response {
        let store = Mismatches(database: database)
        guard try await storeCall({ try await store.run(id: id) }) != nil else {
            throw Problem.notFound("run", "no reconciliation run \(id)")
        }
        let category = try query["category"].map { text in
            guard let category = MismatchCategory(rawValue: String(text)) else {
                throw Problem.badRequest(
                    "invalid-category", "Invalid category",
                    "category \"\(JSONInput.echo(String(text)))\" is not one of "
                        + MismatchCategory.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return category
        }
        let state = try query["state"].map { try Self.state(String($0), field: "state") }
        let limit = try PathValues.limit(query["limit"], fallback: 100)
        let after: Int64 = try PathValues.cursor(query["after"])
        let page = try await storeCall {
            try await store.page(runId: id, category: category, state: state, after: after, limit: limit)
        }
        return try JSONResponse.make(
            MismatchPageBody(mismatches: page.mismatches.map(MismatchBody.init), next: page.next.map(String.init)))
    }

    /// The report, streamed a page of mismatches at a time once the run is known to exist.
    func report(_ id: Int64, _ format: String) async throws -> Response {
        try await RunReportResponse.make(database: database, pages: pages, runId: id, format: format, now: now)
    }

    func search(_ query: Parameters) async throws -> Response {
        guard let text = query["search"].map(String.init), !text.isEmpty, text.utf8.count <= 128,
            TextRules.controlProblem(text, what: "a search") == nil
        else {
            throw Problem.badRequest(
                "invalid-search", "Invalid search",
                "search must be a payment reference or a provider transaction id of 1 to 128 bytes")
        }
        let found = try await storeCall { try await Mismatches(database: database).search(text) }
        return try JSONResponse.make(MismatchesBody(mismatches: found.map(MismatchBody.init)))
    }

    func detail(_ id: Int64) async throws -> Response {
        try JSONResponse.make(try await detailBody(id))
    }

    func detailBody(_ id: Int64) async throws -> MismatchDetailBody {
        let store = Mismatches(database: database)
        guard let mismatch = try await storeCall({ try await store.mismatch(id: id) }) else {
            throw Problem.notFound("mismatch", "no mismatch \(id)")
        }
        var line: SettlementLine?
        if let fileId = mismatch.found.settlementFileId, let number = mismatch.found.settlementSourceLine {
            line = try await storeCall {
                try await SettlementLines(database: database).line(SettlementLineKey(fileId: fileId, line: number))
            }
        }
        var transfer: TransferBody?
        if let text = mismatch.found.ledgerTransferId, let transferId = TextRules.id(text),
            let found = try ledger.committedTransfer(transferId)
        {
            transfer = ledger.body(of: found)
        }
        let history = try await storeCall { try await store.reviewHistory(id: id) }
        return MismatchDetailBody(
            mismatch: MismatchBody(mismatch), settlementLine: line.map(SettlementLineBody.init),
            ledgerTransfer: transfer, history: history.map(ReviewEventBody.init))
    }

    // MARK: Changing

    func review(id: Int64, body: MismatchReviewRequest, next: MismatchState, actor: String) async throws -> Response {
        do {
            _ = try await reviewer.review(
                id: id, from: body.expectedState, to: next, resolution: body.resolution, actor: actor,
                note: body.note ?? "", at: now())
        } catch let error as MismatchError {
            throw Self.problem(error)
        } catch let error as ReviewError where error.code == .notApplicable {
            throw Problem(
                .unprocessableContent, "resolution-not-applicable", "Resolution not applicable", detail: error.message)
        } catch let error as ReviewError {
            // The change is recorded; only its posting waits. The answer shows it unposted.
            _ = error
        } catch let error as DatabaseError {
            throw Problem(
                .serviceUnavailable, "store-unavailable", "Store unavailable",
                detail: "the job store failed (\(error.code)); retry with the same request")
        }
        return try JSONResponse.make(try await detailBody(id))
    }

    static func problem(_ error: MismatchError) -> Problem {
        switch error.code {
        case .notFound: Problem.notFound("mismatch", error.message)
        case .changedMeanwhile:
            Problem(.conflict, "mismatch-changed", "Mismatch changed", detail: error.message + "; nothing was changed")
        case .notAllowed: Problem(.conflict, "move-not-allowed", "Move not allowed", detail: error.message)
        default: Problem.badRequest("invalid-review", "Invalid review", error.message)
        }
    }

    // MARK: Values

    static func number(_ text: String, _ what: String) throws -> Int64 {
        guard let value = RequestValues.positiveNumber(text) else {
            throw Problem.badRequest(
                "invalid-id", "Invalid id", "\(what) id \"\(JSONInput.echo(text))\" is not a positive whole number")
        }
        return value
    }

    static func date(_ text: Substring, _ field: String) throws -> String {
        guard let date = RequestValues.date(text) else {
            throw Problem.badRequest(
                "invalid-date", "Invalid date",
                "\(field) \"\(JSONInput.echo(String(text)))\" is not a date (YYYY-MM-DD)")
        }
        return date
    }

    static func state(_ text: String, field: String) throws -> MismatchState {
        guard let state = MismatchState(rawValue: text) else {
            throw JSONInputError(
                .invalidField, field: field,
                "\(field) \"\(JSONInput.echo(text))\" is not one of "
                    + MismatchState.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return state
    }
}

/// What a reviewer sends: the state they saw, a note (required to resolve and reopen), and for
/// a resolve, its kind.
struct MismatchReviewRequest {
    var expectedState: MismatchState
    var note: String?
    var resolution: ResolutionKind?

    static let maximumNoteBytes = 2_000
    static let reader = JSONObjectReader(what: "a review", known: ["expectedState", "note", "resolution"])

    static func parse(_ bytes: [UInt8], action: String) throws -> MismatchReviewRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var expected: MismatchState?
            var note: String?
            var resolution: ResolutionKind?
            try reader.read(&scanner) { scanner, field in
                let text = try scanner.text(field: field)
                switch field {
                case "expectedState": expected = try ReconciliationController.state(text, field: field)
                case "resolution":
                    guard let kind = ResolutionKind(rawValue: text) else {
                        throw JSONInputError(
                            .invalidField, field: field,
                            "resolution \"\(JSONInput.echo(text))\" is not one of "
                                + ResolutionKind.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    resolution = kind
                default:
                    guard acceptableNote(text) else {
                        throw JSONInputError(
                            .invalidField, field: field,
                            "note must be at most \(maximumNoteBytes) bytes of text without control characters "
                                + "(line breaks and tabs are kept)")
                    }
                    note = text
                }
            }
            let request = MismatchReviewRequest(
                expectedState: try reader.required(expected, "expectedState"), note: note, resolution: resolution)
            if let broken = request.brokenRule(action: action) {
                throw JSONInputError(broken.code, field: broken.field, broken.message)
            }
            return request
        }
    }

    /// Whether `text` may be a note: at most `maximumNoteBytes`, no control characters other than
    /// line breaks and tabs.
    static func acceptableNote(_ text: String) -> Bool {
        text.utf8.count <= maximumNoteBytes
            && text.unicodeScalars.allSatisfy { scalar in
                scalar == "\n" || scalar == "\t"
                    || (scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value) && scalar.value != 0x2028
                        && scalar.value != 0x2029)
            }
    }

    /// The rule of `action` this request breaks, if any: a note is required to resolve and to
    /// reopen, a resolve needs a resolution kind, and only a resolve takes one. The API and the
    /// review pages both ask this.
    func brokenRule(action: String) -> (code: JSONInputError.Kind, field: String, message: String)? {
        if action != "acknowledge", (note ?? "").allSatisfy(\.isWhitespace) {
            return (.missingField, "note", "note is required to \(action) a mismatch: say why")
        }
        if action == "resolve", resolution == nil {
            return (
                .missingField, "resolution",
                "resolution is required: one of " + ResolutionKind.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        if action != "resolve", resolution != nil {
            return (.unknownField, "resolution", "only a resolve takes a resolution")
        }
        return nil
    }
}
