import Foundation
import Hummingbird
import JSONInput
import JobStore
import Ledger
import LedgerCore
import LedgerStorage
import Logging
import NIOCore
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
    /// How long a verified API key is remembered; a revoked key stops working within this time.
    public var keyCacheMilliseconds = 5_000
    /// Nanoseconds since the Unix epoch: the same clock as the ledger's, so that a reservation's
    /// window is judged as the ledger judges it.
    public var clock: @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    /// The batch jobs the API lists and runs by hand (`/v1/jobs`); nil for none.
    public var scheduler: JobScheduler?

    public init() {}
}

/// The HTTP API over a ledger: accounts, transfers, reservations, refunds, provider webhooks.
/// JSON in and out; amounts are decimal strings in major units or whole numbers, never floats;
/// every error is `application/problem+json` with a stable type.
public enum KhataServer {
    /// The application serving `ledger` with its job state in `database`.
    public static func application(
        ledger: Ledger, database: JobDatabase, configuration: ServerConfiguration, metrics: ServerMetrics
    ) throws -> some ApplicationProtocol {
        Application(
            router: try router(ledger: ledger, database: database, configuration: configuration, metrics: metrics),
            server: .http1(configuration: .init(additionalChannelHandlers: [ProtocolErrorHandler()])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "khata"))
    }

    /// Creates the providers' clearing accounts (BDT) when they are missing: every reservation
    /// holds from one of them.
    public static func prepareLedger(_ ledger: Ledger) async throws {
        let events = Provider.allCases.map { provider in
            Event.createAccount(
                NewAccount(
                    id: NewAccount.derivedId(forKey: provider.clearingAccountKey), key: provider.clearingAccountKey,
                    currency: .bdt))
        }
        let results = try await ledger.submit(events)
        for (provider, result) in zip(Provider.allCases, results) where !result.code.succeeded {
            throw ServerSetupError(
                "the clearing account \(provider.clearingAccountKey) cannot be created: \(result.code)")
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
    ) throws -> Router<BasicRequestContext> {
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
        let api = API(
            ledger: ledger, records: ReservationRecords(database: database),
            auth: Authenticator(
                keys: APIKeys(database: database), cacheMilliseconds: configuration.keyCacheMilliseconds),
            maximumBodyBytes: configuration.maximumBodyBytes, webhookSecrets: secrets,
            webhookToleranceSeconds: configuration.webhookToleranceSeconds, now: configuration.clock,
            scheduler: configuration.scheduler)
        let router = Router()
        let routes = RouteTable()
        router.add(middleware: RequestIdMiddleware(metrics: metrics, routes: routes))
        routes.add(.get, "/health", on: router) { _, _ in try api.health() }
        routes.add(.get, "/docs", on: router) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
        routes.add(.get, "/metrics", on: router) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(ledger: ledger))))
        }
        routes.add(.post, "/v1/accounts", on: router) { request, context in
            try await api.auth.authorize(request, .admin)
            return try await api.createAccount(request, context)
        }
        routes.add(.get, "/v1/accounts/{key}", on: router) { request, context in
            try await api.auth.authorize(request, .read)
            return try api.account(context.pathParameter("key"))
        }
        routes.add(.get, "/v1/accounts/{key}/history", on: router) { request, context in
            try await api.auth.authorize(request, .read)
            let query = request.uri.queryParameters
            return try api.history(
                context.pathParameter("key"), after: query["after"].map(String.init),
                limit: query["limit"].map(String.init))
        }
        routes.add(.post, "/v1/transfers", on: router) { request, context in
            try await api.auth.authorize(request, .post)
            return try await api.createTransfer(request, context)
        }
        routes.add(.post, "/v1/transfers/batch", on: router) { request, context in
            try await api.auth.authorize(request, .post)
            return try await api.createBatch(request, context)
        }
        routes.add(.get, "/v1/transfers/{id}", on: router) { request, context in
            try await api.auth.authorize(request, .read)
            return try api.transfer(context.pathParameter("id"))
        }
        routes.add(.post, "/v1/refunds", on: router) { request, context in
            try await api.auth.authorize(request, .finance)
            return try await api.refund(request, context)
        }
        routes.add(.post, "/v1/reservations", on: router) { request, context in
            try await api.auth.authorize(request, .post)
            return try await api.createReservation(request, context)
        }
        routes.add(.get, "/v1/reservations/{id}", on: router) { request, context in
            try await api.auth.authorize(request, .read)
            return try await api.reservation(context.pathParameter("id"))
        }
        routes.add(.post, "/v1/reservations/{id}/confirm", on: router) { request, context in
            try await api.auth.authorize(request, .post)
            return try await api.confirmReservation(context.pathParameter("id"), request)
        }
        routes.add(.post, "/v1/reservations/{id}/cancel", on: router) { request, context in
            try await api.auth.authorize(request, .post)
            return try await api.cancelReservation(context.pathParameter("id"))
        }
        routes.add(.get, "/v1/jobs", on: router) { request, _ in
            try await api.auth.authorize(request, .read)
            return try await api.jobs()
        }
        routes.add(.post, "/v1/jobs/{name}/run", on: router) { request, context in
            try await api.auth.authorize(request, .admin)
            return try await api.runJob(context.pathParameter("name"))
        }
        routes.add(.get, "/v1/jobs/runs", on: router) { request, _ in
            try await api.auth.authorize(request, .read)
            let query = request.uri.queryParameters
            return try await api.jobRuns(job: query["job"].map(String.init), limit: query["limit"].map(String.init))
        }
        routes.add(.post, "/v1/webhooks/{provider}", on: router) { request, context in
            try await api.webhook(context.pathParameter("provider"), request, context)
        }
        return router
    }
}

