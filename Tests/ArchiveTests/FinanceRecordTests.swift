import Archive
import Foundation
import JobStore
import KhataCrypto
import TestSupport
import Testing

@Suite("Archive finance record")
struct FinanceRecordTests {
    static let note = "চেক করা হয়েছে: \"fee\" \\ ok\n\tline\u{1}"

    /// The lines of every export in `directory`, decoded as JSON objects.
    static func records(_ directory: String) async throws -> [[[String: Any]]] {
        let exports = try await Blocking.exports(directory: directory, trustedKey: nil)
        let texts = try await offThePool {
            try exports.map { export in
                var lines: [String] = []
                try ArchiveVerifier.financeRecord(of: export) { lines.append($0) }
                return lines
            }
        }
        return try texts.map { lines in
            try lines.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
        }
    }

    static func found(_ identity: String, _ category: MismatchCategory, ledger: Int64, provider: Int64)
        -> NewMismatch
    {
        NewMismatch(
            category: category, identity: identity, providerTxnId: identity, currency: "BDT", ledgerMinor: ledger,
            providerMinor: provider, detail: "\(category.rawValue) on \(identity)")
    }

    static func run(_ store: Mismatches, at start: UInt64, found: [NewMismatch]) async throws -> (Int64, [Int64]) {
        let run = try await store.startRun(
            provider: "bkash", settlementDate: "2026-11-29", windowStart: "2026-11-26", windowEnd: "2026-11-29",
            inputSHA256: String(repeating: "cd", count: 32), inputFiles: [1], runBy: "scheduler", jobRunId: nil,
            at: start)
        let recorded = try await store.finishRun(
            id: run, provider: "bkash",
            findings: ReconciliationFindings(
                mismatches: found, settled: [],
                totals: [
                    ReconciliationTotal(category: "matched", currency: "BDT", count: 40, amountMinor: 4_000_000),
                    ReconciliationTotal(
                        category: found[0].category.rawValue, currency: "BDT", count: 1, amountMinor: 1),
                ],
                linesRead: 40 + found.count, matchedCount: 40, carriedCount: 0, clearedCount: 40),
            at: start + 1_000_000)
        return (run, found.map { recorded.mismatchIds[$0.identity]! })
    }

    @Test(
        "each export carries the runs, mismatches and review events of its period, each row once, exactly as kept",
        arguments: Backend.available)
    func periods(_ backend: Backend) async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        let store = Mismatches(database: database)
        let start: UInt64 = 1_796_000_000_000_000_000
        try await fixture.write(transfers: 2_000, seed: 11, start: start)
        // Where the first export will end, found with an export into a scratch folder.
        var probe = fixture.request()
        probe.archiveDirectory = fixture.root.path + "/probe"
        let firstEnd = try #require(try await Blocking.export(probe).manifest?.lastTimeNanoseconds)

        let (firstRun, firstIds) = try await Self.run(
            store, at: start + 5_000_000_000,
            found: [
                Self.found("bkash:txn:A1", .amountMismatch, ledger: 100_000, provider: 99_999),
                Self.found("bkash:txn:A2", .missingInLedger, ledger: 0, provider: 50_000),
            ])
        try await store.move(
            id: firstIds[0], from: .open, to: .acknowledged, actor: "farhana", note: Self.note, at: firstEnd)
        // A millisecond after the first export's last record: the second export's.
        try await store.move(
            id: firstIds[1], from: .open, to: .acknowledged, actor: "farhana", note: "seen",
            at: firstEnd + 1_000_000)
        var request = fixture.request()
        request.jobDatabase = database
        let first = try #require(try await Blocking.export(request).manifest)
        #expect(first.lastTimeNanoseconds == firstEnd)

