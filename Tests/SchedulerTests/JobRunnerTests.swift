import Foundation
import JobStore
import Scheduler
import Synchronization
import TestSupport
import Testing

/// Counts a job's runs across tasks, and holds a run open until told to finish.
final class Probe: Sendable {
    let runs = Atomic<Int>(0)
    let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
}

/// Job runs, locks and schedules on the embedded store, in a scratch directory.
@Suite("Job runner and scheduler")
struct JobRunnerTests {
    static func runner(_ directory: TemporaryDirectory) throws -> JobRunner {
        JobRunner(
            database: try JobDatabase.openBlocking(dataDir: directory.path), lockDirectory: directory.path + "/locks",
            clock: { 1_764_400_000_000_000_000 })
    }

    static func counting(_ probe: Probe, name: String = "count", schedule: String = "* * * * *") throws -> ScheduledJob
    {
        ScheduledJob(name: name, schedule: try CronSchedule(schedule)) { _ in
            probe.runs.add(1, ordering: .relaxed)
            return (JobCounts(read: 3, written: 2, failed: 1), false)
        }
    }

    @Test("a run records its trigger, counts and outcome; a failing job records its error")
    func records() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let runner = try Self.runner(directory)
        let probe = Probe()
        guard case .ran(let run) = try await runner.run(try Self.counting(probe)) else {
            Issue.record("the job did not run")
            return
        }
        #expect(
            run.outcome == .succeeded && run.trigger == "manual"
                && run.counts == JobCounts(read: 3, written: 2, failed: 1))
        struct Broken: Error, CustomStringConvertible { var description: String { "the provider's file is missing" } }
        let failing = ScheduledJob(name: "broken", schedule: try CronSchedule("@daily")) { _ in throw Broken() }
        guard case .ran(let failed) = try await runner.run(failing) else {
            Issue.record("the failing job did not run")
            return
        }
        #expect(failed.outcome == .failed && failed.error == "the provider's file is missing")
        #expect(try await runner.runs.history(job: nil).map(\.job) == ["broken", "count"])
    }

    @Test("a second run of a job while one holds its lock does nothing; a dead worker's run is marked abandoned")
    func lockAndAbandoned() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let runner = try Self.runner(directory)
        let other = try Self.runner(directory)
        let probe = Probe()
        let slow = ScheduledJob(name: "slow", schedule: try CronSchedule("@hourly")) { _ in
            await withCheckedContinuation { gate in probe.gate.withLock { $0 = gate } }
            return (JobCounts(), false)
        }
        // The first run parks inside the job until released; meanwhile the other worker is refused.
        async let first = runner.run(slow)
        while probe.gate.withLock({ $0 == nil }) { await Task.yield() }
        #expect(try await other.run(slow) == .alreadyRunning)
        probe.gate.withLock { $0?.resume() }
        guard case .ran(let finished) = try await first else {
            Issue.record("the first run did not run")
            return
        }
        #expect(finished.outcome == .succeeded)
        // A run left `running` by a worker that died is found by the next one to take the lock.
        _ = try await runner.runs.start(
            job: "slow", trigger: "schedule", slotUnix: nil, worker: "gone:1", at: 1_764_400_000_000_000_000)
        _ = try await other.run(try Self.counting(probe, name: "slow"))
        let outcomes = try await runner.runs.history(job: "slow").map(\.outcome)
        #expect(outcomes == [.succeeded, .abandoned, .succeeded])
    }

    /// Fifty one-minute slots after `start`, each run for by both workers at once: exactly one
    /// of them runs it.
    static func race(_ one: JobScheduler, _ two: JobScheduler, from start: Int64) async throws {
        for round in 1...50 {
            let instant = start + Int64(round) * 60
            async let first = one.runDue(now: instant)
            async let second = two.runDue(now: instant)
            let all = try await first + second
            #expect(all.filter { if case .ran = $0.result { true } else { false } }.count == 1, "round \(round)")
        }
    }

    @Test("missed slots run once; a slot runs once however many workers race for it (50 rounds)")
    func schedule() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let probe = Probe()
        let job = try Self.counting(probe)
        let one = JobScheduler(jobs: [job], zone: .dhaka, runner: try Self.runner(directory))
        let two = JobScheduler(jobs: [job], zone: .dhaka, runner: try Self.runner(directory))
        var now: Int64 = 1_764_400_000
        // First sight: the job waits for its next slot.
        #expect(try await one.runDue(now: now).isEmpty)
        #expect(try await one.nextSlot(of: job, now: now) == (now / 60 + 1) * 60)
        // Down for ten minutes: one run, for the latest slot.
        now += 600
        let results = try await one.runDue(now: now)
        guard case .ran(let run)? = results.first?.result else {
            Issue.record("nothing ran: \(results)")
            return
        }
        #expect(results.count == 1 && run.slotUnix == now / 60 * 60)
        #expect(try await one.runDue(now: now).isEmpty)
        // Two workers, each minute, at once.
        try await Self.race(one, two, from: now)
        #expect(probe.runs.load(ordering: .relaxed) == 51)
        #expect(try await one.runner.runs.history(job: "count", limit: 100).count == 51)
    }
}

/// Two workers on one PostgreSQL, as on two machines: separate connections and separate lock
/// directories, so only the store's lease and slot keep them apart.
@Suite("Job runner on PostgreSQL")
struct PostgresJobRunnerTests {
    @Test(
        "two workers racing for the same job start exactly one run per slot, 50 times",
        .enabled(if: ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] != nil))
    func race() async throws {
        let base = try #require(ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"])
        let schema = try PostgresScratchSchema(baseURL: base, prefix: "t")
        defer { schema.drop() }
        let url = schema.url
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let probe = Probe()
        let job = try JobRunnerTests.counting(probe)
        func worker(_ name: String) throws -> JobScheduler {
            JobScheduler(
                jobs: [job], zone: .dhaka,
                runner: JobRunner(
                    database: try JobDatabase(url: url), lockDirectory: directory.path + "/\(name)",
                    clock: { 1_764_400_000_000_000_000 }))
        }
        let one = try worker("a")
        let two = try worker("b")
        let now: Int64 = 1_764_400_000
        #expect(try await one.runDue(now: now).isEmpty)
        try await JobRunnerTests.race(one, two, from: now)
        #expect(probe.runs.load(ordering: .relaxed) == 50)
        // While one connection holds a job's lease, the other cannot take it; after, it can.
        #expect(try await one.runner.runs.database.tryLease("job:count"))
        #expect(try await !two.runner.runs.database.tryLease("job:count"))
        try await one.runner.runs.database.releaseLease("job:count")
        #expect(try await two.runner.runs.database.tryLease("job:count"))
        try await two.runner.runs.database.releaseLease("job:count")
    }
}
