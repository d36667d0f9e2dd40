import Foundation
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import Reconciliation
import Scheduler
import SettlementImport
import TestSupport
import Testing

/// A day played through the live API, its settlement files imported in the three dialects, and
/// reconciled: every line and every ledger payment must land in the category its fault says, the
/// matched lines must be cleared in the ledger, and a second run must change nothing.
@Suite("A reconciled day")
struct ReconciliationDayTests {
    @Test("a day of 100,000 settlement lines across three dialects: every fault found, the rest matched and cleared")
    func hundredThousandLines() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let lines = try await Self.reconcile(server, perProvider: 34_700, seed: 20_261_201, large: true)
            #expect(lines >= 100_000)
        }
    }

    @Test(
        "on either job store, with the ledger in process and over its API; a rerun changes nothing",
        arguments: Backend.available)
    func backends(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(maximumBodyBytes: 1 << 20, jobDatabase: database) { server in
            _ = try await Self.reconcile(server, perProvider: 300, seed: 7)
        }
    }

    /// Plays the day, imports its files and reconciles each provider twice; answers the lines read.
    /// A `large` day makes its reservations in process, runs every provider in process and
    /// reruns bKash's only: the small days check the API, the remote ledger and every rerun.
    static func reconcile(_ server: TestServer, perProvider: Int, seed: UInt64, large: Bool = false)
        async throws -> Int
    {
        var day = SettlementDay(server: server, seed: seed)
        try await day.play(perProvider: perProvider, inProcess: large)
        day.makeFiles()
        let folder = TemporaryDirectory()
        defer { folder.remove() }
        let importer = SettlementImporter(store: SettlementLines(database: server.database), clock: server.clock.read)
        var linesRead = 0
        for provider in ReconciliationJob.providers {
            // Safe: makeFiles writes two files for every provider.
            for (number, lines) in day.files[provider]!.enumerated() {
                let path = folder.path + "/\(provider)-\(number).csv"
                try Data(day.text(provider: provider, lines: lines).utf8).write(to: URL(fileURLWithPath: path))
                let summary = try await importer.importFile(
                    path: path, fileName: "\(provider)-\(number).csv", dialect: SettlementDialect.named(provider)!,
                    importedBy: "test")
                #expect(summary.rejectedLines.isEmpty && summary.imported + summary.duplicates == lines.count)
            }
            // Nagad's run reaches the ledger over its API, as a worker on another machine would.
            let remote =
                provider == "nagad" && !large
                ? try RemoteLedger(url: "http://127.0.0.1:\(server.port)", apiKey: server.client.key) : nil
            let access: any LedgerAccess = remote ?? LocalLedger(ledger: server.ledger)
            let job = ReconciliationJob(
                database: server.database, ledger: access, settings: ReconciliationSettings(fees: SettlementDay.fees))
            do {
                linesRead += try await check(
                    job, provider: provider, day: day, server: server, rerun: !large || provider == "bkash")
            } catch {
                try? await remote?.shutdown()
                throw error
            }
            try await remote?.shutdown()
        }
        return linesRead
    }

    /// Runs `provider`'s reconciliation twice and checks both runs against what the day injected.
    static func check(
        _ job: ReconciliationJob, provider: String, day: SettlementDay, server: TestServer, rerun: Bool
    ) async throws -> Int {
        let clearingKey = ClearingAccounts.clearingKey(provider: provider)
        // Safe: the server opens the clearing accounts before it serves.
        let before = server.ledger.account(key: clearingKey)!
        let first = try await job.run(provider: provider, date: day.date, runBy: "test", now: server.clock.now)
        let lines = day.files[provider]!.flatMap { $0 }
        let faults = day.expected[provider]!
        func found(_ report: ReconciliationReport) -> [String] {
            report.items.map { "\($0.line == nil ? $0.paymentReference ?? "" : $0.providerTxnId ?? "") \($0.category)" }
                .sorted()
        }
        #expect(found(first) == faults.map { "\($0.0) \($0.1)" }.sorted())
        let lineFaults = faults.count { $0.1 != .missingAtProvider }
        #expect(first.run.linesRead == lines.count && first.run.matchedCount == lines.count - lineFaults)
        #expect(first.run.carriedCount == day.omitted[provider] && first.run.outcome == "succeeded")
        let matched = first.totals.first { $0.category == "matched" }
        #expect(matched?.count == lines.count - lineFaults)
        let amountItem = try #require(first.items.first { $0.category == .amountMismatch })
        let ledgerAmount = ReconciliationMatcher.major(amountItem.ledgerAmountMinor ?? 0, "BDT")
        #expect(amountItem.fields.map(\.name) == ["amount"] && amountItem.fields[0].ledger == ledgerAmount)
        #expect(amountItem.providerAmountMinor == (amountItem.ledgerAmountMinor ?? 0) + 1)

        // The clearing account gives back the gross of each matched payment and takes back each
        // matched refund: what is left is what the provider still owes.
        let unmatched = Set(faults.filter { $0.1 != .duplicateSettlement }.map(\.0))
        var seen: Set<String> = []
        var expectedChange: Int64 = 0
        var legs = 0
        for line in lines where seen.insert(line.txn).inserted && !unmatched.contains(line.txn) {
            expectedChange += line.kind == "refund" ? line.grossMinor : -line.grossMinor
            legs += (line.netMinor != 0 ? 1 : 0) + (line.feeMinor != 0 ? 1 : 0)
        }
        let after = server.ledger.account(key: clearingKey)!
        func owed(_ account: Account) -> Int64 { Int64(account.debitsPosted) - Int64(account.creditsPosted) }
        #expect(owed(after) - owed(before) == expectedChange)
        #expect(first.clearedTransfers == legs && first.alreadyCleared == 0)

        guard rerun else { return lines.count }
        // Again: the same findings, the same mismatches, nothing posted twice.
        let second = try await job.run(provider: provider, date: day.date, runBy: "test", now: server.clock.now)
        #expect(found(second) == found(first) && second.totals == first.totals)
        #expect(second.mismatchIds == first.mismatchIds && second.run.resolvedCount == 0)
        #expect(second.clearedTransfers == 0 && second.alreadyCleared == legs)
        #expect(server.ledger.account(key: clearingKey)! == after)
        let store = Mismatches(database: server.database)
        #expect(
            try await store.list(runId: second.run.id).map(\.id) == first.mismatchIds.values.sorted()
                && first.mismatchIds.count == faults.count)
        return lines.count
    }
}
