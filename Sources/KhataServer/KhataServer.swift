import Foundation
import Hummingbird
import Ledger
import LedgerCore

/// The HTTP API over a ledger (first increment: health, accounts, transfers). JSON in and out;
/// amounts are decimal strings in major units or whole numbers, never floats; every error is
/// `application/problem+json` with a stable type.
public enum KhataServer {
    /// The application serving `ledger` on `host`:`port` (port 0 picks a free one).
    public static func application(
        ledger: Ledger, host: String = "127.0.0.1", port: Int = 8080, maximumBodyBytes: Int = 1 << 20
    ) -> some ApplicationProtocol {
        Application(
            router: router(ledger: ledger, maximumBodyBytes: maximumBodyBytes),
            configuration: .init(address: .hostname(host, port: port), serverName: "khata"))
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections and lets the requests in
    /// flight finish.
    public static func serve(ledger: Ledger, host: String, port: Int, maximumBodyBytes: Int) async throws {
        try await application(ledger: ledger, host: host, port: port, maximumBodyBytes: maximumBodyBytes)
            .runService()
    }

    /// The routes, for tests and for embedding.
    public static func router(ledger: Ledger, maximumBodyBytes: Int = 1 << 20) -> Router<BasicRequestContext> {
        let api = API(ledger: ledger, maximumBodyBytes: maximumBodyBytes)
        let router = Router()
        router.add(middleware: RequestIdMiddleware())
        router.get("/health") { _, _ in try api.health() }
        router.post("/v1/accounts") { request, context in try await api.createAccount(request, context) }
        router.get("/v1/accounts/{key}") { _, context in try api.account(context.parameters.require("key")) }
        router.get("/v1/accounts/{key}/history") { request, context in
            let query = request.uri.queryParameters
            return try api.history(
                context.parameters.require("key"), after: query["after"].map(String.init),
                limit: query["limit"].map(String.init))
        }
        router.post("/v1/transfers") { request, context in try await api.createTransfer(request, context) }
        router.post("/v1/transfers/batch") { request, context in try await api.createBatch(request, context) }
        router.get("/v1/transfers/{id}") { _, context in try api.transfer(context.parameters.require("id")) }
        router.post("/v1/refunds") { request, context in try await api.refund(request, context) }
        return router
    }
}

/// The handlers: each turns a request into ledger events or reads, and results into JSON.
struct API: Sendable {
    let ledger: Ledger
    let maximumBodyBytes: Int

    func health() throws -> Response {
        struct Body: Encodable {
            let status: String
            let committedSequence: UInt64
            let queueDepth: Int
        }
        return try JSONResponse.make(
            Body(status: "ok", committedSequence: ledger.committedSequence, queueDepth: ledger.queueDepth))
    }

