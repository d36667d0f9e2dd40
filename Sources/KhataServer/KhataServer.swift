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
        router.get("/health") { _, _ in try api.health() }
        router.post("/v1/accounts") { request, context in try await api.createAccount(request, context) }
        router.get("/v1/accounts/{key}") { _, context in try api.account(context.parameters.require("key")) }
        router.post("/v1/transfers") { request, context in try await api.createTransfer(request, context) }
        router.get("/v1/transfers/{id}") { _, context in try api.transfer(context.parameters.require("id")) }
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
    func submit(_ event: Event) async throws -> EventResult {
        let results: [EventResult]
        do {
            results = try await ledger.submit([event])
        } catch .overloaded {
            throw Problem(
                .serviceUnavailable, "overloaded", "Ledger overloaded",
                detail: "the ledger's queue is full; retry with the same id")
        } catch {
            throw Problem(.internalServerError, "ledger-unavailable", "Ledger unavailable", detail: "\(error)")
        }
        let result = results[0]
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
        let id = try parseId(body.id, field: "id")
        let pendingId = try body.pendingId.map { try parseId($0, field: "pendingId") } ?? 0
        let debit = try body.debitAccount.map { try accountNamed($0, field: "debitAccount") }
        let credit = try body.creditAccount.map { try accountNamed($0, field: "creditAccount") }
        // The amount's scale is the accounts' currency, or the referenced transfer's.
        let currency = try debit?.currency ?? credit?.currency ?? currencyOf(pendingId)
        var reference = TransferReference.empty
        if let text = body.reference {
            guard let parsed = TransferReference(text) else {
                throw Problem.badRequest(
                    "invalid-reference", "Invalid reference",
                    "reference \"\(text)\" must be at most \(TransferReference.maximumBytes) bytes of UTF-8 without NUL"
                )
            }
            reference = parsed
        }
        let transfer = NewTransfer(
            id: id, debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
            amountMinor: try body.amount?.minor(in: currency, field: "amount") ?? 0, pendingId: pendingId,
            timeoutSeconds: body.timeoutSeconds ?? 0, code: body.code ?? 0, reference: reference,
            flags: try Names.transferFlags(body.flags ?? []))
        let result = try await submit(.createTransfer(transfer))
        return try describe(id, status: result.code == .exists ? .ok : .created)
    }

    func transfer(_ text: String) throws -> Response {
        try describe(try parseId(text, field: "transfer id"), status: .ok)
    }

    private func describe(_ id: UInt128, status: HTTPResponse.Status) throws -> Response {
        guard let transfer = ledger.transfer(id: id) else {
            throw Problem.notFound("transfer", "no transfer has the id \(id)")
        }
        // Safe: a committed transfer's accounts are committed before it.
        let debit = ledger.account(id: transfer.fields.debitAccountId)!
        let credit = ledger.account(id: transfer.fields.creditAccountId)!
        return try JSONResponse.make(
            TransferBody(transfer, debitKey: debit.key, creditKey: credit.key, currency: debit.currency), status: status
        )
    }

    private func accountNamed(_ key: String, field: String) throws -> Account {
        guard let account = ledger.account(key: key) else {
            throw Problem.notFound("account", "\(field): no account has the key \"\(key)\"")
        }
        return account
    }

    private func currencyOf(_ pendingId: UInt128) throws -> Currency {
        guard pendingId != 0, let original = ledger.transfer(id: pendingId),
            let account = ledger.account(id: original.fields.debitAccountId)
        else {
            throw Problem.badRequest(
                "missing-field", "Missing field", "a transfer names its accounts, or a pendingId that exists")
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
