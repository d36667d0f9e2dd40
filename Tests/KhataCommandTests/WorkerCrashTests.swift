import Foundation
import JobStore
import Ledger
import LedgerCore
import TestSupport
import Testing

/// A `khata worker` killed with SIGKILL in the middle of a run, on each job store backend: the run
/// it leaves `running` is marked abandoned by the next worker, which finishes the work, and no
/// hold is expired twice.
@Suite("khata worker killed mid-run")
struct WorkerCrashTests {
    static let holdCount = 20_000
    static let clearing = NewAccount.derivedId(forKey: "provider:bkash:clearing")
    static let merchant = NewAccount.derivedId(forKey: "merchant:SVC-456")

    /// The backends: the embedded store, and PostgreSQL when the test command started one.
    static var backends: [String] {
        ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] == nil ? ["sqlite"] : ["sqlite", "postgres"]
    }

    /// Holds made two hours ago (by the ledger's clock) with one-minute windows: all due now.
    static func makeDueHolds(in directory: String) async throws {
        let twoHoursNanoseconds: UInt64 = 7_200 * 1_000_000_000
        let ledger = try Ledger.open(directory: directory + "/ledger") {
            Ledger.wallClockNanoseconds() - twoHoursNanoseconds
        }
        defer { ledger.close() }
        let accounts = try await ledger.submit([
            .createAccount(NewAccount(id: clearing, key: "provider:bkash:clearing", currency: .bdt)),
            .createAccount(NewAccount(id: merchant, key: "merchant:SVC-456", currency: .bdt)),
        ])
        #expect(accounts.allSatisfy { $0.code == .ok })
        let holds = (1...holdCount).map { id in
            Event.createTransfer(
                NewTransfer(
                    id: UInt128(id), debitAccountId: clearing, creditAccountId: merchant, amountMinor: 100,
                    timeoutSeconds: 60, flags: .pending))
        }
        for start in stride(from: 0, to: holds.count, by: 4_000) {
            let results = try await ledger.submit(Array(holds[start..<min(start + 4_000, holds.count)]))
            #expect(results.allSatisfy { $0.code == .ok })
        }
    }

    @Test(
        "the killed run is marked abandoned; the next run expires the rest; each hold is expired once",
        arguments: backends)
    func killedWorker(_ backend: String) async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let schema = try ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"].flatMap {
            backend == "postgres" ? try PostgresScratchSchema(baseURL: $0, prefix: "crash") : nil
        }
        defer { schema?.drop() }
        try await Self.makeDueHolds(in: directory.path)

        var environment = [
            // Every second, one hold per ledger commit: a run long enough to be killed in.
            "KHATA_JOBS_EXPIRE_RESERVATIONS_SCHEDULE": "* * * * * *",
            "KHATA_JOBS_EXPIRE_RESERVATIONS_BATCH_SIZE": "1",
        ]
        if let schema { environment["KHATA_DATABASE_URL"] = schema.url }
        let data = ["--data-dir", directory.path]
        let worker = try LineReader(["worker"] + data, environment: environment)
        let database = try JobDatabase.open(dataDir: directory.path, databaseURL: schema?.url)
        let runs = JobRuns(database: database)

        // The run has reported expiring holds and is still going: kill it there.
        var seen: JobRun?
        for _ in 0..<6_000 {
            if let run = try await runs.history(job: "expire-reservations", limit: 1).first,
                run.outcome == .running, run.counts.written >= 1
            {
                seen = run
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        worker.kill()
        let killed = try #require(seen, "the worker never reported progress")
        let left = try await runs.history(job: "expire-reservations", limit: 1)
        #expect(left.map(\.id) == [killed.id] && left.first?.outcome == .running)

        // PostgreSQL drops the dead worker's lease when it sees its connection close.
        if schema != nil {
            var released = false
            for _ in 0..<3_000 where !released {
                released = try await database.leaseHolderProcessIds("job:expire-reservations").isEmpty
                if !released { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(released)
        }

        let next = try KhataProcess.run(
            ["jobs", "run", "expire-reservations", "--json"] + data, environment: environment)
        #expect(next.status == 0, "\(next.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: Any]
        #expect(record?["outcome"] as? String == "succeeded")
        let history = try await runs.history(job: "expire-reservations")
        #expect(history.count == 2)
        let abandoned = try #require(history.first { $0.id == killed.id })
        #expect(abandoned.outcome == .abandoned && abandoned.endedAt != nil && abandoned.error != nil)
        let finished = try #require(history.first { $0.id != killed.id })
        #expect(finished.outcome == .succeeded && finished.counts.failed == 0)
        #expect(finished.counts.read == finished.counts.written)
        #expect(finished.counts.written >= 1 && finished.counts.written < Self.holdCount - killed.counts.written + 1)

        // Every hold expired, exactly once: the first run's share plus the second's is the whole.
        let ledger = try Ledger.open(directory: directory.path + "/ledger")
        defer { ledger.close() }
        let expired = (1...Self.holdCount).filter { ledger.transfer(id: UInt128($0))?.state == .pendingExpired }
        #expect(expired.count == Self.holdCount)
        let merchant = try #require(ledger.account(id: Self.merchant))
        #expect(merchant.creditsPending == 0 && merchant.creditsPosted == 0)
        let clearing = try #require(ledger.account(id: Self.clearing))
        #expect(clearing.debitsPending == 0 && clearing.debitsPosted == 0)
    }
}
