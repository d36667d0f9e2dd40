import Foundation
import JobStore
import Scheduler
import Synchronization
import TestSupport
import Testing

/// A clock that moves two seconds each time it is read, so that every progress report of a job
/// is written (and its lease checked) without waiting.
final class StridingClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(1_764_400_000_000_000_000)
    var read: @Sendable () -> UInt64 {
        { [self] in nanoseconds.add(2_000_000_000, ordering: .relaxed).newValue }
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// What a PostgreSQL worker does when the connection that holds its job's lease breaks.
@Suite("Job runner when the PostgreSQL lease is lost")
struct LeaseLossTests {
    @Test(
        "the run stops after its batch, recorded interrupted; the store reconnects; the lease was free for others",
        .enabled(if: ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] != nil))
    func leaseLost() async throws {
        let base = try #require(ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"])
        let schema = try PostgresScratchSchema(baseURL: base, prefix: "t")
        defer { schema.drop() }
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try JobDatabase(url: schema.url)
        let other = try JobDatabase(url: schema.url)
        let admin = try JobDatabase(url: schema.url)
        let runner = JobRunner(
            database: database, lockDirectory: directory.path + "/locks", clock: StridingClock().read)
        let tookOver = Flag()
        let terminated = Flag()

        let job = ScheduledJob(name: "batches", schedule: try CronSchedule("* * * * *")) { context in
            var counts = JobCounts()
            for batch in 1...1_000 {
                if context.shouldStop() { return (counts, true) }
                counts.read += 10
                counts.written += 10
                if batch == 3 && !terminated.value.exchange(true, ordering: .relaxed) {
                    // In the first run only, the server ends the session that holds the lease,
                    // as a restart or a broken network would; the advisory lock goes with it.
                    let holders = try await database.leaseHolderProcessIds("job:batches")
                    #expect(holders.count == 1)
                    try await admin.perform { connection in
                        _ = try connection.query(
                            "SELECT pg_terminate_backend(?, 10000)", [.integer(Int64(holders[0]))])
                    }
                    let taken = try await other.tryLease("job:batches")
                    tookOver.value.store(taken, ordering: .relaxed)
                    if taken { try await other.releaseLease("job:batches") }
                }
                await context.progress(counts)
            }
            return (counts, false)
        }
        guard case .ran(let run) = try await runner.run(job) else {
            Issue.record("the job did not run")
            return
        }
        let otherTookTheLease = tookOver.value.load(ordering: .relaxed)
        #expect(otherTookTheLease)
        #expect(run.outcome == .interrupted)
        #expect(run.counts.written == 30)
        #expect(run.error?.contains("lease was lost") == true)
        // The same database object reconnected: its next run takes the lease and finishes.
        guard case .ran(let second) = try await runner.run(job) else {
            Issue.record("the job did not run a second time")
            return
        }
        #expect(second.outcome == .succeeded && second.counts.written == 10_000)
        #expect(try await database.leaseHolderProcessIds("job:batches").isEmpty)
    }
}
