import JobStore
import Reconciliation

/// A run's facts and totals, as the run page and the HTML report show them.
struct RunSummary {
    var provider: String
    var settlementDate: String
    var outcome: String
    var startedAt: String
    var endedAt: String
    var runBy: String
    var windowStart: String
    var windowEnd: String
    var lines: String
    var matched: String
    var mismatches: String
    var carried: String
    var cleared: String
    var resolved: String
    var inputSHA256: String
    var runError: String?
    var chart: BarChart?
    var totals: [TotalRow]

    struct TotalRow {
        var label: String
        var totalLink: String?
        var currency: String
        var count: String
        var amount: String
    }

    init(_ run: ReconciliationRun, totals unordered: [ReconciliationTotal], links: Bool) {
        // Matched first, then the exceptions in the order the matcher decides them.
        let order = ReconciliationCategory.allCases.map(\.rawValue)
        let totals = unordered.enumerated().sorted { left, right in
            let (a, b) = (
                order.firstIndex(of: left.element.category) ?? order.count,
                order.firstIndex(of: right.element.category) ?? order.count
            )
            return a != b ? a < b : left.offset < right.offset
        }.map(\.element)
        provider = Display.provider(run.provider)
        settlementDate = run.settlementDate
        outcome = run.outcome
        startedAt = Display.dhaka(run.startedAt)
        endedAt = run.endedAt.map(Display.dhaka) ?? "not yet"
        runBy = run.runBy
        windowStart = run.windowStart
        windowEnd = run.windowEnd
        lines = Display.count(run.linesRead)
        matched = Display.count(run.matchedCount)
        mismatches = Display.count(run.mismatchCount)
        carried = Display.count(run.carriedCount)
        cleared = Display.count(run.clearedCount)
        resolved = Display.count(run.resolvedCount)
        inputSHA256 = run.inputSHA256
        runError = run.error
        self.totals = totals.map { total in
            TotalRow(
                label: Display.category(total.category),
                totalLink: links && MismatchCategory(rawValue: total.category) != nil
                    ? "/ui/runs/\(run.id)/mismatches" + queryString([("category", total.category)]) : nil,
                currency: total.currency, count: Display.count(total.count),
                amount: Display.money(total.amountMinor, total.currency))
        }
        chart = totals.isEmpty ? nil : BarChart(runId: run.id, totals: totals)
    }
}

/// The totals per category as horizontal bars, one per category (its currencies summed for the
/// length, listed for the label), on one linear scale so that the bars compare honestly.
struct BarChart {
    var id: String
    var title: String
    var width = 720
    var height: Int
    var bars: [Bar]

    struct Bar {
        var y: Int
        var label: String
        var category: String
        var barX: Int
        var trackWidth: Int
        var barWidth: Int
        var valueX: Int
        var value: String
    }

    static let labelWidth = 190
    static let trackWidth = 300
    static let rowHeight = 24

    init(runId: Int64, totals: [ReconciliationTotal]) {
        id = String(runId)
        title = "Run \(runId): count per category"
        var order: [String] = []
        var counts: [String: Int] = [:]
        var amounts: [String: [String]] = [:]
        for total in totals {
            if counts[total.category] == nil { order.append(total.category) }
            counts[total.category, default: 0] += total.count
            amounts[total.category, default: []].append(Display.money(total.amountMinor, total.currency))
        }
        let largest = max(1, counts.values.max() ?? 1)
        bars = order.enumerated().map { index, category in
            let count = counts[category] ?? 0
            // A category with any items shows at least a sliver, so that it is never mistaken for none.
            let length = count == 0 ? 0 : max(2, count * Self.trackWidth / largest)
            return Bar(
                y: index * Self.rowHeight, label: Display.category(category), category: category,
                barX: Self.labelWidth, trackWidth: Self.trackWidth, barWidth: length,
                valueX: Self.labelWidth + Self.trackWidth + 8,
                value: Display.count(count) + " · " + (amounts[category] ?? []).joined(separator: ", "))
        }
        height = max(1, bars.count) * Self.rowHeight + 4
    }
}

/// The runs list.
struct RunsPage {
    var chrome: Chrome
    var providers: [Choice]
    var from: String
    var to: String
    var filtered: Bool
    var runs: [RunRow]
    var hasRuns: Bool
    var olderLink: String?

    struct RunRow {
        var id: String
        var provider: String
        var settlementDate: String
        var startedAt: String
        var outcome: String
        var lines: String
        var matched: String
        var mismatches: String
        var cleared: String
    }
}

/// One run's page.
struct RunPage {
    var chrome: Chrome
    var id: String
    var summary: RunSummary
    var openLink: String?
    var hasProviders: Bool
    var providers: [ProviderColumn]
    var crossRows: [CrossRow]

    struct ProviderColumn {
        var name: String
        var runId: String
    }

    struct CrossRow {
        var label: String
        var cells: [Cell]
    }

    struct Cell {
        var text: String
    }
}

/// A run's mismatches, one page.
struct MismatchesPage {
    var chrome: Chrome
    var runId: String
    var provider: String
    var settlementDate: String
    var categories: [Choice]
    var states: [Choice]
    var filtered: Bool
    var hasRows: Bool
    var emptyText: String
    var table: MismatchRows
    var firstLink: String?
    var nextLink: String?
}

/// The HTML report's opening.
struct ReportHead {
    var chrome: Chrome
    var id: String
    var summary: RunSummary
    var writtenAt: String
}
