import Foundation
import JobStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a job is given for one run.
public struct JobContext: Sendable {
    /// The run's instant, nanoseconds since the Unix epoch: the scheduler's clock (or `--now`).
    public let now: UInt64
    /// Asked between batches: true once a shutdown began, so the job stops after its batch.
    public let shouldStop: @Sendable () -> Bool
    /// Called by the job after a batch with its counts so far. The first report, and then one a
    /// second at most, is written to the run's record, so that a long run shows how far it got,
    /// even if its worker dies.
    public let progress: @Sendable (JobCounts) async -> Void
    /// Who asked for a run by hand: an API key's name, or `cli`; nil for a scheduled run.
    public let actor: String?

    public init(
        now: UInt64, shouldStop: @escaping @Sendable () -> Bool, actor: String? = nil,
        progress: @escaping @Sendable (JobCounts) async -> Void = { _ in }
    ) {
        self.now = now
        self.shouldStop = shouldStop
        self.actor = actor
        self.progress = progress
    }
}

/// A job the scheduler can run: its name, when it runs, and what it does.
public struct ScheduledJob: Sendable {
    public let name: String
    public let schedule: CronSchedule
    public let run: @Sendable (JobContext) async throws -> (counts: JobCounts, interrupted: Bool)

    public init(
        name: String, schedule: CronSchedule,
        run: @escaping @Sendable (JobContext) async throws -> (counts: JobCounts, interrupted: Bool)
    ) {
        self.name = name
        self.schedule = schedule
        self.run = run
    }
}

/// How an attempt to run a job went.
public enum RunResult: Sendable, Equatable {
    /// It ran; the run's record.
    case ran(JobRun)
    /// Another run of the job holds its lock (here or in another process); nothing was done.
    case alreadyRunning
    /// The schedule's slot was taken by another worker first.
    case slotTaken
}

/// Runs jobs one at a time per job, across processes: each run holds the job's lock (a file lock
/// with the embedded store), records its start, outcome and counts, and marks runs whose worker
/// died as abandoned.
public struct JobRunner: Sendable {
    public let runs: JobRuns
    public let lockDirectory: String
    /// `host:pid`, recorded with each run.
    public let worker: String
    public let clock: @Sendable () -> UInt64

    public init(database: JobDatabase, lockDirectory: String, clock: @escaping @Sendable () -> UInt64) {
        runs = JobRuns(database: database)
        self.lockDirectory = lockDirectory
        worker = database.holder
        self.clock = clock
    }

    /// Runs `job` now unless another run holds its lock. For a scheduled run, `slot` is the
    /// schedule's instant (Unix seconds): when another worker has already started that slot, the
    /// run is skipped, so a slot runs once however many workers see it.
    /// `actor` names who asked for a run by hand (the job may record it).
    public func run(
        _ job: ScheduledJob, slot: Int64? = nil, now: UInt64? = nil, actor: String? = nil,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws -> RunResult {
        // The file lock keeps runs apart on this machine whatever the store; the lease does so
        // across machines on PostgreSQL.
        guard let lock = try FileLock.tryAcquire(lockDirectory + "/\(job.name).lock") else { return .alreadyRunning }
        defer { lock.release() }
        guard try await runs.database.tryLease("job:\(job.name)") else { return .alreadyRunning }
        do {
            let result = try await runHoldingLocks(job, slot: slot, now: now, actor: actor, shouldStop: shouldStop)
            // The run is recorded; a lease that cannot be given back (its connection broke) is
            // gone with its session, so that is not the run's failure.
            try? await runs.database.releaseLease("job:\(job.name)")
            return result
        } catch {
            try? await runs.database.releaseLease("job:\(job.name)")
            throw error
        }
    }

    private func runHoldingLocks(
        _ job: ScheduledJob, slot: Int64?, now: UInt64?, actor: String?, shouldStop: @escaping @Sendable () -> Bool
    ) async throws -> RunResult {
        let started = clock()
        _ = try await runs.markAbandoned(job: job.name, at: started)
        if let slot {
            if let last = try await runs.lastSlot(job: job.name), last >= slot { return .slotTaken }
            try await runs.setLastSlot(job: job.name, unix: slot)
        }
        let id = try await runs.start(
            job: job.name, trigger: slot == nil ? "manual" : "schedule", slotUnix: slot, worker: worker, at: started)
        let outcome: RunOutcome
        var counts = JobCounts()
        var errorText: String?
        let reporter = ProgressReporter(runs: runs, id: id, lease: "job:\(job.name)", clock: clock)
        do {
            let context = JobContext(
                now: now ?? started, shouldStop: { shouldStop() || reporter.leaseLost }, actor: actor
            ) { counts in await reporter.report(counts) }
            let result = try await job.run(context)
            counts = result.counts
            outcome = result.interrupted ? .interrupted : .succeeded
        } catch {
            outcome = .failed
            errorText = "\(error)"
        }
        if reporter.leaseLost {
            errorText = [
                errorText,
                "the job's lease was lost (its database connection broke), so the run stopped after its batch",
            ].compactMap { $0 }.joined(separator: "; ")
        }
        try await runs.finish(
            id: id, outcome: reporter.leaseLost && outcome == .succeeded ? .interrupted : outcome, counts: counts,
            error: errorText, at: clock())
        // Safe: the row was written above.
        return .ran(try await runs.run(id: id)!)
    }
}

/// Writes a run's counts while it goes: the first report at once, then at most one a second, so
/// that recording progress never costs a job more than a write a second. With each write it
/// checks that the job's lease is still held: a PostgreSQL lease dies with its connection, and a
/// job that goes on without it could overlap a run another worker has started since.
private final class ProgressReporter: Sendable {
    let runs: JobRuns
    let id: Int64
    let lease: String
    let clock: @Sendable () -> UInt64
    private let lastWrittenNanoseconds = Mutex<UInt64?>(nil)
    private let lost = Atomic<Bool>(false)

    init(runs: JobRuns, id: Int64, lease: String, clock: @escaping @Sendable () -> UInt64) {
        self.runs = runs
        self.id = id
        self.lease = lease
        self.clock = clock
    }

    /// True once a check found the lease gone; the job is then asked to stop.
    var leaseLost: Bool { lost.load(ordering: .relaxed) }

    func report(_ counts: JobCounts) async {
        let now = clock()
        let due = lastWrittenNanoseconds.withLock { last in
            if let last, now &- last < 1_000_000_000 { return false }
            last = now
            return true
        }
        guard due else { return }
        if !(await runs.database.leaseIsIntact(lease)) { lost.store(true, ordering: .relaxed) }
        // Progress is for people to read; a store that refuses it must not fail the job, whose
        // outcome is written (and its errors reported) at the end.
        try? await runs.progress(id: id, counts: counts)
    }
}
