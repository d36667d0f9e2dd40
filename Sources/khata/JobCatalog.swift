import Archive
import Expiry
import Foundation
import JobStore
import Ledger
import LedgerAccess
import Logging
import Notifications
import Reconciliation
import Scheduler
import SettlementImport

/// The batch jobs `khata` knows, with their default schedules.
enum JobCatalog {
    /// Job name → cron schedule (in the scheduler's time zone).
    static let defaultSchedules = [
        "expire-reservations": "* * * * *", "import-settlements": "0 1 * * *", "reconcile-settlements": "0 2 * * *",
        "dispatch-notifications": "* * * * *", "export-archive": "30 3 * * *",
    ]

    /// The settings key of a job: its name in camel case (`expireReservations`).
    static func configurationKey(_ name: String) -> String {
        let parts = name.split(separator: "-")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }

    /// The jobs, with their state in `database`, run against `ledger` (in this process, or the
    /// owner's API from another machine; nil for commands that only list or read history, where
    /// running a job that needs it fails with a clear error). Every job here but
    /// `export-archive` needs only `LedgerAccess` and the job store, so a worker without the data
    /// directory runs them; `export-archive` reads the segment files, so it is offered only
    /// where they are (`ledgerFilesHere`) and only once `archive.folder` names where to write.
    /// `clock` times what the jobs stamp and schedule themselves (imports, message retries):
    /// the wall clock, but for the demo's simulated day.
    static func jobs(
        _ settings: Settings, database: JobDatabase, ledger: (any LedgerAccess)?, ledgerFilesHere: Bool = true,
        clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    ) throws -> [ScheduledJob] {
        let offered = settings.jobSchedules.keys.sorted().filter { name in
            name != "export-archive" || (ledgerFilesHere && settings.archive.folder != nil)
        }
        return try offered.map { name in
            // Safe: Settings checked every schedule.
            let schedule = try CronSchedule(settings.jobSchedules[name]!)
            switch name {
            case "expire-reservations":
                return ScheduledJob(name: name, schedule: schedule) { context in
                    guard let ledger else { throw CommandFailure("the job \(name) needs the ledger") }
                    let job = ExpiryJob(ledger: ledger, batchSize: settings.expiryBatchSize)
                    let outcome = try await job.run(now: context.now, shouldStop: context.shouldStop) { soFar in
                        await context.progress(counts(soFar))
                    }
                    return (counts(outcome), context.shouldStop())
                }
            case "import-settlements":
                return ScheduledJob(name: name, schedule: schedule) { context in
                    let intake = SettlementIntake(
                        importer: SettlementImporter(
                            store: SettlementLines(database: database), clock: clock),
                        folders: settings.settlementIntake.sorted { $0.key < $1.key }.compactMap { provider, path in
                            SettlementDialect.named(provider).map { SettlementIntake.Folder(dialect: $0, path: path) }
                        },
                        settleSeconds: Int64(settings.intakeSettleSeconds))
                    let outcome = try await intake.run(now: context.now, shouldStop: context.shouldStop)
                    let counts = JobCounts(
                        read: outcome.imported + outcome.alreadyImported + outcome.refused,
                        written: outcome.imported, failed: outcome.refused)
                    return (counts, context.shouldStop())
                }
            case "reconcile-settlements":
                return ScheduledJob(name: name, schedule: schedule) { context in
                    guard let ledger else { throw CommandFailure("the job \(name) needs the ledger") }
                    let job = ReconciliationJob(database: database, ledger: ledger, settings: settings.reconciliation)
                    let nightly = NightlyReconciliation(job: job)
                    let outcome = try await nightly.run(
                        now: context.now, runBy: context.actor ?? "scheduler", shouldStop: context.shouldStop)
                    return (
                        JobCounts(read: outcome.linesRead, written: outcome.runs, failed: outcome.mismatches),
                        context.shouldStop()
                    )
                }
            case "dispatch-notifications":
                return ScheduledJob(name: name, schedule: schedule) { context in
                    guard let ledger else { throw CommandFailure("the job \(name) needs the ledger") }
                    let (derived, sent) = try await NotificationPass.run(
                        settings, database: database, ledger: ledger, now: context.now,
                        worker: NotificationPass.workerName, clock: clock, shouldStop: context.shouldStop)
                    let counts = JobCounts(
                        read: derived.eventsFound + sent.claimed, written: sent.delivered + sent.accepted,
                        failed: sent.dead + derived.eventsDead)
                    return (counts, context.shouldStop())
                }
            case "export-archive":
                return ScheduledJob(name: name, schedule: schedule) { context in
                    // Safe: the job is offered only when the folder is set.
                    let request = try settings.exportRequest(folder: settings.archive.folder!, database: database)
                    let outcome = try await ArchiveExporter.exportInBackground(request)
                    let logger = Logger(label: "khata.export-archive")
                    guard let manifest = outcome.manifest, let folder = outcome.folder else {
                        logger.info(
                            "nothing new to archive",
                            metadata: ["reason": "\(outcome.nothingToExport ?? "nothing to export")"])
                        return (JobCounts(), false)
                    }
                    logger.notice(
                        "ledger archived; record the chain head elsewhere",
                        metadata: [
                            "folder": "\(folder)", "first_sequence": "\(manifest.firstSequence)",
                            "last_sequence": "\(manifest.lastSequence)", "chain_head": "\(manifest.endChain)",
                        ])
                    return (JobCounts(read: manifest.records.records, written: manifest.files.count), false)
                }
            default: preconditionFailure("no job named \(name)")
            }
        }
    }

    /// An expiry run's counts: holds read from the index, voided, and not yet due by the
    /// ledger's clock.
    private static func counts(_ outcome: ExpiryOutcome) -> JobCounts {
        JobCounts(read: outcome.due, written: outcome.expired, failed: outcome.notYetDue)
    }

    static func runner(
        _ settings: Settings, database: JobDatabase,
        clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    ) -> JobRunner {
        JobRunner(database: database, lockDirectory: settings.dataDir + "/locks", clock: clock)
    }
}
