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
    /// One hold per ledger commit, the first run takes seconds to expire these (2.7 s for 20,000
    /// in a release build here, several times that in the tests' debug build), while the test,
    /// watching from a thread of its own, stops the worker within milliseconds of its first report.
    static let holdCount = 20_000
    static let clearing = NewAccount.derivedId(forKey: "provider:bkash:clearing")
    static let merchant = NewAccount.derivedId(forKey: "merchant:SVC-456")

    /// The backends: the embedded store, and PostgreSQL when the test command started one.
    static var backends: [String] {
        ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] == nil ? ["sqlite"] : ["sqlite", "postgres"]
    }

    /// Holds 1...`count` made two hours ago (by the ledger's clock) with one-minute windows, from the
    /// account `clearing` to `merchant` (created here): all due now.
    static func makeDueHolds(
        in directory: String, count: Int = holdCount, clearingKey: String = "provider:bkash:clearing",
        merchantKey: String = "merchant:SVC-456"
    ) async throws {
        let twoHoursNanoseconds: UInt64 = 7_200 * 1_000_000_000
        let ledger = try Ledger.open(directory: directory + "/ledger") {
            Ledger.wallClockNanoseconds() - twoHoursNanoseconds
        }
        defer { ledger.close() }
        let clearing = NewAccount.derivedId(forKey: clearingKey)
        let merchant = NewAccount.derivedId(forKey: merchantKey)
        let accounts = try await ledger.submit([
            .createAccount(NewAccount(id: clearing, key: clearingKey, currency: .bdt)),
            .createAccount(NewAccount(id: merchant, key: merchantKey, currency: .bdt)),
        ])
        #expect(accounts.allSatisfy { $0.code == .ok })
        let holds = (1...count).map { id in
            Event.createTransfer(
                NewTransfer(
                    id: UInt128(id), debitAccountId: clearing, creditAccountId: merchant, amountMinor: 100,
                    timeoutSeconds: 60, flags: .pending))
        }
        for start in stride(from: 0, to: holds.count, by: 8_000) {
            let results = try await ledger.submit(Array(holds[start..<min(start + 8_000, holds.count)]))
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
        let database = try await JobDatabase.open(dataDir: directory.path, databaseURL: schema?.url)
        let runs = JobRuns(database: database)

        // The run has reported expiring holds and is still going: kill the worker there, from a
        // thread of its own, so that a loaded test process cannot keep it from looking.
        let workerId = worker.process.processIdentifier
        let seenId: Int64? = try await offThePool {
            for _ in 0..<60_000 {
                let latest = try database.performNow { connection in
                    try connection.query(
                        """
                        SELECT id, outcome, written_count FROM job_runs
                        WHERE job = 'expire-reservations' ORDER BY id DESC LIMIT 1
                        """)
                }
                if let row = latest.first, row[1] == .text("running"), (row[2].integer ?? 0) >= 1 {
                    kill(workerId, SIGKILL)
                    return row[0].integer
                }
                usleep(1_000)
            }
            return nil
        }
        try await offThePool { worker.kill() }
        let soFar = try await runs.history(job: "expire-reservations")
        let killed = try #require(
            soFar.first { $0.id == seenId },
            "the worker never reported progress: \(soFar.map { "\($0.outcome) \($0.counts)" })")
        // What the kill interrupted: the latest run, still going, some holds expired.
        #expect(soFar.first?.id == killed.id && killed.outcome == .running && killed.counts.written >= 1)

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
        #expect(history.count == 2, "\(history.map { "\($0.id) \($0.outcome) \($0.counts) \($0.error ?? "")" })")
        let abandoned = try #require(history.first { $0.id == killed.id })
        #expect(abandoned.outcome == .abandoned && abandoned.endedAt != nil && abandoned.error != nil)
        let finished = try #require(history.first { $0.id != killed.id })
        #expect(finished.outcome == .succeeded && finished.counts.failed == 0)
        #expect(finished.counts.read == finished.counts.written)
        #expect(finished.counts.written >= 1 && finished.counts.written < Self.holdCount - killed.counts.written + 1)

        // Every hold expired, exactly once: the first run's share plus the second's is the whole.
        let directoryPath = directory.path
        let (expired, merchant, clearing) = try await offThePool {
            let ledger = try Ledger.open(directory: directoryPath + "/ledger")
            defer { ledger.close() }
            let expired = (1...Self.holdCount).filter {
                (try! ledger.transfer(id: UInt128($0)))?.state == .pendingExpired
            }
            return (expired.count, ledger.account(id: Self.merchant), ledger.account(id: Self.clearing))
        }
        #expect(expired == Self.holdCount)
        #expect(merchant?.creditsPending == 0 && merchant?.creditsPosted == 0)
        #expect(clearing?.debitsPending == 0 && clearing?.debitsPosted == 0)
    }
}
