import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Reconciliation
import TestSupport
import Testing

@testable import KhataServer

/// What the review pages show and what their forms do: a reconciled day's run, its mismatches
/// filtered and paged, provider text escaped, hostile queries and forms refused with a page
/// that says why, and the review's changes with their CSRF token, scope and expected state.
@Suite("Review pages' content and forms")
struct ReviewPagesContentTests {
    typealias R = ReviewPagesTests

    static let injected = "<script>window.khataInjected=1</script>"

    static func hostileLine(_ date: some CustomStringConvertible) -> String {
        "\"\(injected)\",P-HOSTILE,KH-HOSTILE-1,payment,100.00,1.85,98.15,BDT,01711XXX000,\(date) 10:00:00,"
            + "Completed,,\(date)"
    }

    @Test("a run, its mismatches filtered and paged, one mismatch, a search: amounts in taka, text escaped")
    func pages() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20, reviewPageSize: 3) { server in
            let date = SettlementDay(server: server, seed: 41).date
            let report = try await MismatchReviewTests.reconciledDay(
                server, seed: 41, extraLines: [Self.hostileLine(date)])
            let (key, _) = try await server.keys.create(name: "Reader", scopes: [.read])
            let (cookie, _) = try await R.signIn(server, key: key)
            let id = report.run.id

            let runs = try await R.request(server, "/ui/runs?provider=bkash&from=\(date)&to=\(date)", cookie: cookie)
            #expect(runs.status == .ok && runs.text.contains("href=\"/ui/runs/\(id)\""))
            let none = try await R.request(server, "/ui/runs?provider=nagad", cookie: cookie)
            #expect(none.text.contains("No run matches."))

            let run = try await R.request(server, "/ui/runs/\(id)", cookie: cookie)
            #expect(run.status == .ok && run.text.contains("<svg class=\"chart\"") && run.text.contains("৳"))
            #expect(run.text.contains("Totals per category") && run.text.contains("Matched"))
            #expect(run.text.range(of: #"৳[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}"#, options: .regularExpression) != nil)
            #expect(!run.text.contains("every provider"))

            // Other providers' runs of the same settlement date show beside it, the latest of each.
            let nagadOld = try await Self.recordRun(server, "nagad", date, [("amount_mismatch", 9, 900)])
            let nagad = try await Self.recordRun(
                server, "nagad", date, [("amount_mismatch", 2, 150_050), ("missing_at_provider", 1, 1_234_500)])
            let ssl = try await Self.recordRun(server, "sslcommerz", date, [("fee_mismatch", 3, 75)])
            let crossed = try await R.request(server, "/ui/runs/\(id)", cookie: cookie)
            #expect(crossed.text.contains("Settlement date \(date), every provider"))
            let linked = Self.matches(#"<th class="num"><a href="/ui/runs/([0-9]+)">"#, in: crossed.text)
            #expect(linked == [String(id), String(nagad), String(ssl)] && !linked.contains(String(nagadOld)))
            let nagadRow = Self.matches(
                #"<tr><td>Missing at the provider</td>((<td class="num">[^<]*</td>)+)</tr>"#, in: crossed.text)
            #expect(nagadRow.first?.contains("<td class=\"num\">1 · ৳12,345.00</td>") == true, "\(nagadRow)")
            let amountRow = Self.matches(
                #"<tr><td>Amount differs</td>((<td class="num">[^<]*</td>)+)</tr>"#, in: crossed.text)
            #expect(amountRow.first?.hasSuffix("<td class=\"num\">2 · ৳1,500.50</td><td class=\"num\">0</td>") == true)
            let fees = Self.matches(#"<tr><td>Fee differs</td>((<td class="num">[^<]*</td>)+)</tr>"#, in: crossed.text)
            #expect(fees.first?.hasSuffix("<td class=\"num\">3 · ৳0.75</td>") == true, "\(fees)")
            // A run of another date does not.
            _ = try await Self.recordRun(server, "nagad", "2020-01-01", [("amount_mismatch", 1, 1)])
            let again = try await R.request(server, "/ui/runs/\(id)", cookie: cookie)
            #expect(Self.matches(#"<th class="num"><a href="/ui/runs/([0-9]+)">"#, in: again.text) == linked)

            // Every mismatch, three at a time, following the pages' own links.
            var seen: [String] = []
            var next: String? = "/ui/runs/\(id)/mismatches"
            while let page = next {
                let answer = try await R.request(server, page, cookie: cookie)
                #expect(answer.status == .ok)
                let ids = Self.matches(#"href="/ui/mismatches/([0-9]+)""#, in: answer.text)
                #expect(ids.count <= 3)
                seen += ids
                next = Self.matches(#"href="([^"]+)">Next page"#, in: answer.text).first?
                    .replacingOccurrences(of: "&amp;", with: "&")
            }
            let stored = try await Mismatches(database: server.database).page(runId: id, limit: 1_000)
            #expect(seen == stored.mismatches.map { String($0.id) })

            let filtered = try await R.request(
                server, "/ui/runs/\(id)/mismatches?category=missing_in_ledger&state=open", cookie: cookie)
            let rows = Self.matches(#"<td>([^<]+)</td>\s*<td><span class="badge"#, in: filtered.text)
            #expect(!rows.isEmpty && rows.allSatisfy { $0 == "Missing in the ledger" })

            // The hostile line: its text is escaped wherever it shows.
            let found = try await R.request(server, "/ui/search?q=KH-HOSTILE-1", cookie: cookie)
            let hostileId = try #require(Self.matches(#"href="/ui/mismatches/([0-9]+)""#, in: found.text).first)
            let detail = try await R.request(server, "/ui/mismatches/\(hostileId)", cookie: cookie)
            for page in [found, detail] {
                #expect(page.text.contains("&lt;script&gt;window.khataInjected=1&lt;/script&gt;"))
                #expect(!page.text.contains("<script"))
            }
            // A read key is offered no form and its changes are refused.
            #expect(!detail.text.contains("<form class=\"review\"") && detail.text.contains("finance scope"))
            let refused = try await R.request(
                server, "/ui/mismatches/\(hostileId)/acknowledge", method: .post, cookie: cookie,
                form: "csrf=x&expectedState=open")
            #expect(refused.status == .forbidden)
            #expect(try await Mismatches(database: server.database).mismatch(id: Int64(hostileId)!)?.state == .open)
        }
    }

    @Test("hostile queries and paths get a page that says what was wrong, and change nothing")
    func hostileQueries() async throws {
        try await TestServer.with { server in
            let (key, _) = try await server.keys.create(name: "Reader", scopes: [.read])
            let (cookie, _) = try await R.signIn(server, key: key)
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("/ui/runs?provider=paypal", .badRequest, "not one of bkash"),
                ("/ui/runs?from=2025-13-40", .badRequest, "is not a date"),
                ("/ui/runs?before=-1", .badRequest, "not a positive whole number"),
                ("/ui/runs?before=99999999999999999999", .badRequest, "not a positive whole number"),
                ("/ui/runs?provider=%ZZ", .badRequest, "malformed percent-escape"),
                ("/ui/runs?provider=%FF", .badRequest, "not valid UTF-8"),
                ("/ui/runs?provider=bkash&provider=nagad", .badRequest, "sent twice"),
                ("/ui/runs?provider=a%00b", .badRequest, "control character"),
                ("/ui/runs/0", .badRequest, "not a positive whole number"),
                ("/ui/runs/12", .notFound, "There is no run 12"),
                ("/ui/runs/12/mismatches", .notFound, "There is no run 12"),
                ("/ui/mismatches/12", .notFound, "There is no mismatch 12"),
                ("/ui/runs/12/report.html", .notFound, "no reconciliation run 12"),
                ("/ui/search?q=" + String(repeating: "x", count: 129), .badRequest, "1 to 128 bytes"),
                ("/ui/nothing/here", .notFound, "Nothing is at /ui/nothing/here"),
            ]
            for (uri, status, words) in cases {
                let page = try await R.request(server, uri, cookie: cookie)
                #expect(page.status == status && page.text.contains(words), "\(uri): \(page.status) \(page.text)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8", "\(uri)")
            }
            let wrongMethod = try await R.request(server, "/ui/runs", method: .delete, cookie: cookie)
            #expect(wrongMethod.status == .methodNotAllowed)
        }
    }

    @Test(
        "reviewing: a change needs its CSRF token; a stale state is 409 and keeps the note; history shows who",
        arguments: Backend.available)
    func reviewing(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(maximumBodyBytes: 1 << 20, jobDatabase: database) { server in
            let report = try await MismatchReviewTests.reconciledDay(server, seed: 43)
            let store = Mismatches(database: server.database)
            let page = try await store.page(runId: report.run.id, category: .amountMismatch, limit: 10)
            let mismatch = try #require(page.mismatches.first)
            let (key, _) = try await server.keys.create(name: "Farida", scopes: [.finance])
            let (cookie, csrf) = try await R.signIn(server, key: key)
            let path = "/ui/mismatches/\(mismatch.id)"
            let shown = try await R.request(server, path, cookie: cookie)
            #expect(
                shown.text.contains("action=\"\(path)/acknowledge\"")
                    && shown.text.contains("action=\"\(path)/resolve\""))
            #expect(!shown.text.contains("action=\"\(path)/reopen\""))

            // Without the token, with another token, twice-sent fields, a huge form: nothing changes.
            for form in [
                "expectedState=open", "csrf=\(String(repeating: "0", count: 64))&expectedState=open",
                "csrf=\(csrf)&csrf=\(csrf)&expectedState=open",
                "csrf=\(csrf)&expectedState=open&note=" + String(repeating: "n", count: 20_000),
            ] {
                let answer = try await R.request(
                    server, path + "/acknowledge", method: .post, cookie: cookie, form: form)
                #expect(answer.status == .forbidden || answer.status == .badRequest, "\(answer.status) \(answer.text)")
            }
            #expect(try await store.mismatch(id: mismatch.id)?.state == .open)

            // A resolve without a note says so and keeps the choice.
            let noNote = try await R.request(
                server, path + "/resolve", method: .post, cookie: cookie,
                form: "csrf=\(csrf)&expectedState=open&resolution=written_off&note=+++")
            #expect(noNote.status == .badRequest && noNote.text.contains("Note is required to resolve"))
            #expect(noNote.text.contains("value=\"written_off\" selected"))

            let note = "Checked+the+bank+statement%3B+%3Cb%3Ewritten+off%3C%2Fb%3E%0D%0Asecond+line"
            let resolved = try await R.request(
                server, path + "/resolve", method: .post, cookie: cookie,
                form: "csrf=\(csrf)&expectedState=open&resolution=written_off&note=\(note)")
            #expect(resolved.status == .seeOther && resolved.location == path + "?done=resolve")
            let after = try await R.request(server, resolved.location ?? path, cookie: cookie)
            #expect(after.text.contains("Resolved; any ledger posting") && after.text.contains("Farida"))
            #expect(after.text.contains("Checked the bank statement; &lt;b&gt;written off&lt;/b&gt;\nsecond line"))
            #expect(after.text.contains("Ledger transfer <code>") && after.text.contains("posted"))
            let history = try await store.reviewHistory(id: mismatch.id)
            #expect(
                history.last?.event.actor == "Farida" && history.last?.event.note.hasSuffix("\nsecond line") == true)

            // The same form again, as a second reviewer who saw it open: 409, the note kept, nothing changed.
            let stale = try await R.request(
                server, path + "/acknowledge", method: .post, cookie: cookie,
                form: "csrf=\(csrf)&expectedState=open&note=on+it")
            #expect(stale.status == .conflict && stale.text.contains("someone else changed this mismatch"))
            #expect(
                stale.text.contains("Your note was not saved") && stale.text.contains("<p class=\"note\">on it</p>"))
            #expect(try await store.reviewHistory(id: mismatch.id).count == history.count)

            // Reopening reverses; the page then offers acknowledge and resolve again.
            let reopened = try await R.request(
                server, path + "/reopen", method: .post, cookie: cookie,
                form: "csrf=\(csrf)&expectedState=resolved&note=wrong+call")
            #expect(reopened.status == .seeOther)
            #expect(try await store.mismatch(id: mismatch.id)?.state == .open)
        }
    }

    @Test("every limit and one past it: a 16 KiB form, a 2,000-byte note, a 128-byte search")
    func limits() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let report = try await MismatchReviewTests.reconciledDay(server, seed: 47)
            let store = Mismatches(database: server.database)
            let mismatch = try #require(try await store.page(runId: report.run.id, limit: 1).mismatches.first)
            let (key, _) = try await server.keys.create(name: "Farida", scopes: [.read, .finance])
            let (cookie, csrf) = try await R.signIn(server, key: key)
            let path = "/ui/mismatches/\(mismatch.id)/acknowledge"
            // A note of 666 Bangla letters (three bytes each) and two ASCII ones: 2,000 bytes.
            let bangla = String(repeating: "ক", count: 666)
            func encoded(_ text: String) -> String { text.utf8.map { String(format: "%%%02X", $0) }.joined() }
            func form(note: String, totalBytes: Int) -> String {
                let head = "csrf=\(csrf)&expectedState=open&note=\(encoded(note))&padding="
                return head + String(repeating: "p", count: totalBytes - head.utf8.count)
            }
            let tooBig = form(note: bangla + "ab", totalBytes: WebForm.maximumBytes + 1)
            let refusedSize = try await R.request(server, path, method: .post, cookie: cookie, form: tooBig)
            #expect(refusedSize.status == .badRequest && refusedSize.text.contains("larger than 16384 bytes"))
            let tooLong = form(note: bangla + "abc", totalBytes: WebForm.maximumBytes)
            let refusedNote = try await R.request(server, path, method: .post, cookie: cookie, form: tooLong)
            #expect(refusedNote.status == .badRequest && refusedNote.text.contains("A note is at most 2000 bytes"))
            #expect(try await store.mismatch(id: mismatch.id)?.state == .open)
            #expect(try await store.reviewHistory(id: mismatch.id).isEmpty)

            let atLimits = form(note: bangla + "ab", totalBytes: WebForm.maximumBytes)
            #expect(atLimits.utf8.count == 16_384)
            let accepted = try await R.request(server, path, method: .post, cookie: cookie, form: atLimits)
            #expect(accepted.status == .seeOther, "\(accepted.status) \(accepted.text)")
            let history = try await store.reviewHistory(id: mismatch.id)
            #expect(history.count == 1 && history.first?.event.note == bangla + "ab")
            #expect(history.first?.event.note.utf8.count == 2_000)

            let search = String(repeating: "x", count: 128)
            let searched = try await R.request(server, "/ui/search?q=\(search)", cookie: cookie)
            #expect(searched.status == .ok && !searched.text.contains("1 to 128 bytes"))
            let oneMore = try await R.request(server, "/ui/search?q=\(search)x", cookie: cookie)
            #expect(oneMore.status == .badRequest && oneMore.text.contains("1 to 128 bytes"))
        }
    }

    @Test("the HTML report: one standalone printable page with every mismatch, over the API and the pages")
    func htmlReport() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let date = SettlementDay(server: server, seed: 45).date
            let report = try await MismatchReviewTests.reconciledDay(
                server, seed: 45, extraLines: [Self.hostileLine(date)])
            let html = try await server.client.execute(
                uri: "/v1/reconciliation/runs/\(report.run.id)/report.html", method: .get
            ) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/html; charset=utf-8")
                return String(buffer: response.body)
            }
            Self.checkStandalone(html, mismatches: report.mismatchIds.count)
            let (key, _) = try await server.keys.create(name: "Reader", scopes: [.read])
            let (cookie, _) = try await R.signIn(server, key: key)
            let page = try await R.request(server, "/ui/runs/\(report.run.id)/report.html", cookie: cookie)
            #expect(page.status == .ok)
            Self.checkStandalone(page.text, mismatches: report.mismatchIds.count)
        }
    }

    /// Records a finished run of `provider` for `date` with these totals (category, count,
    /// amount in poisha) and no mismatches of its own; answers its id.
    static func recordRun(
        _ server: TestServer, _ provider: String, _ date: some CustomStringConvertible, _ totals: [(String, Int, Int64)]
    ) async throws -> Int64 {
        let store = Mismatches(database: server.database)
        let date = String(describing: date)
        let id = try await store.startRun(
            provider: provider, settlementDate: date, windowStart: date, windowEnd: date, inputSHA256: "test",
            inputFiles: [], runBy: "test", jobRunId: nil, at: 1_795_996_800_000_000_000)
        _ = try await store.finishRun(
            id: id, provider: provider,
            findings: ReconciliationFindings(
                mismatches: [], settled: [],
                totals: totals.map {
                    ReconciliationTotal(category: $0.0, currency: "BDT", count: $0.1, amountMinor: $0.2)
                }, linesRead: 0, matchedCount: 0, carriedCount: 0, clearedCount: 0),
            at: 1_795_996_900_000_000_000)
        return id
    }

    /// A report page loads nothing from anywhere, prints, escapes provider text, and lists `mismatches` rows.
    static func checkStandalone(_ html: String, mismatches: Int) {
        #expect(
            html.hasPrefix("<!doctype html>")
                && html.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("</html>"))
        #expect(html.contains("@media print") && html.contains("<style>"))
        #expect(!html.contains("<link") && !html.contains(" src=") && !html.contains("<script"))
        #expect(html.components(separatedBy: "<tr><td><a href=\"/ui/mismatches/").count - 1 == mismatches)
        #expect(html.contains("&lt;script&gt;window.khataInjected=1&lt;/script&gt;"))
    }

    /// The first capture group of every match of `pattern`.
    static func matches(_ pattern: String, in text: String) -> [String] {
        // Safe: the patterns are the tests' own.
        let expression = try! NSRegularExpression(pattern: pattern)
        return expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            guard match.numberOfRanges > 1, let range = Range(match.range(at: 1), in: text) else { return nil }
            return String(text[range])
        }
    }
}