    /// Reads and decodes a JSON body, answering malformed, oversized and mistyped bodies clearly.
    func decode<Body: Decodable>(_ type: Body.Type, _ request: Request, what: String) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBodyBytes)
        } catch {
            throw Problem(
                .contentTooLarge, "body-too-large", "Body too large",
                detail: "the body is larger than \(maximumBodyBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch let problem as Problem {
            throw problem
        } catch DecodingError.keyNotFound(let key, _) {
            throw Problem.badRequest("missing-field", "Missing field", "\(what) needs the field \"\(key.stringValue)\"")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Problem.badRequest("invalid-field", "Invalid field", "\(what): field \"\(path)\" has the wrong type")
        } catch {
            throw Problem.badRequest("malformed-json", "Malformed JSON", "\(what) is not valid JSON")
        }
    }

    /// Submits one event and answers its result: a refused event is a problem named after its
    /// result code.
    /// Submits a batch and returns its results; a ledger that cannot take it is a problem.
    func submitBatch(_ events: [Event]) async throws -> [EventResult] {
        do {
            return try await ledger.submit(events)
        } catch .overloaded {
            throw Problem(
                .serviceUnavailable, "overloaded", "Ledger overloaded",
                detail: "the ledger's queue is full; retry with the same ids")
        } catch {
            throw Problem(.internalServerError, "ledger-unavailable", "Ledger unavailable", detail: "\(error)")
        }
    }

    func submit(_ event: Event) async throws -> EventResult {
        let result = try await submitBatch([event])[0]
        guard result.code.succeeded else {
            let status: HTTPResponse.Status =
                switch result.code {
                case .debitAccountNotFound, .creditAccountNotFound, .pendingTransferNotFound, .originalTransferNotFound:
                    .notFound
                case .existsWithDifferentFields, .accountKeyExists: .conflict
                default: .unprocessableContent
                }
            throw Problem(
                status, Names.kebab(result.code), "Refused: \(result.code)",
                detail: "the ledger refused the event with result code \(result.code) (\(result.code.rawValue))")
        }
        return result
    }

    // MARK: Accounts

    func createAccount(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try await decode(AccountRequest.self, request, what: "an account")
        guard let currency = Currency(code: body.currency) else {
            throw Problem.badRequest(
                "unknown-currency", "Unknown currency", "no ISO 4217 currency \"\(body.currency)\"")
        }
        let id = try body.id.map { try parseId($0, field: "id") } ?? NewAccount.derivedId(forKey: body.key)
        let event = Event.createAccount(
            NewAccount(
                id: id, key: body.key, currency: currency, flags: try Names.accountFlags(body.flags ?? []),
                code: body.code ?? 0))
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
        let body = try await decode(TransferRequest.self, request, what: "a transfer")
        let transfer = try newTransfer(body, at: "")
        let result = try await submit(.createTransfer(transfer))
        return try describe(transfer.id, status: result.code == .exists ? .ok : .created)
    }

    /// The ledger's form of a transfer request; `place` names it in errors (e.g. `transfers[3].`).
    func newTransfer(_ body: TransferRequest, at place: String) throws -> NewTransfer {
        let id = try parseId(body.id, field: place + "id")
        let pendingId = try body.pendingId.map { try parseId($0, field: place + "pendingId") } ?? 0
        let debit = try body.debitAccount.map { try accountNamed($0, field: place + "debitAccount") }
        let credit = try body.creditAccount.map { try accountNamed($0, field: place + "creditAccount") }
        // The amount's scale is the accounts' currency, or the referenced transfer's.
        let currency = try debit?.currency ?? credit?.currency ?? currencyOf(pendingId, at: place)
        return NewTransfer(
            id: id, debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
            amountMinor: try body.amount?.minor(in: currency, field: place + "amount") ?? 0, pendingId: pendingId,
            timeoutSeconds: body.timeoutSeconds ?? 0, code: body.code ?? 0,
            reference: try reference(body.reference, field: place + "reference"),
            flags: try Names.transferFlags(body.flags ?? []))
    }

    private func reference(_ text: String?, field: String) throws -> TransferReference {
        guard let text else { return .empty }
        guard let parsed = TransferReference(text) else {
            throw Problem.badRequest(
                "invalid-reference", "Invalid reference",
                "\(field) \"\(text)\" must be at most \(TransferReference.maximumBytes) bytes of UTF-8 without NUL")
        }
        return parsed
    }

    /// `POST /v1/transfers/batch`: up to the ledger's batch size of events, applied in order as
    /// one batch (linked chains allowed), with a result per event. A malformed event refuses the
    /// whole batch before anything is applied.
    func createBatch(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try await decode(BatchRequest.self, request, what: "a batch")
        let maximum = ledger.configuration.maximumBatchEvents
        guard !body.transfers.isEmpty, body.transfers.count <= maximum else {
            throw Problem.badRequest(
                "invalid-batch-size", "Invalid batch size",
                "a batch holds 1 to \(maximum) transfers, not \(body.transfers.count)")
        }
        let transfers = try body.transfers.enumerated().map { index, transfer in
            try newTransfer(transfer, at: "transfers[\(index)].")
        }
        let results = try await submitBatch(transfers.map { .createTransfer($0) })
        let items = zip(transfers, results).map { transfer, result in
            BatchItem(
                id: String(transfer.id), result: String(describing: result.code), code: result.code.rawValue,
                timestamp: result.code.succeeded ? result.timestamp : nil)
        }
        return try JSONResponse.make(BatchAnswer(results: items))
    }

    /// `POST /v1/refunds`: all that remains refundable of a posted transfer, or `amount` of it.
    func refund(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try await decode(RefundRequest.self, request, what: "a refund")
        let id = try parseId(body.id, field: "id")
        let originalId = try parseId(body.transferId, field: "transferId")
        guard let original = ledger.transfer(id: originalId) else {
            throw Problem.notFound("transfer", "transferId: no transfer has the id \(originalId)")
        }
        // Safe: a committed transfer's accounts exist.
        let currency = ledger.account(id: original.fields.debitAccountId)!.currency
        let remaining = original.fields.amountMinor - min(original.fields.amountMinor, original.refundedMinor)
        let amount = try body.amount?.minor(in: currency, field: "amount") ?? remaining
        let transfer = NewTransfer(
            id: id, debitAccountId: 0, creditAccountId: 0, amountMinor: amount, pendingId: originalId,
            code: body.code ?? 0, reference: try reference(body.reference, field: "reference"), flags: .refund)
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
            guard let value = UInt64(text) else {
                throw Problem.badRequest("invalid-cursor", "Invalid cursor", "after \"\(text)\" is not a cursor")
            }
            after = value
        }
        var limit = 100
        if let text = limitText {
            guard let value = Int(text), (1...1_000).contains(value) else {
                throw Problem.badRequest("invalid-limit", "Invalid limit", "limit \"\(text)\" must be 1...1000")
            }
            limit = value
        }
        let page = ledger.history(accountId: account.id, after: after, limit: limit)
        let next = page.count == limit ? page.last.map { String($0.timestamp) } : nil
        return try JSONResponse.make(HistoryAnswer(transfers: page.map(body(of:)), next: next))
    }

    func transfer(_ text: String) throws -> Response {
        try describe(try parseId(text, field: "transfer id"), status: .ok)
    }

    private func describe(_ id: UInt128, status: HTTPResponse.Status) throws -> Response {
        guard let transfer = ledger.transfer(id: id) else {
            throw Problem.notFound("transfer", "no transfer has the id \(id)")
        }
        return try JSONResponse.make(body(of: transfer), status: status)
    }

    private func body(of transfer: Transfer) -> TransferBody {
        // Safe: a committed transfer's accounts are committed before it.
        let debit = ledger.account(id: transfer.fields.debitAccountId)!
        let credit = ledger.account(id: transfer.fields.creditAccountId)!
        return TransferBody(transfer, debitKey: debit.key, creditKey: credit.key, currency: debit.currency)
    }

    private func accountNamed(_ key: String, field: String) throws -> Account {
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
        guard let original = ledger.transfer(id: pendingId),
            let account = ledger.account(id: original.fields.debitAccountId)
        else {
            throw Problem.notFound("transfer", "\(place)pendingId: no transfer has the id \(pendingId)")
        }
        return account.currency
    }

    private func parseId(_ text: String, field: String) throws -> UInt128 {
        guard let id = UInt128(text), id != 0 else {
            throw Problem.badRequest(
                "invalid-id", "Invalid id", "\(field) \"\(text)\" is not a decimal number from 1 to 2^128 - 1")
        }
        return id
    }
}