/// A configuration the server cannot start with.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The handlers: each turns a request into ledger events or reads, and results into JSON.
struct API: Sendable {
    let ledger: Ledger
    let records: ReservationRecords
    let auth: Authenticator
    let maximumBodyBytes: Int
    let webhookSecrets: [Provider: [UInt8]]
    let webhookToleranceSeconds: UInt64
    let now: @Sendable () -> UInt64
    let scheduler: JobScheduler?

    /// Liveness (the server answers) and readiness (the ledger takes writes): 200 when ready,
    /// 503 with the reason when the ledger stopped after a failed write. A damaged log record
    /// keeps 200 (new postings are still safe, and the only ledger owner must not leave its load
    /// balancer) but says `damaged`, with where.
    func health() throws -> Response {
        struct DamageBody: Encodable {
            let file: String
            let offset: Int
            let sequence: UInt64?
            let reason: String
        }
        struct ScrubBody: Encodable {
            let passes: Int
            let bytesVerified: Int
            let lastPassSegments: Int?
            let lastPassEndedAt: String?
        }
        struct Body: Encodable {
            let status: String
            let ledger: String
            let committedSequence: UInt64
            let queueDepth: Int
            let detail: String?
            let damage: [DamageBody]?
            let scrub: ScrubBody
        }
        let failure = ledger.stoppedBy
        let damage = ledger.damage
        let scrub = ledger.scrubStatus
        let state =
            failure != nil ? ("unavailable", "failed") : damage.isEmpty ? ("ok", "ready") : ("degraded", "damaged")
        return try JSONResponse.make(
            Body(
                status: state.0, ledger: state.1, committedSequence: ledger.committedSequence,
                queueDepth: ledger.queueDepth, detail: failure.map { "\($0)" },
                damage: damage.isEmpty
                    ? nil
                    : damage.prefix(20).map {
                        DamageBody(file: $0.path, offset: $0.offset, sequence: $0.sequence, reason: $0.reason)
                    },
                scrub: ScrubBody(
                    passes: scrub.passes, bytesVerified: scrub.bytesVerified,
                    lastPassSegments: scrub.passes > 0 ? scrub.lastPassSegments : nil,
                    lastPassEndedAt: scrub.lastPassEndedAt.map { UTCTime.text(nanoseconds: $0) })),
            status: failure == nil ? .ok : .serviceUnavailable)
    }

