import Bookings
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import JSONInput
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import LedgerStorage
import Logging
import NIOCore
import NIOSSL
import Reconciliation
import ReviewPages
import Scheduler
import ServiceLifecycle
import UnixSignals

/// Everything the server is configured with beyond the ledger and the job store.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// The largest request body accepted; larger ones are refused with 413.
    public var maximumBodyBytes = 1 << 20
    /// Webhook signing secrets by provider name (`bkash`, `nagad`, `sslcommerz`); a provider
    /// without one has its webhook route answer 503.
    public var webhookSecrets: [String: String] = [:]
    /// How far a webhook's timestamp may be from now, either way.
    public var webhookToleranceSeconds: UInt64 = 300
    /// The largest settlement file `POST /v1/settlements/{provider}` takes (streamed to a file).
    public var maximumSettlementBytes = 256 << 20
    /// How long a verified API key is remembered; a revoked key stops working within this time.
    public var keyCacheMilliseconds = 5_000
    /// Nanoseconds since the Unix epoch: the same clock as the ledger's, so that a reservation's
    /// window is judged as the ledger judges it.
    public var clock: @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    /// The batch jobs the API lists and runs by hand (`/v1/jobs`); nil for none.
    public var scheduler: JobScheduler?
    /// PEM files of the server's certificate chain and private key: with both, the server speaks
    /// HTTPS only, so that API keys do not cross the network in clear.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The accounts a reviewer's resolutions post to (`reconciliation.*Account` settings).
    public var reconciliationAccounts = ClearingAccounts()
    /// How long a review page session lasts after signing in (a working day by default).
    public var reviewSessionSeconds = 8 * 3_600
    /// The IP addresses of proxies in front of the server whose `X-Forwarded-Proto: https` is
    /// believed, so that the review pages' cookies are `Secure` behind a TLS-terminating proxy.
    public var trustedProxies: [String] = []
    /// Mismatches per page of the review pages' mismatch lists.
    public var reviewPageSize = 100
    /// The SMS provider's account token and the public URL of its status callback, which it
    /// signs together; without both, its reports are refused (503).
    public var twilioAuthToken: String?
    public var twilioCallbackURL: String?
    /// Told the port the server listens on once it does (with `port` 0, the one it picked).
    public var onListening: (@Sendable (Int) async -> Void)?

    public init() {}
}

/// The HTTP API over a ledger: accounts, transfers, reservations, refunds, provider webhooks.
/// JSON in and out; amounts are decimal strings in major units or whole numbers, never floats;
/// every error is `application/problem+json` with a stable type.
public enum KhataServer {
    /// Khata's version: what `khata --version` prints and the OpenAPI document's `info.version`.
    public static let version = "0.1.0"