        try await fixture.write(transfers: 1_000, seed: 12, start: firstEnd + 60_000_000_000)
        let (secondRun, secondIds) = try await Self.run(
            store, at: firstEnd + 2_000_000_000,
            found: [Self.found("bkash:txn:B1", .feeMismatch, ledger: 2_000, provider: 2_500)])
        try await store.move(
            id: firstIds[0], from: .acknowledged, to: .resolved, actor: "rafiq", note: "fee refunded",
            at: firstEnd + 3_000_000_000)
        // Far after the second export's last record: in neither export.
        try await store.move(
            id: secondIds[0], from: .open, to: .acknowledged, actor: "rafiq", note: "later",
            at: firstEnd + 86_400_000_000_000)
        let second = try #require(try await Blocking.export(request).manifest)
        #expect(second.firstSequence == first.lastSequence + 1)

        let check = try await Blocking.verify(directory: fixture.archiveDirectory, trustedKey: fixture.key.publicKey)
        let exported = try await Self.records(fixture.archiveDirectory)
        #expect(exported.count == 2)
        #expect(check.financeLines == exported[0].count + exported[1].count)

        func kinds(_ lines: [[String: Any]]) -> [String] { lines.map { $0["record"] as? String ?? "?" } }
        #expect(
            kinds(exported[0]) == [
                "period", "reconciliation_run", "reconciliation_total", "reconciliation_total",
                "reconciliation_finding", "reconciliation_finding", "mismatch", "mismatch", "mismatch_event",
            ])
        #expect(
            kinds(exported[1]) == [
                "period", "reconciliation_run", "reconciliation_total", "reconciliation_total",
                "reconciliation_finding", "mismatch", "mismatch_event", "mismatch_event",
            ])
        let firstPeriod = exported[0][0]
        let secondPeriod = exported[1][0]
        #expect(firstPeriod["after"] is NSNull)
        #expect(firstPeriod["through"] as? String == UTCTime.text(nanoseconds: firstEnd))
        #expect(secondPeriod["after"] as? String == UTCTime.text(nanoseconds: firstEnd))

        let run = exported[0][1]
        #expect(run["id"] as? Int == Int(firstRun) && run["outcome"] as? String == "succeeded")
        #expect(run["matched_count"] as? Int == 40 && run["input_files"] as? String == "[1]")
        #expect(exported[1][1]["id"] as? Int == Int(secondRun))
        let mismatch = exported[0][6]
        #expect(mismatch["identity"] as? String == "bkash:txn:A1")
        #expect(mismatch["expected_minor"] as? Int == 100_000 && mismatch["actual_minor"] as? Int == 99_999)
        // A mismatch is copied as it stood when exported: acknowledged, not yet resolved.
        #expect(mismatch["state"] as? String == "acknowledged")
        let acknowledged = exported[0][8]
        #expect(acknowledged["note"] as? String == Self.note && acknowledged["actor"] as? String == "farhana")
        #expect(acknowledged["at"] as? String == UTCTime.text(nanoseconds: firstEnd))
        let events = exported[1].filter { $0["record"] as? String == "mismatch_event" }
        #expect(events.map { $0["note"] as? String } == ["seen", "fee refunded"])
        #expect(events.map { $0["to_state"] as? String } == ["acknowledged", "resolved"])
    }

    @Test("a damaged finance file is found by verify, with its file named")
    func damage() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        let scratch = try Backend.sqlite.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await fixture.write(transfers: 500, seed: 13)
        _ = try await Self.run(
            Mismatches(database: database), at: 1_796_000_000_000_000_000,
            found: [Self.found("bkash:txn:C1", .amountMismatch, ledger: 1, provider: 2)])
        var request = fixture.request()
        request.jobDatabase = database
        let folder = try #require(try await Blocking.export(request).folder)
        let path = folder + "/" + ArchiveFile.financeFileName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        await #expect {
            try await Blocking.verify(directory: fixture.archiveDirectory, trustedKey: nil)
        } throws: { error in
            (error as? ArchiveError)?.kind == .damaged && (error as? ArchiveError)?.path == path
        }
    }
}