    /// The body's bytes, refused with 413 beyond the configured limit.
    func rawBody(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maximumBodyBytes).readableBytesView)
        } catch {
            throw Problem(
                .contentTooLarge, "body-too-large", "Body too large",
                detail: "the body is larger than \(maximumBodyBytes) bytes")
        }
    }

    /// Submits a batch and returns its results; a ledger that cannot take it is a problem.
    func submitBatch(_ events: [Event]) async throws -> [EventResult] {
        do {
            return try await ledger.submit(events)
        } catch {
            throw ledgerProblem(error)
        }
    }

    /// The problem answering a ledger error: 503 when it is overloaded, 500 `ledger-damaged`
    /// when a record it needed failed its checksum, else 500 `ledger-unavailable`.
    func ledgerProblem(_ error: LedgerError) -> Problem {
        switch error {
        case .overloaded:
            return Problem(
                .serviceUnavailable, "overloaded", "Ledger overloaded",
                detail: "the ledger's queue is full; retry with the same ids")
        case .damagedRecord(let damage):
            return Self.damagedProblem(sequence: damage.sequence, location: damage.shortLocation)
        default:
            return Problem(.internalServerError, "ledger-unavailable", "Ledger unavailable", detail: "\(error)")
        }
    }

    /// 500 `ledger-damaged`: a record the request needs failed its checksum; nothing was read
    /// from it and nothing was changed. Logged at error level with the location.
    static func damagedProblem(sequence: UInt64?, location: String?) -> Problem {
        let record = sequence.map { "the log record at sequence \($0)" } ?? "a log record"
        let place = location.map { " (\($0))" } ?? ""
        return Problem(
            .internalServerError, "ledger-damaged", "Ledger record damaged",
            detail: "\(record) that this request needs failed its checksum\(place); nothing was read from it "
                + "and nothing was changed. New postings are not affected; the operator repairs the log from an archive"
        )
    }

    /// The committed transfer with this id, read back and verified: a damaged record is 500
    /// `ledger-damaged`, never a transfer with wrong fields.
    func committedTransfer(_ id: UInt128) throws -> Transfer? {
        do {
            return try ledger.transfer(id: id)
        } catch {
            throw ledgerProblem(error)
        }
    }

    /// Submits one event and answers its result: a refused event is a problem named after its
    /// result code.
    func submit(_ event: Event) async throws -> EventResult {
        let result = try await submitBatch([event])[0]
        guard result.code.succeeded else { throw refusal(result.code) }
        return result
    }

    /// The problem answering a refused event.
    func refusal(_ code: ResultCode) -> Problem {
        if code == .recordDamaged { return Self.damagedProblem(sequence: nil, location: nil) }
        let status: HTTPResponse.Status =
            switch code {
            case .debitAccountNotFound, .creditAccountNotFound, .pendingTransferNotFound, .originalTransferNotFound:
                .notFound
            case .existsWithDifferentFields, .accountKeyExists: .conflict
            default: .unprocessableContent
            }
        return Problem(
            status, Names.kebab(code), "Refused: \(code)",
            detail: "the ledger refused the event with result code \(code) (\(code.rawValue))")
    }

    // MARK: Accounts

    func createAccount(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try AccountRequest.parse(try await rawBody(request))
        guard let currency = Currency(code: body.currency) else {
            throw Problem.badRequest(
                "unknown-currency", "Unknown currency",
                "currency \"\(JSONInput.echo(body.currency))\" is not an ISO 4217 code Khata knows")
        }
        let id = body.id ?? NewAccount.derivedId(forKey: body.key)
        let event = Event.createAccount(
            NewAccount(id: id, key: body.key, currency: currency, flags: body.flags, code: body.code ?? 0))
        let result = try await submit(event)
        // Safe: the account is durable once the submission is acknowledged.
        let account = ledger.account(id: id)!
        return try JSONResponse.make(AccountBody(account), status: result.code == .exists ? .ok : .created)
    }

    func account(_ key: String) throws -> Response {
        guard let account = ledger.account(key: key) else {
            throw Problem.notFound("account", "no account has the key \"\(key)\"")
        }
        return try JSONResponse.make(AccountBody(account))
    }

    // MARK: Transfers

    func createTransfer(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try TransferRequest.parse(try await rawBody(request))
        var accounts: [String: Account] = [:]
        let transfer = try newTransfer(body, at: "", accounts: &accounts)
        let result = try await submit(.createTransfer(transfer))
        // A new single-phase transfer is exactly what was asked, at the result's timestamp: the
        // answer needs no read back from the log. Everything else is read as committed.
        if result.code == .ok, transfer.flags.subtracting(.linked).isEmpty, let debitKey = body.debitAccount,
            let creditKey = body.creditAccount, let currency = accounts[debitKey]?.currency
        {
            var json = JSONWriter()
            TransferBody(
                posted: transfer, debitKey: debitKey, creditKey: creditKey, currency: currency,
                timestamp: result.timestamp
            ).write(to: &json)
            return json.response(status: .created)
        }
        return try describe(transfer.id, status: result.code == .exists ? .ok : .created)
    }

    /// The ledger's form of a transfer request; `place` names it in errors (e.g. `transfers[3].`).
    func newTransfer(_ body: TransferRequest, at place: String) throws -> NewTransfer {
        var accounts: [String: Account] = [:]
        return try newTransfer(body, at: place, accounts: &accounts)
    }

    /// As above, remembering the accounts it looked up in `accounts`: a batch's events mostly
    /// name the same few accounts, and each lookup by key hashes the key.
    func newTransfer(_ body: TransferRequest, at place: String, accounts: inout [String: Account]) throws -> NewTransfer
    {
        func named(_ key: String, field: String) throws -> Account {
            if let account = accounts[key] { return account }
            let account = try accountNamed(key, field: field)
            accounts[key] = account
            return account
        }
        let pendingId = body.pendingId ?? 0
        let debit = try body.debitAccount.map { try named($0, field: place + "debitAccount") }
        let credit = try body.creditAccount.map { try named($0, field: place + "creditAccount") }
        // The amount's scale is the currency it is posted in: the accounts', or the referenced
        // transfer's. Accounts in two currencies are the ledger's to refuse (currency-mismatch).
        let currency = try debit?.currency ?? credit?.currency ?? currencyOf(pendingId, at: place)
        return NewTransfer(
            id: body.id, debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
            amountMinor: try body.amount?.minor(in: currency) ?? 0, pendingId: pendingId,
            timeoutSeconds: body.timeoutSeconds ?? 0, code: body.code ?? 0, reference: body.reference ?? .empty,
            flags: body.flags)
    }

    /// `POST /v1/transfers/batch`: up to the ledger's batch size of events, applied in order as
    /// one batch (linked chains allowed), with a result per event. A malformed event refuses the
    /// whole batch before anything is applied.
    func createBatch(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try BatchRequest.parse(
            try await rawBody(request), maximumEvents: ledger.configuration.maximumBatchEvents)
        var accounts: [String: Account] = [:]
        var transfers: [NewTransfer] = []
        transfers.reserveCapacity(body.transfers.count)
        for (index, transfer) in body.transfers.enumerated() {
            transfers.append(try newTransfer(transfer, at: "transfers[\(index)].", accounts: &accounts))
        }
        let results = try await submitBatch(transfers.map { .createTransfer($0) })
        let items = zip(transfers, results).map { transfer, result in
            BatchItem(
                id: String(transfer.id), result: String(describing: result.code), code: result.code.rawValue,
                timestamp: result.code.succeeded ? result.timestamp : nil)
        }
        return BatchAnswer(results: items).response()
    }

    /// `POST /v1/refunds`: all that remains refundable of a posted transfer, or `amount` of it.
    func refund(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try RefundRequest.parse(try await rawBody(request))
        let id = body.id
        let originalId = body.transferId
        guard let original = try committedTransfer(originalId) else {
            throw Problem.notFound("transfer", "transferId: no transfer has the id \(originalId)")
        }
        // Safe: a committed transfer's accounts exist.
        let currency = ledger.account(id: original.fields.debitAccountId)!.currency
        let remaining = original.fields.amountMinor - min(original.fields.amountMinor, original.refundedMinor)
        let amount = try body.amount?.minor(in: currency) ?? remaining
        let transfer = NewTransfer(
            id: id, debitAccountId: 0, creditAccountId: 0, amountMinor: amount, pendingId: originalId,
            code: body.code ?? 0, reference: body.reference ?? .empty, flags: .refund)
        let result = try await submit(.createTransfer(transfer))
        return try describe(id, status: result.code == .exists ? .ok : .created)
    }

    /// `GET /v1/accounts/{key}/history?after=CURSOR&limit=N`: transfers in commit order; `next` is
    /// the cursor for the following page (absent on the last).
    func history(_ key: String, after afterText: String?, limit limitText: String?) throws -> Response {
        guard let account = ledger.account(key: key) else {
            throw Problem.notFound("account", "no account has the key \"\(key)\"")
        }
        var after: UInt64 = 0
        if let text = afterText {
            guard text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = UInt64(text) else {
                throw Problem.badRequest("invalid-cursor", "Invalid cursor", "after \"\(text)\" is not a cursor")
            }
            after = value
        }
        var limit = 100
        if let text = limitText {
            guard text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text), (1...1_000).contains(value)
            else {
                throw Problem.badRequest("invalid-limit", "Invalid limit", "limit \"\(text)\" must be 1...1000")
            }
            limit = value
        }
        let page: [Transfer]
        do {
            page = try ledger.history(accountId: account.id, after: after, limit: limit)
        } catch {
            throw ledgerProblem(error)
        }
        let next = page.count == limit ? page.last.map { String($0.timestamp) } : nil
        return try JSONResponse.make(HistoryAnswer(transfers: page.map(body(of:)), next: next))
    }

    func transfer(_ text: String) throws -> Response {
        try describe(try parseId(text, field: "transfer id"), status: .ok)
    }

    private func describe(_ id: UInt128, status: HTTPResponse.Status) throws -> Response {
        guard let transfer = try committedTransfer(id) else {
            throw Problem.notFound("transfer", "no transfer has the id \(id)")
        }
        var json = JSONWriter()
        body(of: transfer).write(to: &json)
        return json.response(status: status)
    }

    private func body(of transfer: Transfer) -> TransferBody {
        // Safe: a committed transfer's accounts are committed before it.
        let debit = ledger.account(id: transfer.fields.debitAccountId)!
        let credit = ledger.account(id: transfer.fields.creditAccountId)!
        return TransferBody(transfer, debitKey: debit.key, creditKey: credit.key, currency: debit.currency)
    }

    func accountNamed(_ key: String, field: String) throws -> Account {
        guard let account = ledger.account(key: key) else {
            throw Problem.notFound("account", "\(field): no account has the key \"\(key)\"")
        }
        return account
    }

    private func currencyOf(_ pendingId: UInt128, at place: String) throws -> Currency {
        guard pendingId != 0 else {
            throw Problem.badRequest(
                "missing-field", "Missing field",
                "\(place.isEmpty ? "a transfer" : place) names its accounts or a pendingId")
        }
        guard let original = try committedTransfer(pendingId),
            let account = ledger.account(id: original.fields.debitAccountId)
        else {
            throw Problem.notFound("transfer", "\(place)pendingId: no transfer has the id \(pendingId)")
        }
        return account.currency
    }

    func parseId(_ text: String, field: String) throws -> UInt128 {
        guard let id = TextRules.id(text) else {
            throw Problem.badRequest(
                "invalid-id", "Invalid id", "\(field) \"\(JSONInput.echo(text))\" is not an id: \(TextRules.idRule)")
        }
        return id
    }
}
