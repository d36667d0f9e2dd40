import Foundation
import Hummingbird
import JobStore
import Scheduler

/// A job run as the API answers it.
struct JobRunBody: Encodable {
    var id: Int64
    var job: String
    var trigger: String
    var slot: String?
    var worker: String
    var startedAt: String
    var endedAt: String?
    var outcome: String
    var read: Int
    var written: Int
    var failed: Int
    var error: String?

    init(_ run: JobRun) {
        id = run.id
        job = run.job
        trigger = run.trigger
        slot = run.slotUnix.map(UTCTime.text(unixSeconds:))
        worker = run.worker
        startedAt = run.startedAt
        endedAt = run.endedAt
        outcome = run.outcome.rawValue
        read = run.counts.read
        written = run.counts.written
        failed = run.counts.failed
        error = run.error
    }
}

/// A job as `GET /v1/jobs` lists it.
struct JobBody: Encodable {
    var name: String
    var schedule: String
    var timeZone: String
    var nextRun: String?
    var lastRun: JobRunBody?
}

struct JobsAnswer: Encodable { var jobs: [JobBody] }
struct RunsAnswer: Encodable { var runs: [JobRunBody] }

/// `GET /v1/jobs`, `POST /v1/jobs/{name}/run`, `GET /v1/jobs/runs`: the scheduler's jobs, runs by
/// hand (with the same lock as scheduled runs) and their history.
extension API {
    func jobs() async throws -> Response {
        guard let scheduler else { return try JSONResponse.make(JobsAnswer(jobs: [])) }
        let now = Int64(self.now() / 1_000_000_000)
        var bodies: [JobBody] = []
        for job in scheduler.jobs {
            let next = try await storeCall { try await scheduler.nextSlot(of: job, now: now) }
            let last = try await storeCall { try await scheduler.runner.runs.history(job: job.name, limit: 1).first }
            bodies.append(
                JobBody(
                    name: job.name, schedule: job.schedule.expression, timeZone: scheduler.zone.name,
                    nextRun: next.map(UTCTime.text(unixSeconds:)),
                    lastRun: last.map(JobRunBody.init)))
        }
        return try JSONResponse.make(JobsAnswer(jobs: bodies))
    }

    func runJob(_ name: String) async throws -> Response {
        guard let scheduler, let job = scheduler.jobs.first(where: { $0.name == name }) else {
            throw Problem.notFound("job", "no job named \"\(name)\"")
        }
        switch try await storeCall({ try await scheduler.runner.run(job) }) {
        case .ran(let run): return try JSONResponse.make(JobRunBody(run))
        case .alreadyRunning, .slotTaken:
            throw Problem(
                .conflict, "job-running", "Job running", detail: "\(name) is running already; nothing was started")
        }
    }

    func jobRuns(job: String?, limit limitText: String?) async throws -> Response {
        var limit = 50
        if let limitText {
            guard let value = Int(limitText), (1...1_000).contains(value) else {
                throw Problem.badRequest("invalid-limit", "Invalid limit", "limit \"\(limitText)\" must be 1...1000")
            }
            limit = value
        }
        guard let scheduler else { return try JSONResponse.make(RunsAnswer(runs: [])) }
        let runs = try await storeCall { try await scheduler.runner.runs.history(job: job, limit: limit) }
        return try JSONResponse.make(RunsAnswer(runs: runs.map(JobRunBody.init)))
    }
}
