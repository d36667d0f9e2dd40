import ArgumentParser
import JobStore
import KhataServer
import Ledger
import LedgerStorage
import Logging
import Reconciliation
import Scheduler

/// `khata serve`: the HTTP API over the data directory's ledger and job store, until SIGTERM or
/// SIGINT, after which it stops accepting connections, finishes the requests in flight and closes
/// the ledger (everything acknowledged is durable by then).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (accounts, transfers, reservations, refunds, webhooks) over the ledger.",
        discussion: """
            Every /v1 route but the webhooks needs an API key (khata keys create). Webhook secrets \
            come from the settings webhooks.<provider>.secret (KHATA_WEBHOOKS_BKASH_SECRET, …). The \
            batch jobs' scheduler runs beside the API (see khata jobs) unless --no-scheduler.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one; the log says which).")
    var port = 8080

    @Option(help: "The largest request body accepted, in bytes.")
    var maximumBodyBytes = 1 << 20

    @Option(help: ArgumentHelp("The largest settlement file POST /v1/settlements takes, in bytes.", valueName: "bytes"))
    var maximumSettlementBytes = 256 << 20

    @Option(help: ArgumentHelp("PEM certificate chain: serve HTTPS only (with --tls-key).", valueName: "file"))
    var tlsCertificate: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-certificate.", valueName: "file"))
    var tlsKey: String?

    @Flag(help: "Do not run the batch jobs' scheduler beside the API (run khata worker instead).")
    var noScheduler = false

    @Option(help: "How long a verified API key is remembered, in milliseconds (a revocation takes this long).")
    var keyCacheMilliseconds = 5_000

    func run() async throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535, not \(port)") }
        guard maximumBodyBytes > 0 else { throw ValidationError("--maximum-body-bytes must be positive") }
        guard maximumSettlementBytes > 0 else { throw ValidationError("--maximum-settlement-bytes must be positive") }
        guard keyCacheMilliseconds >= 0 else { throw ValidationError("--key-cache-milliseconds must not be negative") }
        let (settings, logger) = try await global.load(label: "khata.serve")
        // A TLS setting that cannot work is refused before the job store or the ledger is opened.
        var tlsFiles = ServerConfiguration()
        tlsFiles.tlsCertificatePath = tlsCertificate
        tlsFiles.tlsKeyPath = tlsKey
        _ = try KhataServer.tls(tlsFiles)
        // So is a message template that cannot be used, naming its file.
        _ = try NotificationPass.templates(settings)
        let database = try await settings.openJobDatabase()
        let metrics = ServerMetrics()
        let ledger = try LedgerSession.open(settings, groupObserver: metrics)
        defer { ledger.close() }
        // Sealed segments are verified in the background: damage shows in /health, /metrics and
        // the log long before a request needs the damaged record.
        ledger.startScrub(settings.scrub) { [logger] pass in
            if pass.damage.isEmpty {
                logger.info(
                    "scrub pass verified sealed segments",
                    metadata: ["segments": "\(pass.segments)", "records": "\(pass.records)", "bytes": "\(pass.bytes)"])
            }
            for damage in pass.damage {
                logger.error(
                    "scrub found a damaged sealed segment; repair it from an archive (docs/OPERATIONS.md)",
                    metadata: [
                        "file": "\(damage.path ?? "?")", "offset": "\(damage.offset.map(String.init) ?? "?")",
                        "problem": "\(damage.message)",
                    ])
            }
        }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maximumBodyBytes = maximumBodyBytes
        configuration.maximumSettlementBytes = maximumSettlementBytes
        configuration.keyCacheMilliseconds = keyCacheMilliseconds
        configuration.webhookSecrets = settings.webhookSecrets
        configuration.tlsCertificatePath = tlsCertificate
        configuration.tlsKeyPath = tlsKey
        configuration.reconciliationAccounts = settings.reconciliation.accounts
        configuration.reviewSessionSeconds = settings.reviewSessionHours * 3_600
        configuration.trustedProxies = settings.trustedProxies
        configuration.twilioAuthToken = settings.notifications.twilio.authToken
        configuration.twilioCallbackURL = settings.notifications.twilio.statusCallbackURL
        let jobs = JobScheduler(
            jobs: try JobCatalog.jobs(
                settings, database: database, ledger: LedgerSession.access(ledger, database: database)),
            zone: settings.scheduleZone,
            runner: JobCatalog.runner(settings, database: database))
        configuration.scheduler = jobs
        let scheduler = SchedulerService(scheduler: jobs, clock: Ledger.wallClockNanoseconds, logger: logger)
        try await KhataServer.serve(
            ledger: ledger, database: database, configuration: configuration, metrics: metrics,
            services: noScheduler ? [] : [scheduler], logger: logger)
    }
}
