import Foundation
import JobStore

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

    public init(
        now: UInt64, shouldStop: @escaping @Sendable () -> Bool,
        progress: @escaping @Sendable (JobCounts) async -> Void = { _ in }
    ) {
        self.now = now
        self.shouldStop = shouldStop
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
    public func run(
        _ job: ScheduledJob, slot: Int64? = nil, now: UInt64? = nil,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws -> RunResult {
        // The file lock keeps runs apart on this machine whatever the store; the lease does so
        // across machines on PostgreSQL.
        guard let lock = try FileLock.tryAcquire(lockDirectory + "/\(job.name).lock") else { return .alreadyRunning }
        defer { lock.release() }
        guard try await runs.database.tryLease("job:\(job.name)") else { return .alreadyRunning }
        do {
            let result = try await runHoldingLocks(job, slot: slot, now: now, shouldStop: shouldStop)
            try await runs.database.releaseLease("job:\(job.name)")
            return result
        } catch {
            try? await runs.database.releaseLease("job:\(job.name)")
            throw error
        }
    }

    private func runHoldingLocks(
        _ job: ScheduledJob, slot: Int64?, now: UInt64?, shouldStop: @escaping @Sendable () -> Bool
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
        do {
            let reporter = ProgressReporter(runs: runs, id: id, clock: clock)
            let context = JobContext(now: now ?? started, shouldStop: shouldStop) { counts in
                await reporter.report(counts)
            }
            let result = try await job.run(context)
            counts = result.counts
            outcome = result.interrupted ? .interrupted : .succeeded
        } catch {
            outcome = .failed
            errorText = "\(error)"
        }
        try await runs.finish(id: id, outcome: outcome, counts: counts, error: errorText, at: clock())
        // Safe: the row was written above.
        return .ran(try await runs.history(job: job.name, limit: 1).first!)
    }
}

/// Writes a run's counts while it goes: the first report at once, then at most one a second, so
/// that recording progress never costs a job more than a write a second.
private actor ProgressReporter {
    let runs: JobRuns
    let id: Int64
    let clock: @Sendable () -> UInt64
    private var lastWrittenNanoseconds: UInt64?

    init(runs: JobRuns, id: Int64, clock: @escaping @Sendable () -> UInt64) {
        self.runs = runs
        self.id = id
        self.clock = clock
    }

    func report(_ counts: JobCounts) async {
        let now = clock()
        if let last = lastWrittenNanoseconds, now &- last < 1_000_000_000 { return }
        lastWrittenNanoseconds = now
        // Progress is for people to read; a store that refuses it must not fail the job, whose
        // outcome is written (and its errors reported) at the end.
        try? await runs.progress(id: id, counts: counts)
    }
}
