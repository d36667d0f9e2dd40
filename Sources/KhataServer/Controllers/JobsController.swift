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

/// `/v1/jobs`: the scheduler's jobs, runs by hand (with the same lock as scheduled runs) and their
/// history.
struct JobsController: APIController {
    typealias D = OpenAPIDocument
    let scheduler: JobScheduler?
    let auth: Authenticator
    let now: @Sendable () -> UInt64

    var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/v1/jobs", scope: .read,
                OpenAPIOperation(
                    summary: "The batch jobs: schedule, next run, last run",
                    answers: [(200, D.answer("The jobs", "Jobs"))], problems: [503])
            ) { _, _ in try await jobs() },
            APIRoute(
                .post, "/v1/jobs/{name}/run", scope: .admin,
                OpenAPIOperation(
                    summary: "Run a job now, with the same lock as scheduled runs; answers when it ends",
                    parameters: [D.pathParameter("name", ["type": "string"])],
                    answers: [(200, D.answer("The run", "JobRun"))], problems: [404, 409, 503])
            ) { request, context in
                // The scope was checked before; the key's name is who ran it.
                let key = try await auth.authorize(request, .admin)
                return try await run(context.pathParameter("name"), by: key.name.isEmpty ? key.id : key.name)
            },
            APIRoute(
                .get, "/v1/jobs/runs", scope: .read,
                OpenAPIOperation(
                    summary: "Job runs, newest first",
                    parameters: [
                        D.queryParameter("job", ["type": "string", "description": "Only this job's runs"]),
                        D.limitParameter(),
                    ], answers: [(200, D.answer("The runs", "JobRuns"))], problems: [400, 503])
            ) { request, _ in
                let query = request.uri.queryParameters
                return try await runs(job: query["job"].map(String.init), limit: query["limit"])
            },
        ]
    }

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

    func run(_ name: String, by actor: String) async throws -> Response {
        guard let scheduler, let job = scheduler.jobs.first(where: { $0.name == name }) else {
            throw Problem.notFound("job", "no job named \"\(name)\"")
        }
        switch try await storeCall({ try await scheduler.runner.run(job, actor: actor) }) {
        case .ran(let run): return try JSONResponse.make(JobRunBody(run))
        case .alreadyRunning, .slotTaken:
            throw Problem(
                .conflict, "job-running", "Job running", detail: "\(name) is running already; nothing was started")
        }
    }

    func runs(job: String?, limit limitText: Substring?) async throws -> Response {
        let limit = try PathValues.limit(limitText, fallback: 50)
        guard let scheduler else { return try JSONResponse.make(RunsAnswer(runs: [])) }
        let runs = try await storeCall { try await scheduler.runner.runs.history(job: job, limit: limit) }
        return try JSONResponse.make(RunsAnswer(runs: runs.map(JobRunBody.init)))
    }
}

/// A call into the job store; its failures are the deployment's, answered as 503.
func storeCall<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as DatabaseError {
        throw Problem(
            .serviceUnavailable, "store-unavailable", "Store unavailable",
            detail: "the job store failed (\(error.code)); retry with the same request")
    }
}
