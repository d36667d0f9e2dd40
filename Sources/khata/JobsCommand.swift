import ArgumentParser
import Foundation
import JobStore
import KhataServer
import Ledger
import LedgerAccess
import Logging
import Scheduler
import ServiceLifecycle
import UnixSignals

/// `khata jobs`: the batch jobs' schedules, runs by hand, and history.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List the batch jobs, run one by hand, or show their run history.",
        discussion: """
            Schedules are cron expressions (seconds optional) in the scheduler's time zone \
            (scheduler.timeZone, default Asia/Dhaka), set per job as jobs.<jobInCamelCase>.schedule. \
            A run of a job never overlaps another run of it: runs by hand take the same lock as \
            scheduled ones.
            """,
        subcommands: [List.self, Run.self, History.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each job's schedule, next run and last outcome.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print one JSON object per job.") var json = false

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.jobs")
            let database = try await settings.openJobDatabase()
            let scheduler = JobScheduler(
                jobs: try JobCatalog.jobs(settings, database: database, ledger: nil), zone: settings.scheduleZone,
                runner: JobCatalog.runner(settings, database: database))
            let now = Int64(Ledger.wallClockNanoseconds() / 1_000_000_000)
            for job in scheduler.jobs {
                let next = try await scheduler.nextSlot(of: job, now: now).map(UTCTime.text(unixSeconds:))
                let last = try await scheduler.runner.runs.history(job: job.name, limit: 1).first
                if json {
                    var object: [String: Any] = [
                        "job": job.name, "schedule": job.schedule.expression, "timeZone": settings.scheduleZone.name,
                    ]
                    object["nextRun"] = next
                    object["lastOutcome"] = last?.outcome.rawValue
                    object["lastStartedAt"] = last?.startedAt
                    print(LedgerSession.jsonLine(object))
                } else {
                    let lastText = last.map { "\($0.outcome.rawValue) at \($0.startedAt)" } ?? "never run"
                    print(
                        "\(job.name)  \(job.schedule.expression) (\(settings.scheduleZone))  next \(next ?? "never")  "
                            + "last \(lastText)")
                }
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a job now, with the same lock as scheduled runs.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's name, as jobs list shows it.") var name: String
        @Option(help: "The instant the job runs as of (ISO 8601 or Unix seconds); for tests and replays.")
        var now: String?
        @Flag(help: "Print the run as JSON.") var json = false

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.jobs")
            let instant = try now.map(ExpireCommand.parseInstant)
            let database = try await settings.openJobDatabase()
            let ledger = try LedgerSession.open(settings)
            defer { ledger.close() }
            let jobs = try JobCatalog.jobs(
                settings, database: database, ledger: LedgerSession.access(ledger, database: database))
            guard let job = jobs.first(where: { $0.name == name }) else {
                if name == "export-archive" {
                    throw CommandFailure("export-archive runs once the setting archive.folder names where to write")
                }
                throw CommandFailure("no job named \(name); jobs: \(jobs.map(\.name).joined(separator: ", "))")
            }
            switch try await JobCatalog.runner(settings, database: database).run(job, now: instant, actor: "cli") {
            case .ran(let run):
                JobsCommand.show(run, json: json)
                if run.outcome == .failed { throw ExitCode(1) }
            case .alreadyRunning, .slotTaken:
                throw CommandFailure("\(name) is running already (another process holds its lock); nothing was done")
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Past runs, newest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Only this job's runs.") var name: String?
        @Option(help: "At most this many runs (1...1000).") var limit = 50
        @Flag(help: "Print one JSON object per run.") var json = false

        func validate() throws {
            guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1...1000, got \(limit)") }
        }

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.jobs")
            let database = try await settings.openJobDatabase()
            for run in try await JobRuns(database: database).history(job: name, limit: limit) {
                JobsCommand.show(run, json: json)
            }
        }
    }

    static func show(_ run: JobRun, json: Bool) {
        if json {
            var object: [String: Any] = [
                "id": Int(run.id), "job": run.job, "trigger": run.trigger, "worker": run.worker,
                "startedAt": run.startedAt, "outcome": run.outcome.rawValue, "read": run.counts.read,
                "written": run.counts.written, "failed": run.counts.failed,
            ]
            object["endedAt"] = run.endedAt
            object["error"] = run.error
            object["slot"] = run.slotUnix.map(UTCTime.text(unixSeconds:))
            Swift.print(LedgerSession.jsonLine(object))
        } else {
            Swift.print(
                "#\(run.id) \(run.job) \(run.trigger) \(run.outcome.rawValue) \(run.startedAt) → "
                    + "\(run.endedAt ?? "…")  read \(run.counts.read), written \(run.counts.written), "
                    + "failed \(run.counts.failed)"
                    + (run.error.map { "  error: \($0)" } ?? ""))
        }
    }
}

/// `khata worker`: the scheduler alone, until SIGTERM or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the batch jobs on their schedules (the scheduler without the HTTP API).",
        discussion: """
            Runs each job when its schedule says, until SIGTERM or SIGINT; a running job then \
            finishes its current batch and its run is recorded as interrupted. khata serve runs the \
            same scheduler beside the API.

            Without --ledger-url the worker opens the data directory's ledger, so it must run on the \
            ledger owner's machine while khata serve is stopped. With --ledger-url (or the setting \
            ledger.url) it opens no ledger and reaches the owner's HTTP API with the API key of the \
            setting ledger.apiKey (KHATA_LEDGER_API_KEY), a key with the scopes read and post; run \
            it on any machine, with PostgreSQL (--database-url) as the job store every worker shares, \
            so that a slot runs once. A plain http:// URL to another machine is refused: keys must \
            not cross a network in clear.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "The ledger owner's base URL (https://HOST:PORT); default: the setting ledger.url.", valueName: "url"))
    var ledgerUrl: String?

    @Option(help: ArgumentHelp("PEM certificates of the authorities to trust for the ledger URL.", valueName: "file"))
    var ledgerCa: String?

    @Flag(help: "Allow a plain http:// ledger URL to another machine (a network you trust).")
    var allowPlainHttp = false

    func run() async throws {
        let (settings, logger) = try await global.load(label: "khata.worker")
        let database = try await settings.openJobDatabase()
        let runner = JobCatalog.runner(settings, database: database)
        if let url = ledgerUrl ?? settings.ledgerURL {
            let remote = try RemoteLedger(
                url: url, apiKey: settings.ledgerAPIKey ?? "", caCertificatePath: ledgerCa,
                allowPlainHTTP: allowPlainHttp)
            logger.info("worker reaches the ledger over its API", metadata: ["url": "\(remote.baseURL)"])
            do {
                try await Self.serve(
                    JobCatalog.jobs(settings, database: database, ledger: remote, ledgerFilesHere: false), settings,
                    runner, logger)
            } catch {
                try? await remote.shutdown()
                throw error
            }
            try await remote.shutdown()
            return
        }
        let ledger = try LedgerSession.open(settings)
        defer { ledger.close() }
        let jobs = try JobCatalog.jobs(
            settings, database: database, ledger: LedgerSession.access(ledger, database: database))
        try await Self.serve(jobs, settings, runner, logger)
    }

    private static func serve(_ jobs: [ScheduledJob], _ settings: Settings, _ runner: JobRunner, _ logger: Logger)
        async throws
    {
        let service = SchedulerService(
            scheduler: JobScheduler(jobs: jobs, zone: settings.scheduleZone, runner: runner),
            clock: Ledger.wallClockNanoseconds, logger: logger)
        try await ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}
