import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import LedgerCore
import NIOCore
import Reconciliation
import ReviewPages
import Scheduler

/// The pages' handlers: each reads the store as the API does and renders a page.
extension ReviewUIController {
    func runs(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let query = try WebForm.query(request)
        let provider = query.nonEmpty("provider")
        if let provider, !ReviewPages.providers.contains(provider) {
            throw WebFormError(
                "provider \(WebForm.echo(provider)) is not one of " + ReviewPages.providers.joined(separator: ", "))
        }
        let from = try query.nonEmpty("from").map { try Self.date($0, "from") }
        let to = try query.nonEmpty("to").map { try Self.date($0, "to") }
        let before = try query.nonEmpty("before").map { try Self.number($0, "before") }
        let limit = 50
        let found = try await Mismatches(database: database).runs(
            provider: provider, from: from, to: to, before: before, limit: limit + 1)
        let shown = Array(found.prefix(limit))
        let older =
            found.count > limit
            ? shown.last.map { last in
                "/ui/runs"
                    + queryString([("provider", provider), ("from", from), ("to", to), ("before", String(last.id))])
            } : nil
        return Self.html(pages.runs(shown, provider: provider, from: from, to: to, olderLink: older, viewer: viewer))
    }

    func run(_ id: Int64, _ viewer: Viewer) async throws -> Response {
        let store = Mismatches(database: database)
        guard let run = try await store.run(id: id) else { throw Problem.notFound("run", "There is no run \(id).") }
        let totals = try await store.totals(runId: id)
        // The same settlement date's latest run of every other provider, beside this one.
        var sameDate: [(run: ReconciliationRun, totals: [ReconciliationTotal])] = []
        for provider in ReviewPages.providers {
            if provider == run.provider {
                sameDate.append((run, totals))
            } else if let other = try await store.runs(
                provider: provider, from: run.settlementDate, to: run.settlementDate, before: nil, limit: 1
            ).first {
                sameDate.append((other, try await store.totals(runId: other.id)))
            }
        }
        return Self.html(pages.run(run, totals: totals, sameDate: sameDate, viewer: viewer))
    }

    func mismatches(run id: Int64, _ request: Request, _ viewer: Viewer) async throws -> Response {
        let query = try WebForm.query(request)
        let store = Mismatches(database: database)
        guard let run = try await store.run(id: id) else { throw Problem.notFound("run", "There is no run \(id).") }
        let category = try query.nonEmpty("category").map { text in
            guard let category = MismatchCategory(rawValue: text) else {
                throw WebFormError("category \(WebForm.echo(text)) is not a category of mismatch")
            }
            return category
        }
        let state = try query.nonEmpty("state").map { text in
            guard let state = MismatchState(rawValue: text) else {
                throw WebFormError("state \(WebForm.echo(text)) is not open, acknowledged or resolved")
            }
            return state
        }
        let after = try query.nonEmpty("after").map { try Self.number($0, "after") }
        let page = try await store.page(
            runId: id, category: category, state: state, after: after ?? 0, limit: pageSize)
        return Self.html(
            pages.mismatches(run: run, page: page, category: category, state: state, after: after, viewer: viewer))
    }

    /// A run's report, streamed: the HTML page, or the CSV and JSON the API also serves.
    func report(_ id: Int64, format: String) async throws -> Response {
        try await RunReportResponse.make(database: database, pages: pages, runId: id, format: format, now: now)
    }

    func mismatch(
        _ id: Int64, _ viewer: Viewer, flash: Flash?, status: HTTPResponse.Status, form: ReviewFormEcho? = nil
    ) async throws -> Response {
        let store = Mismatches(database: database)
        guard let mismatch = try await store.mismatch(id: id) else {
            throw Problem.notFound("mismatch", "There is no mismatch \(id).")
        }
        var line: SettlementLine?
        if let fileId = mismatch.found.settlementFileId, let number = mismatch.found.settlementSourceLine {
            line = try await SettlementLines(database: database).line(SettlementLineKey(fileId: fileId, line: number))
        }
        var transfer: [LabelledValue] = []
        if let text = mismatch.found.ledgerTransferId, let transferId = TextRules.id(text),
            let found = try ledger.committedTransfer(transferId)
        {
            let body = ledger.body(of: found)
            transfer = [
                LabelledValue("Transfer", body.id), LabelledValue("From (debit)", body.debitAccount),
                LabelledValue("To (credit)", body.creditAccount),
                LabelledValue("Amount", Display.money(Int64(clamping: found.fields.amountMinor), body.currency)),
                LabelledValue("State", body.state), LabelledValue("Reference", body.reference),
                LabelledValue("Committed", Display.dhaka(UTCTime.text(nanoseconds: body.timestamp))),
            ]
            if body.refunded != "0" && !body.refunded.isEmpty {
                transfer.append(LabelledValue("Refunded", body.refunded + " " + body.currency))
            }
        }
        let history = try await store.reviewHistory(id: id)
        return Self.html(
            pages.mismatch(
                mismatch, line: line, transfer: transfer, history: history, viewer: viewer, flash: flash, form: form),
            status: status)
    }

