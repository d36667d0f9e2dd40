import JobStore

/// Runs registered jobs on their cron schedules in one time zone. A job whose slots were missed
/// (the worker was down) runs once, for the latest missed slot, not once per slot; a job seen
/// for the first time starts with its next slot.
public struct JobScheduler: Sendable {
    public let jobs: [ScheduledJob]
    public let zone: ScheduleZone
    public let runner: JobRunner
    /// How far back a missed slot is looked for: a longer outage still runs once.
    static let catchUpSeconds: Int64 = 7 * 86_400

    public init(jobs: [ScheduledJob], zone: ScheduleZone, runner: JobRunner) {
        precondition(Set(jobs.map(\.name)).count == jobs.count, "job names must be unique")
        self.jobs = jobs
        self.zone = zone
        self.runner = runner
    }

    /// The job's next slot after its last one (Unix seconds), or nil when it never runs again.
    public func nextSlot(of job: ScheduledJob, now: Int64) async throws -> Int64? {
        let last = try await runner.runs.lastSlot(job: job.name) ?? now
        return job.schedule.next(after: last, in: zone)
    }

    /// The latest slot at or before `now` that comes after `last`, or nil when none is due.
    func dueSlot(of job: ScheduledJob, last: Int64, now: Int64) -> Int64? {
        guard var slot = job.schedule.next(after: max(last, now - Self.catchUpSeconds), in: zone), slot <= now else {
            return nil
        }
        while let later = job.schedule.next(after: slot, in: zone), later <= now { slot = later }
        return slot
    }

    /// Runs every job that is due at `now` (Unix seconds) once; answers what each attempt did.
    public func runDue(now: Int64, shouldStop: @escaping @Sendable () -> Bool = { false }) async throws
        -> [(job: String, result: RunResult)]
    {
        var results: [(job: String, result: RunResult)] = []
        for job in jobs {
            guard let last = try await runner.runs.lastSlot(job: job.name) else {
                try await runner.runs.setLastSlot(job: job.name, unix: now)
                continue
            }
            guard let slot = dueSlot(of: job, last: last, now: now) else { continue }
            results.append((job.name, try await runner.run(job, slot: slot, shouldStop: shouldStop)))
        }
        return results
    }

    /// The earliest next slot of any job after `now`.
    public func earliestNext(now: Int64) async throws -> Int64? {
        var earliest: Int64?
        for job in jobs {
            if let next = try await nextSlot(of: job, now: now) { earliest = min(earliest ?? next, next) }
        }
        return earliest
    }
}
