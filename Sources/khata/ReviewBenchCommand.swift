import ArgumentParser
import Dispatch
import Foundation
import JobStore
import Reconciliation
import ReviewPages

/// `khata bench review`: what the finance review reads from a large run.
struct ReviewBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "A run of many mismatches: its first page, its review pages, its CSV report (rows/s).",
        discussion: """
            Records one reconciliation run of --mismatches mismatches in a scratch job store \
            (SQLite, or PostgreSQL with --database-url) through the job's own path, then times, as \
            medians: the run's first page of 100 mismatches as the store answers it (what the API's \
            mismatches route reads), a page deep in the run (after the middle), the review pages' \
            run page and first mismatches page as HTML (the store's reads and the rendering, all the \
            work of /ui/runs/{id} and /ui/runs/{id}/mismatches but the socket), and the whole CSV \
            report written to memory a page of mismatches at a time (what report.csv streams). \
            Recording the run is not counted. With --keep and --dir (SQLite), the directory is \
            kept: `khata serve --data-dir DIR` then serves the run, to measure the pages over HTTP \
            (scripts/bench-review-http.sh does).
            """)

    @OptionGroup var store: BenchStoreOptions

    @Option(help: "Mismatches in the run.")
    var mismatches = 100_000

    @Option(help: "Runs; figures are medians.")
    var runs = 5

    @OptionGroup var output: BenchOutputOptions

    @Flag(help: "Keep --dir and its job store (SQLite only), to serve the run afterwards.")
    var keep = false

    func validate() throws {
        guard !keep || (output.dir != nil && store.databaseUrl == nil && environment("KHATA_DATABASE_URL") == nil)
        else {
            throw ValidationError("--keep needs --dir and the embedded store (no --database-url)")
        }
        guard (1...10_000_000).contains(mismatches) else {
            throw ValidationError("--mismatches must be 1...10,000,000")
        }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        let directory = try output.scratchDirectory()
        defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }
        let (database, schema) = try await self.store.open(in: directory)
        defer { schema?.drop() }
        let store = Mismatches(database: database)
        let runId = try await store.startRun(
            provider: "bkash", settlementDate: "2026-11-30", windowStart: "2026-11-27", windowEnd: "2026-11-30",
            inputSHA256: "bench", inputFiles: [], runBy: "bench", jobRunId: nil, at: 1_795_996_800_000_000_000)
        let categories: [MismatchCategory] = [.amountMismatch, .feeMismatch, .missingInLedger, .lateSettlement]
        let found = (0..<mismatches).map { number in
            let category = categories[number % categories.count]
            return NewMismatch(
                category: category, identity: "bkash:txn:TX\(number)", settlementFileId: 1,
                settlementSourceLine: number + 2, ourReference: "KH\(String(number, radix: 16))",
                providerTxnId: "TX\(number)", ledgerTransferId: String(number + 1), currency: "BDT",
                ledgerMinor: Int64(150_000 + number), providerMinor: Int64(150_001 + number), feeMinor: 2_775,
                contractedFeeMinor: 2_775, netMinor: Int64(147_226 + number),
                fields: [
                    MismatchField(
                        name: "amount", ledger: ReconciliationMatcher.major(Int64(150_000 + number), "BDT"),
                        provider: ReconciliationMatcher.major(Int64(150_001 + number), "BDT"))
                ], detail: "amount differs")
        }
        let totals = categories.enumerated().map { index, category in
            let count = (mismatches + categories.count - 1 - index) / categories.count
            return ReconciliationTotal(
                category: category.rawValue, currency: "BDT", count: count, amountMinor: Int64(count) * 150_000)
        }
        _ = try await store.finishRun(
            id: runId, provider: "bkash",
            findings: ReconciliationFindings(
                mismatches: found, settled: [], totals: totals, linesRead: mismatches, matchedCount: 0,
                carriedCount: 0, clearedCount: 0),
            at: 1_795_996_900_000_000_000)
        // Statistics, as the database's own maintenance would gather them soon after a run this
        // size (autovacuum on PostgreSQL): the plans measured are the ones a live store uses.
        try await database.perform { connection in try connection.execute("ANALYZE") }
        var firstPage: [Double] = []
        var deepPage: [Double] = []
        var report: [Double] = []
        var runPage: [Double] = []
        var mismatchesPage: [Double] = []
        var reportBytes = 0
        var pageBytes = 0
        let pages = ReviewPages()
        let viewer = Viewer(name: "bench", scopes: "finance", csrf: String(repeating: "0", count: 64), canReview: true)
        let middle = try await store.page(runId: runId, after: 0, limit: 1_000).mismatches.first?.id ?? 0
        for _ in 0..<runs {
            var start = DispatchTime.now().uptimeNanoseconds
            let page = try await store.page(runId: runId, limit: 100)
            firstPage.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard page.mismatches.count == min(100, mismatches) else { throw CommandFailure("the first page is short") }
            start = DispatchTime.now().uptimeNanoseconds
            _ = try await store.page(runId: runId, after: middle + Int64(mismatches / 2), limit: 100)
            deepPage.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            // The review pages: what their handlers do, store reads included, but the socket.
            start = DispatchTime.now().uptimeNanoseconds
            guard let run = try await store.run(id: runId) else { throw CommandFailure("the run is gone") }
            var sameDate = [(run: run, totals: try await store.totals(runId: runId))]
            for provider in ["nagad", "sslcommerz"] {
                if let other = try await store.runs(
                    provider: provider, from: run.settlementDate, to: run.settlementDate, before: nil, limit: 1
                ).first {
                    sameDate.append((other, try await store.totals(runId: other.id)))
                }
            }
            let runHTML = pages.run(run, totals: sameDate[0].totals, sameDate: sameDate, viewer: viewer)
            runPage.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            start = DispatchTime.now().uptimeNanoseconds
            let firstHTML = pages.mismatches(
                run: run, page: try await store.page(runId: runId, limit: 100), category: nil, state: nil, after: nil,
                viewer: viewer)
            mismatchesPage.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            pageBytes = runHTML.utf8.count + firstHTML.utf8.count
            start = DispatchTime.now().uptimeNanoseconds
            var bytes = 0
            _ = try await RunReport(database: database).write(runId: runId, format: .csv) { bytes += $0.count }
            report.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            reportBytes = bytes
        }
        let first = ImportBenchCommand.median(firstPage)
        let deep = ImportBenchCommand.median(deepPage)
        let csv = ImportBenchCommand.median(report)
        let runHTML = ImportBenchCommand.median(runPage)
        let mismatchesHTML = ImportBenchCommand.median(mismatchesPage)
        let result: [String: Any] = [
            "mismatches": mismatches, "runs": runs, "firstPageMilliseconds": first * 1_000,
            "runPageHTMLMilliseconds": runHTML * 1_000, "mismatchesPageHTMLMilliseconds": mismatchesHTML * 1_000,
            "pageHTMLBytes": pageBytes,
            "deepPageMilliseconds": deep * 1_000, "csvSeconds": csv, "csvRowsPerSecond": Double(mismatches) / csv,
            "csvBytes": reportBytes, "backend": schema == nil ? "sqlite" : "postgres",
        ]
        if output.json {
            print(LedgerSession.jsonLine(result))
            return
        }
        print(
            "\(LedgerSession.grouped(mismatches)) mismatches (\(schema == nil ? "SQLite" : "PostgreSQL")), median of "
                + "\(runs): first page \(String(format: "%.2f", first * 1_000)) ms, a page past the middle "
                + "\(String(format: "%.2f", deep * 1_000)) ms; review pages as HTML: run page "
                + "\(String(format: "%.2f", runHTML * 1_000)) ms, first mismatches page "
                + "\(String(format: "%.2f", mismatchesHTML * 1_000)) ms; CSV report \(String(format: "%.3f", csv)) s = "
                + "\(LedgerSession.grouped(Int(Double(mismatches) / csv))) rows/s (\(reportBytes / 1_048_576) MiB)")
    }
}
