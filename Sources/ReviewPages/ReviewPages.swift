import JobStore
import Mustache
import Reconciliation

/// The finance review's pages, rendered on the server from the job store's records with
/// Mustache templates compiled into the binary (an installed `khata` needs no files beside it).
/// Every value is HTML-escaped by the templates; the pages need no JavaScript.
public struct ReviewPages: Sendable {
    let library: MustacheLibrary

    /// The providers a run can be of, in the order the pages list them.
    public static let providers = ["bkash", "nagad", "sslcommerz"]

    public init() {
        var library = MustacheLibrary()
        let templates = [
            ("top", LayoutTemplates.top), ("bottom", LayoutTemplates.bottom), ("signIn", LayoutTemplates.signIn),
            ("error", LayoutTemplates.error), ("runs", LayoutTemplates.runs), ("chart", RunTemplates.chart),
            ("summary", RunTemplates.summary), ("run", RunTemplates.run), ("tableHead", RunTemplates.tableHead),
            ("mismatchTable", RunTemplates.mismatchTable),
            ("rows", RunTemplates.rows), ("mismatches", RunTemplates.mismatches),
            ("reportTop", RunTemplates.reportTop), ("reportBottom", RunTemplates.reportBottom),
            ("mismatch", MismatchTemplates.mismatch), ("search", MismatchTemplates.search),
            ("notifications", NotificationTemplates.notifications),
        ]
        for (name, text) in templates {
            do {
                try library.register(text, named: name)
            } catch {
                // The templates are part of the program: one that does not parse is a bug, caught by the tests.
                preconditionFailure("the compiled-in template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    func render(_ model: Any, _ template: String) -> String {
        guard let text = library.render(model, withTemplate: template) else {
            preconditionFailure("no template named \(template)")
        }
        return text
    }

    // MARK: Pages

    /// The sign-in form, with the sign-in CSRF token and where to go afterwards.
    public func signIn(csrf: String, next: String, flash: Flash? = nil) -> String {
        render(SignInPage(chrome: Chrome(title: "Sign in", flash: flash), csrf: csrf, next: next), "signIn")
    }

    /// A page that says what went wrong and where to go from here.
    public func error(
        heading: String, message: String, viewer: Viewer?, link: String = "/ui/runs",
        linkText: String = "Back to the runs"
    ) -> String {
        render(
            ErrorPage(
                chrome: Chrome(title: heading, viewer: viewer), heading: heading, message: message, link: link,
                linkText: linkText), "error")
    }

    /// The runs, newest first, with the filter that chose them and the link to the older ones.
    public func runs(
        _ runs: [ReconciliationRun], provider: String?, from: String?, to: String?, olderLink: String?,
        viewer: Viewer, flash: Flash? = nil
    ) -> String {
        let choices =
            [Choice(value: "", label: "Every provider", selected: provider == nil)]
            + Self.providers.map { Choice(value: $0, label: Display.provider($0), selected: provider == $0) }
        let rows = runs.map { run in
            RunsPage.RunRow(
                id: String(run.id), provider: Display.provider(run.provider), settlementDate: run.settlementDate,
                startedAt: Display.dhaka(run.startedAt), outcome: run.outcome, lines: Display.count(run.linesRead),
                matched: Display.count(run.matchedCount), mismatches: Display.count(run.mismatchCount),
                cleared: Display.count(run.clearedCount))
        }
        return render(
            RunsPage(
                chrome: Chrome(title: "Runs", viewer: viewer, flash: flash), providers: choices, from: from ?? "",
                to: to ?? "", filtered: provider != nil || from != nil || to != nil, runs: rows,
                hasRuns: !rows.isEmpty, olderLink: olderLink), "runs")
    }

    /// A run: its facts, its totals as a table and a bar chart, and the same settlement date's
    /// latest run of every provider side by side (`sameDate`, this run among them).
    public func run(
        _ run: ReconciliationRun, totals: [ReconciliationTotal],
        sameDate: [(run: ReconciliationRun, totals: [ReconciliationTotal])], viewer: Viewer
    ) -> String {
        let columns = sameDate.map {
            RunPage.ProviderColumn(name: Display.provider($0.run.provider), runId: String($0.run.id))
        }
        var categories: [String] = []
        for entry in sameDate {
            for total in entry.totals where !categories.contains(total.category) { categories.append(total.category) }
        }
        let order = ReconciliationCategory.allCases.map(\.rawValue)
        categories.sort { (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count) }
        let rows = categories.map { category in
            RunPage.CrossRow(
                label: Display.category(category),
                cells: sameDate.map { entry in
                    let matching = entry.totals.filter { $0.category == category }
                    guard !matching.isEmpty else { return RunPage.Cell(text: "0") }
                    let count = matching.reduce(0) { $0 + $1.count }
                    let amounts = matching.map { Display.money($0.amountMinor, $0.currency) }
                    return RunPage.Cell(text: Display.count(count) + " · " + amounts.joined(separator: ", "))
                })
        }
        let open = "/ui/runs/\(run.id)/mismatches" + queryString([("state", "open")])
        return render(
            RunPage(
                chrome: Chrome(title: "Run \(run.id)", viewer: viewer), id: String(run.id),
                summary: RunSummary(run, totals: totals, links: true), openLink: open,
                hasProviders: sameDate.count > 1, providers: columns, crossRows: rows), "run")
    }

    /// One page of a run's mismatches, with its filter and the links to the first and next pages.
    public func mismatches(
        run: ReconciliationRun, page: MismatchPage, category: MismatchCategory?, state: MismatchState?,
        after: Int64?, viewer: Viewer
    ) -> String {
        let base = "/ui/runs/\(run.id)/mismatches"
        let filter: [(String, String?)] = [("category", category?.rawValue), ("state", state?.rawValue)]
        let categories =
            [Choice(value: "", label: "Every category", selected: category == nil)]
            + MismatchCategory.allCases.map {
                Choice(value: $0.rawValue, label: Display.category($0.rawValue), selected: category == $0)
            }
        let states =
            [Choice(value: "", label: "Every state", selected: state == nil)]
            + MismatchState.allCases.map { Choice(value: $0.rawValue, label: Display.state($0), selected: state == $0) }
        let rows = page.mismatches.map(MismatchRow.init)
        return render(
            MismatchesPage(
                chrome: Chrome(title: "Run \(run.id) mismatches", viewer: viewer), runId: String(run.id),
                provider: Display.provider(run.provider), settlementDate: run.settlementDate, categories: categories,
                states: states, filtered: category != nil || state != nil, hasRows: !rows.isEmpty,
                emptyText: "No mismatch matches.",
                table: MismatchRows(rows: rows), firstLink: after == nil ? nil : base + queryString(filter),
                nextLink: page.next.map { base + queryString(filter + [("after", String($0))]) }), "mismatches")
    }

    /// One mismatch: `transfer` is the ledger transfer it concerns as labelled values (empty when
    /// there is none), `form` what a refused review had typed, `flash` what the last change did.
    public func mismatch(
        _ mismatch: Mismatch, line: SettlementLine?, transfer: [LabelledValue], history: [ReviewEvent],
        viewer: Viewer, flash: Flash? = nil, form: ReviewFormEcho? = nil
    ) -> String {
        render(
            MismatchView(
                mismatch, line: line, transfer: transfer, history: history,
                chrome: Chrome(title: "Mismatch \(mismatch.id)", viewer: viewer, flash: flash), form: form),
            "mismatch")
    }

    /// The search form and, when a search was made, what it found.
    public func search(query: String, found: [Mismatch]?, viewer: Viewer, flash: Flash? = nil) -> String {
        let rows = (found ?? []).map(MismatchRow.init)
        return render(
            SearchPage(
                chrome: Chrome(title: "Search", viewer: viewer, query: query, flash: flash), query: query,
                searched: found != nil, hasRows: !rows.isEmpty,
                emptyText: "No mismatch has that payment reference or provider transaction id.",
                table: MismatchRows(rows: rows)), "search")
    }

    // MARK: The HTML report

    /// The report's opening: a standalone page (its stylesheet inlined) with the run's facts and
    /// totals and the head of the mismatch table.
    func reportTop(_ run: ReconciliationRun, totals: [ReconciliationTotal], writtenAt: String) -> String {
        render(
            ReportHead(
                chrome: Chrome(title: "Run \(run.id) report", inline: true, stylesheet: Stylesheet.css),
                id: String(run.id), summary: RunSummary(run, totals: totals, links: false), writtenAt: writtenAt),
            "reportTop")
    }

    /// Rows of the report's mismatch table.
    func reportRows(_ mismatches: [Mismatch]) -> String {
        render(MismatchRows(rows: mismatches.map(MismatchRow.init)), "rows")
    }

    func reportBottom() -> String { render(Chrome(title: ""), "reportBottom") }
}