    /// A reviewer's change from a form: checked as the API checks it, recorded with the key's
    /// name, then the browser is sent back to the mismatch (303, so a reload does not repeat it).
    /// A refused change shows the mismatch as it now is, the reason, and what was typed.
    func review(
        _ id: Int64, action: String, next: MismatchState, _ request: Request, _ viewer: Viewer,
        _ session: ReviewSession
    ) async throws -> Response {
        let form = try await WebForm.read(request)
        guard Self.csrfMatches(form, session) else {
            return Self.html(
                pages.error(
                    heading: "Not changed",
                    message: "The form had expired or did not come from this page; nothing was changed. "
                        + "Open the mismatch again and repeat the change.",
                    viewer: viewer, link: "/ui/mismatches/\(id)", linkText: "Back to mismatch \(id)"),
                status: .forbidden)
        }
        var echo = ReviewFormEcho()
        let note = form["note"] ?? ""
        switch action {
        case "acknowledge": echo.acknowledgeNote = note
        case "resolve": echo.resolveNote = note
        default: echo.reopenNote = note
        }
        func refused(_ text: String, _ status: HTTPResponse.Status) async throws -> Response {
            try await mismatch(id, viewer, flash: .error(text), status: status, form: echo)
        }
        guard let expectedText = form["expectedState"], let expected = MismatchState(rawValue: expectedText) else {
            return try await refused("The form did not say which state you saw; nothing was changed.", .badRequest)
        }
        var resolution: ResolutionKind?
        if let text = form.nonEmpty("resolution") {
            guard let kind = ResolutionKind(rawValue: text) else {
                return try await refused("\(WebForm.echo(text)) is not a kind of resolution.", .badRequest)
            }
            resolution = kind
            echo.resolution = kind
        }
        guard MismatchReviewRequest.acceptableNote(note) else {
            return try await refused(
                "A note is at most \(MismatchReviewRequest.maximumNoteBytes) bytes of text; nothing was changed.",
                .badRequest)
        }
        let wanted = MismatchReviewRequest(expectedState: expected, note: note, resolution: resolution)
        if let broken = wanted.brokenRule(action: action) {
            return try await refused(Self.sentence(broken.message) + "; nothing was changed.", .badRequest)
        }
        do {
            _ = try await reviewer.review(
                id: id, from: expected, to: next, resolution: resolution, actor: viewer.name, note: note, at: now())
        } catch let error as MismatchError where error.code == .notFound {
            throw Problem.notFound("mismatch", "There is no mismatch \(id).")
        } catch let error as MismatchError where error.code == .changedMeanwhile {
            return try await refused(
                "While you were looking, someone else changed this mismatch (it is now "
                    + "\(error.to.map(\.rawValue) ?? "different")). Nothing was changed: here it is as it stands.",
                .conflict)
        } catch let error as MismatchError {
            return try await refused(Self.sentence(error.message) + "; nothing was changed.", .conflict)
        } catch let error as ReviewError where error.code == .notApplicable {
            return try await refused(Self.sentence(error.message) + "; nothing was changed.", .unprocessableContent)
        } catch let error as ReviewError {
            // Recorded; only the ledger posting waits, and it is retried. The page shows it waiting.
            _ = error
        }
        return Self.redirect("/ui/mismatches/\(id)?done=\(action)")
    }

    func search(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let text = try WebForm.query(request).nonEmpty("q")?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !text.isEmpty else { return Self.html(pages.search(query: "", found: nil, viewer: viewer)) }
        guard text.utf8.count <= 128, !text.contains("\n"), !text.contains("\t") else {
            throw WebFormError("a search is a payment reference or a provider transaction id of 1 to 128 bytes")
        }
        let found = try await Mismatches(database: database).search(text)
        return Self.html(pages.search(query: text, found: found, viewer: viewer))
    }

    // MARK: Answers

    /// Headers every page carries: never cached (they show money and who changed it), never
    /// framed, nothing loaded from elsewhere, no script at all.
    static let pageHeaders: HTTPFields = {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        headers[.init("X-Frame-Options")!] = "DENY"
        return headers
    }()

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: pageHeaders, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// 303 See Other: the browser follows with a GET, so a reload never repeats a form.
    static func redirect(_ location: String) -> Response {
        var headers = pageHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func stylesheet() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "public, max-age=3600"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(
            status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: Stylesheet.css)))
    }

    static func doneFlash(_ action: String) -> Flash? {
        switch action {
        case "acknowledge": .done("Acknowledged.")
        case "resolve": .done("Resolved; any ledger posting it needs is shown in the history.")
        case "reopen": .done("Reopened; a resolution's postings were reversed.")
        default: nil
        }
    }

    static func id(_ context: KhataRequestContext, _ what: String) throws -> Int64 {
        let text = try context.parameters.require("id")
        return try number(text, what)
    }

    static func number(_ text: some StringProtocol, _ what: String) throws -> Int64 {
        guard let value = RequestValues.positiveNumber(text) else {
            throw WebFormError("\(what) \(WebForm.echo(String(text))) is not a positive whole number")
        }
        return value
    }

    static func date(_ text: String, _ field: String) throws -> String {
        guard let date = RequestValues.date(text) else {
            throw WebFormError("\(field) \(WebForm.echo(text)) is not a date (YYYY-MM-DD)")
        }
        return date
    }

    static func sentence(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    static func message(_ error: any Error) -> String {
        (error as? WebFormError)?.message ?? "the form could not be read"
    }
}