    /// The application serving `ledger` with its job state in `database`.
    public static func application(
        ledger: Ledger, database: JobDatabase, configuration: ServerConfiguration, metrics: ServerMetrics
    ) throws -> some ApplicationProtocol {
        let http = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ProtocolErrorHandler()]))
        return Application(
            router: try router(ledger: ledger, database: database, configuration: configuration, metrics: metrics),
            server: try tls(configuration).map { try .tls(http, tlsConfiguration: $0) } ?? http,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "khata"),
            onServerRunning: { [onListening = configuration.onListening] channel in
                await onListening?(channel.localAddress?.port ?? 0)
            })
    }

    /// The TLS configuration of the certificate and key files, nil for plain HTTP; a missing half
    /// or a file that is not PEM is a `ServerSetupError` naming it. `khata serve` checks this
    /// before it opens anything.
    public static func tls(_ configuration: ServerConfiguration) throws -> TLSConfiguration? {
        switch (configuration.tlsCertificatePath, configuration.tlsKeyPath) {
        case (nil, nil): return nil
        case (let certificatePath?, let keyPath?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                guard !chain.isEmpty else { throw ServerSetupError("\(certificatePath) holds no PEM certificate") }
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            } catch let error as ServerSetupError {
                throw error
            } catch {
                throw ServerSetupError(
                    "cannot use the TLS certificate \(certificatePath) with the key \(keyPath): \(error)")
            }
        default:
            throw ServerSetupError("TLS needs both a certificate (--tls-certificate) and its key (--tls-key)")
        }
    }

    /// Creates the providers' clearing accounts (BDT) when they are missing: every reservation
    /// holds from one of them.
    public static func prepareLedger(_ ledger: Ledger) async throws {
        do {
            try await BookingDesk.openClearingAccounts(in: ledger)
        } catch {
            throw ServerSetupError(error.message)
        }
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections and lets the requests in
    /// flight finish; `services` (the job scheduler) run beside it and stop gracefully with it.
    public static func serve(
        ledger: Ledger, database: JobDatabase, configuration: ServerConfiguration, metrics: ServerMetrics,
        services: [any Service] = [], logger: Logger = Logger(label: "khata.serve")
    ) async throws {
        try await prepareLedger(ledger)
        let app = try application(ledger: ledger, database: database, configuration: configuration, metrics: metrics)
        do {
            try await ServiceGroup(
                configuration: .init(
                    services: [app] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            ).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EADDRNOTAVAIL {
            let why =
                error.errnoCode == EADDRINUSE
                ? "another process is listening there; stop it or choose another --port"
                : "no interface of this machine has that address; choose another --host"
            throw ServerSetupError("cannot listen on \(configuration.host):\(configuration.port): \(why)")
        }
    }

    /// The routes, for tests and for embedding. `metrics` should be the group observer the ledger
    /// was opened with, so that /metrics shows its commit groups.
    public static func router(
        ledger: Ledger, database: JobDatabase, configuration: ServerConfiguration,
        metrics: ServerMetrics = ServerMetrics()
    ) throws -> Router<KhataRequestContext> {
        var secrets: [Provider: [UInt8]] = [:]
        for (name, secret) in configuration.webhookSecrets {
            guard let provider = Provider(pathName: name) else {
                throw ServerSetupError("a webhook secret is configured for \"\(name)\", which is not a provider")
            }
            guard secret.utf8.count >= 16 else {
                throw ServerSetupError("the webhook secret of \(name) must be at least 16 bytes")
            }
            secrets[provider] = Array(secret.utf8)
        }
        let served = ServedLedger(ledger: ledger)
        let bodies = BodyReader(maximumBytes: configuration.maximumBodyBytes)
        let desk = BookingDesk(
            ledger: ledger, records: ReservationRecords(database: database), now: configuration.clock)
        let auth = Authenticator(
            keys: APIKeys(database: database), cacheMilliseconds: configuration.keyCacheMilliseconds)
        let reviewer = MismatchReviewer(
            database: database, ledger: LocalLedger(ledger: ledger, desk: desk),
            accounts: configuration.reconciliationAccounts)
        let pages = ReviewPages()
        let controllers: [any APIController] = [
            HealthController(ledger: ledger, metrics: metrics),
            AccountsController(ledger: served, bodies: bodies),
            TransfersController(ledger: served, bodies: bodies),
            RefundsController(ledger: served, bodies: bodies),
            HoldsController(ledger: served, bodies: bodies, now: configuration.clock),
            BookingEventsController(ledger: served),
            PaymentsController(ledger: served, bodies: bodies, now: configuration.clock),
            ReservationsController(desk: desk, bodies: bodies),
            WebhooksController(
                desk: desk, bodies: bodies, secrets: secrets, toleranceSeconds: configuration.webhookToleranceSeconds),
            JobsController(scheduler: configuration.scheduler, auth: auth, now: configuration.clock),
            SettlementsController(
                store: SettlementLines(database: database), auth: auth,
                maximumBytes: configuration.maximumSettlementBytes, now: configuration.clock),
            ContactsController(contacts: Contacts(database: database), bodies: bodies, now: configuration.clock),
            NotificationsController(
                queue: JobStore.NotificationQueue(database: database), bodies: bodies, now: configuration.clock,
                twilioAuthToken: configuration.twilioAuthToken, twilioCallbackURL: configuration.twilioCallbackURL),
            ReconciliationController(
                database: database, reviewer: reviewer, ledger: served, bodies: bodies, auth: auth,
                now: configuration.clock, pages: pages),
        ]
        let routes = controllers.flatMap(\.routes)
        let all = routes + DocsController(documenting: routes).routes
        let router = Router(context: KhataRequestContext.self)
        router.add(
            middleware: RequestIdMiddleware(
                metrics: metrics, routes: RouteTable(all, pages: ReviewUIController.templates)))
        RouteTable.mount(all, on: router, auth: auth)
        ReviewUIController(
            database: database, reviewer: reviewer, ledger: served, keys: APIKeys(database: database),
            sessions: ReviewSessions(database: database), pages: pages, now: configuration.clock,
            sessionSeconds: configuration.reviewSessionSeconds, servesTLS: configuration.tlsCertificatePath != nil,
            trustedProxies: Set(configuration.trustedProxies), pageSize: configuration.reviewPageSize
        ).mount(on: router)
        return router
    }
}

/// A configuration the server cannot start with.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
