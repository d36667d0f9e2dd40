import Archive
import ArgumentParser
import Bookings
import Demo
import Foundation
import JobStore
import KhataCrypto
import KhataServer
import Ledger
import Logging
import NIOHTTP1
import Reconciliation
import Scheduler
import ServiceLifecycle
import UnixSignals

/// `khata demo`: one day of the platform and the night after it, end to end, on the embedded
/// store in a folder of its own, checked by itself before it says what happened.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Play a booking day and the night after it through Khata, end to end, and check the result.",
        discussion: """
            In a fresh folder (./khata-demo unless --data-dir; never KHATA_DATA_DIR) the demo \
            starts the HTTP API on 127.0.0.1 and a local SMS provider, creates the accounts, and \
            plays a day on a simulated clock: reservations from several clients, confirmed by \
            signed provider webhooks or the confirm route, cancelled, expired, paid too late, \
            refunded; the scheduler's jobs expire holds and send customers' messages (some \
            refused and retried). At night it writes the three providers' settlement files with \
            the faults real ones have, and the scheduler imports them, reconciles, clears the \
            matched payments and exports the day's archive, which the demo verifies. It prints a \
            summary, checked against the ledger first: it exits 1 naming any number that \
            disagrees. The same --seed plays the same day (the same reservations, outcomes, money and \
            reconciliation; messages' retries wait a random share of their backoff, so delivery \
            counts vary a little). The folder keeps Khata's data \
            directory (data/), the settlement files, the reports and the archive; \
            `khata serve --data-dir <folder>/data` shows the review pages afterwards.
            """)

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp("The demo's folder: refused when not empty (see --reuse).", valueName: "dir"))
    var folder = "./khata-demo"

    @Option(help: "Reservations of the day (200 to 100,000).")
    var reservations = 5_000

    @Option(help: "The seed of the day: the same seed plays the same day.")
    var seed: UInt64 = 1

    @Flag(help: "Keep serving the API and the review pages when the demo is done (until Ctrl-C).")
    var serve = false

    @Flag(help: "Replace an earlier demo's folder (one with its KHATA-DEMO file); nothing else is ever emptied.")
    var reuse = false

    @Flag(help: "JSON lines: one per phase, then the summary.")
    var json = false

    /// A drill for the checks themselves: a stray transfer out of a clearing account after the
    /// night, which the clearing check must catch and name (exit 1).
    @Flag(help: .hidden)
    var strayTransfer = false

    @Option(name: .long, help: "Lowest log level of the server's own log (on standard error).")
    var logLevel: String = "error"

    /// The day the demo plays, in Asia/Dhaka: fixed, so that a seed always gives the same day.
    static let day = CivilDate(year: 2026, month: 11, day: 26)

    func validate() throws {
        guard (200...100_000).contains(reservations) else {
            throw ValidationError("--reservations must be 200 to 100,000, not \(reservations)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let options = LogOptions.parseOrExit(["--log-level", logLevel, "--log-format", "text"])
        let logger = try options.start(label: "khata.demo")
        let paths = DemoPaths(root: folder)
        try paths.prepare(reuse: reuse)
        let progress = DemoProgress(json: json)
        let sms = DemoSMSProvider(authToken: DemoConfiguration.secret("twilio", seed: seed))
        try await sms.serving { smsPort in
            try DemoConfiguration.write(paths, seed: seed, smsPort: smsPort)
            var settings = try await Settings.load(
                dataDir: paths.data, configPath: paths.config, defaultConfigPath: nil, environment: false)
            settings.databaseURL = nil
            let clock = DemoClock(
                nanoseconds: DemoDay.instant(
                    CivilDate(daysSinceEpoch: Self.day.daysSinceEpoch - 3),
                    second: 9 * 3_600))
            try await play(
                settings: settings, paths: paths, clock: clock, sms: sms, progress: progress,
                logger: logger, started: started)
        }
    }

    private func play(
        settings: Settings, paths: DemoPaths, clock: DemoClock, sms: DemoSMSProvider, progress: DemoProgress,
        logger: Logger, started: ContinuousClock.Instant
    ) async throws {
        progress.begin("setup")
        let database = try await settings.openJobDatabase()
        let metrics = ServerMetrics()
        let ledger = try LedgerSession.open(settings, groupObserver: metrics, clock: clock.read)
        defer { ledger.close() }
        let (key, _) = try await APIKeys(database: database).create(name: "demo", scopes: [.admin])
        let scheduler = JobScheduler(
            jobs: try JobCatalog.jobs(
                settings, database: database,
                ledger: LedgerSession.access(ledger, database: database, clock: clock.read),
                clock: clock.read),
            zone: settings.scheduleZone, runner: JobCatalog.runner(settings, database: database, clock: clock.read))
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.clock = clock.read
        configuration.webhookSecrets = settings.webhookSecrets
        configuration.scheduler = scheduler
        configuration.reconciliationAccounts = settings.reconciliation.accounts
        configuration.twilioAuthToken = settings.notifications.twilio.authToken
        configuration.twilioCallbackURL = settings.notifications.twilio.statusCallbackURL
        configuration.maximumSettlementBytes = 256 << 20
        configuration.onListening = { port in portContinuation.yield(port) }
        try await KhataServer.prepareLedger(ledger)
        let application = try KhataServer.application(
            ledger: ledger, database: database, configuration: configuration, metrics: metrics)
        let services = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw CommandFailure("the server did not start") }
            let api = DemoAPI(port: port, apiKey: key, webhookSecrets: settings.webhookSecrets, clock: clock)
            let outcome: Result<DemoSummary, any Error>
            do {
                outcome = .success(
                    try await playDay(
                        api: api, ledger: ledger, database: database, scheduler: scheduler, sms: sms, paths: paths,
                        clock: clock, progress: progress))
            } catch {
                outcome = .failure(error)
            }
            try? await api.shutdown()
            let summary = try outcome.get()
            let place = DemoSummary.Where(
                root: paths.root, data: paths.data, settlements: paths.settlements,
                settlementFiles: ProviderFileWriter.providers.map {
                    paths.settlements($0) + "/\($0)-settlement-\(Self.day).csv"
                },
                reportsFolder: paths.reports,
                reports: (try? FileManager.default.contentsOfDirectory(atPath: paths.reports))?.sorted().map {
                    paths.reports + "/" + $0
                } ?? [],
                archive: paths.archive, apiKey: key, seed: seed, date: "\(Self.day)",
                seconds: DemoProgress.seconds(ContinuousClock.now - started))
            if json {
                print(LedgerSession.jsonLine(["summary": summary.json(place)]))
            } else {
                print(summary.text(place))
            }
            // Out before serving: a summary piped somewhere must not wait in a buffer for the end
            // (nil flushes every output stream).
            fflush(nil)
            if serve && summary.passed {
                clock.followWall()
                FileHandle.standardError.write(
                    Data(
                        "Serving the demo's data on http://127.0.0.1:\(port) (review pages: /ui/runs); Ctrl-C stops.\n"
                            .utf8))
                try await group.next()
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            guard summary.passed else {
                let failed = summary.checks.filter { !$0.passed }.map { "\($0.name): \($0.detail)" }
                throw CommandFailure("the demo's checks disagree: " + failed.joined(separator: "; "))
            }
        }
    }

    /// The day, the night and the checks, with the server up at `api`.
    private func playDay(
        api: DemoAPI, ledger: Ledger, database: JobDatabase, scheduler: JobScheduler, sms: DemoSMSProvider,
        paths: DemoPaths, clock: DemoClock, progress: DemoProgress
    ) async throws -> DemoSummary {
        for index in 1...DemoPlan.merchantCount {
            try await api.call(.POST, "/v1/accounts", json: ["key": "merchant:SVC-\(index)", "currency": "BDT"])
        }
        for key in [ClearingAccounts.defaultSettlementBankKey, ClearingAccounts.defaultFeeExpenseKey] {
            try await api.call(.POST, "/v1/accounts", json: ["key": key, "currency": "BDT"])
        }
        let day = DemoDay(api: api, clock: clock, scheduler: scheduler, sms: sms, date: Self.day, seed: seed)
        // Three days before: two payments of each provider, one to settle late, one never.
        let earlierPlan = DemoPlan.day(seed: seed, count: 6, bookingPrefix: "EARLY").enumerated().map { index, plan in
            var reservation = plan
            reservation.provider = DemoPlan.providers[index % 3]
            reservation.outcome = .confirmedByWebhook(afterSeconds: 300)
            reservation.refund = nil
            return reservation
        }
        try await day.prologue(earlierPlan)
        progress.end(
            "the API on 127.0.0.1 and a local SMS provider; \(DemoPlan.merchantCount) merchants, the clearing, bank "
                + "and fee accounts; 6 payments three days before",
            fields: ["api": api.baseURL, "merchants": DemoPlan.merchantCount, "earlierPayments": earlierPlan.count])
        progress.begin("day")
        let plan = DemoPlan.day(seed: seed, count: reservations)
        try await day.play(plan) { done, total in progress.update(done, total) }
        progress.end(
            "\(LedgerSession.grouped(plan.count)) reservations and what became of them, minute by minute",
            fields: ["reservations": plan.count])
        progress.begin("settlement files")
        let night = DemoNight(api: api, day: day, paths: paths)
        let states = try await night.states(of: plan.map(\.bookingId))
        let earlierStates = try await night.states(of: earlierPlan.map(\.bookingId))
        let nextDay = CivilDate(daysSinceEpoch: Self.day.daysSinceEpoch + 1)
        clock.set(DemoDay.instant(nextDay, second: 30 * 60))
        let paidLate = plan.compactMap { reservation -> (String, String, Int64, UInt64)? in
            guard case .paidAfterExpiry(let after) = reservation.outcome else { return nil }
            return (
                reservation.provider.lowercased(), BookingIds(bookingId: reservation.bookingId).paymentReference,
                reservation.amountMinor, DemoDay.instant(Self.day, second: reservation.madeAtSecond + after)
            )
        }
        let earlierCaptured = DemoNight.captured(earlierPlan, earlierStates)
        let (files, faults) = try night.writeFiles(
            today: DemoNight.captured(plan, states), earlier: earlierCaptured,
            paidAfterExpiry: paidLate.map {
                (provider: $0.0, paymentReference: $0.1, amountMinor: $0.2, atNanoseconds: $0.3)
            })
        progress.end(
            "\(files.count) files with \(faults.count) faults in the intake folders at 00:30",
            fields: ["files": files.values.sorted(), "faults": faults.count])
        progress.begin("night jobs")
        try await night.runUntil(second: 3 * 3_600 + 35 * 60) { done, total in progress.update(done, total) }
        let runs = try await Mismatches(database: database).runs(provider: nil, limit: 50)
            .filter { $0.settlementDate == "\(Self.day)" }
        let latest = ProviderFileWriter.providers.compactMap { provider in runs.first { $0.provider == provider } }
        progress.end(
            "imported at 01:00, reconciled and cleared at 02:00, archived at 03:30",
            fields: ["reconciliationRuns": latest.map(\.id)])
        progress.begin("reports and archive")
        let reports = try await night.writeReports(latest.map { ["id": $0.id, "provider": $0.provider] })
        var summary = DemoSummary()
        var archiveCheck: DemoSummary.Check
        let publicKey = try settings(paths).archive.signingKey().publicKey
        do {
            let check = try await Task.detached {
                try ArchiveVerifier.verify(directory: paths.archive, trustedKey: publicKey)
            }
            .value
            summary.archive = DemoSummary.ArchiveFacts(
                files: check.files, firstSequence: check.firstSequence, lastSequence: check.lastSequence,
                chainHead: check.endChain, compressedBytes: check.compressedBytes, logBytes: check.logBytes)
            archiveCheck =
                (DemoSummary.Check(
                    name: "archive", passed: check.startsAtFirstSequence,
                    detail:
                        "verified: \(check.files) files, sequences \(check.firstSequence) to \(check.lastSequence), "
                        + "every hash, checksum and the chain"))
        } catch {
            archiveCheck = DemoSummary.Check(name: "archive", passed: false, detail: "\(error)")
        }
        progress.end(
            "HTML and CSV reports of each run; the archive verified", fields: ["reports": reports])
        if strayTransfer {
            try await api.call(
                .POST, "/v1/transfers",
                json: [
                    "id": "1", "debitAccount": ClearingAccounts.defaultSettlementBankKey,
                    "creditAccount": ClearingAccounts.clearingKey(provider: "bkash"), "amount": "1.00",
                ], expected: [201])
        }
        progress.begin("checks")
        try await summary.gather(
            plan: plan, states: states, earlierPlan: earlierPlan, earlier: earlierStates, ledger: ledger, runs: latest,
            database: database)
        let settledLate = Set(faults.filter { $0.kind == InjectedFault.Kind.lateLine }.map(\.providerTxnId))
        let unsettled = Set(earlierCaptured.filter { !settledLate.contains($0.providerTxnId) }.map(\.paymentReference))
        try await summary.reconcile(runs: latest, faults: faults, unsettledReferences: unsettled, database: database)
        try await summary.notifications(database: database, sms: sms)
        summary.checks.append(archiveCheck)
        progress.end(
            summary.passed ? "every check agrees" : "some checks disagree",
            fields: ["passed": summary.checks.filter(\.passed).map(\.name)])
        return summary
    }

    private func settings(_ paths: DemoPaths) -> Settings {
        var settings = Settings(dataDir: paths.data)
        settings.archive = ArchiveSettings(
            folder: paths.archive, signingKeyFile: paths.data + "/archive-signing.pem", publicKey: nil)
        return settings
    }
}
