import Hummingbird
import JSONInput
import JobStore
import Ledger
import LedgerCore

/// `/v1/accounts`: creating accounts, their balances, and their history a page at a time.
struct AccountsController: APIController {
    typealias D = OpenAPIDocument
    let ledger: ServedLedger
    let bodies: BodyReader

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/accounts", scope: .admin,
                OpenAPIOperation(
                    summary: "Create an account (idempotent)", body: "AccountRequest",
                    answers: [(201, D.answer("Created", "Account")), (200, D.answer("Existed already", "Account"))],
                    problems: [400, 409, 413, 422, 500, 503])
            ) { request, _ in try await create(request) },
            APIRoute(
                .get, "/v1/accounts", scope: .read,
                OpenAPIOperation(
                    summary: "Every account with its balances, in creation order, a page at a time",
                    parameters: [
                        D.afterParameter, D.limitParameter(),
                    ], answers: [(200, D.answer("A page", "AccountPage"))], problems: [400])
            ) { request, _ in
                let query = request.uri.queryParameters
                return try list(after: query["after"], limit: query["limit"])
            },
            APIRoute(
                .get, "/v1/accounts/{key}", scope: .read,
                OpenAPIOperation(
                    summary: "An account's balances", parameters: [D.pathParameter("key", ["type": "string"])],
                    answers: [(200, D.answer("The account", "Account"))], problems: [400, 404])
            ) { _, context in try account(context.pathParameter("key")) },
            APIRoute(
                .get, "/v1/accounts/{key}/history", scope: .read,
                OpenAPIOperation(
                    summary: "An account's transfers in commit order, a page at a time",
                    parameters: [
                        D.pathParameter("key", ["type": "string"]),
                        D.afterParameter, D.limitParameter(),
                    ], answers: [(200, D.answer("A page", "History"))], problems: [400, 404, 500])
            ) { request, context in
                let query = request.uri.queryParameters
                return try history(context.pathParameter("key"), after: query["after"], limit: query["limit"])
            },
        ]
    }

    func create(_ request: Request) async throws -> Response {
        let body = try AccountRequest.parse(try await bodies.read(request))
        guard let currency = Currency(code: body.currency) else {
            throw Problem.badRequest(
                "unknown-currency", "Unknown currency",
                "currency \"\(JSONInput.echo(body.currency))\" is not an ISO 4217 code Khata knows")
        }
        let id = body.id ?? NewAccount.derivedId(forKey: body.key)
        let event = Event.createAccount(
            NewAccount(id: id, key: body.key, currency: currency, flags: body.flags, code: body.code ?? 0))
        let result = try await ledger.submit(event)
        // Safe: the account is durable once the submission is acknowledged.
        let account = ledger.ledger.account(id: id)!
        return try JSONResponse.make(AccountBody(account), status: result.code == .exists ? .ok : .created)
    }

    /// Accounts in creation order; `next` is the cursor for the following page (absent on the
    /// last).
    func list(after afterText: Substring?, limit limitText: Substring?) throws -> Response {
        let after: Int = try PathValues.cursor(afterText)
        let limit = try PathValues.limit(limitText, fallback: 100)
        let page = ledger.ledger.accounts(after: after, limit: limit)
        let next = page.count == limit ? String(after + limit) : nil
        return try JSONResponse.make(AccountPage(accounts: page.map(AccountBody.init), next: next))
    }

    func account(_ key: String) throws -> Response {
        guard let account = ledger.ledger.account(key: key) else {
            throw Problem.notFound("account", "no account has the key \"\(key)\"")
        }
        return try JSONResponse.make(AccountBody(account))
    }

    /// Transfers in commit order; `next` is the cursor for the following page (absent on the
    /// last).
    func history(_ key: String, after afterText: Substring?, limit limitText: Substring?) throws -> Response {
        guard let account = ledger.ledger.account(key: key) else {
            throw Problem.notFound("account", "no account has the key \"\(key)\"")
        }
        let after: UInt64 = try PathValues.cursor(afterText)
        let limit = try PathValues.limit(limitText, fallback: 100)
        let page: [Transfer]
        do {
            page = try ledger.ledger.history(accountId: account.id, after: after, limit: limit)
        } catch {
            throw ServedLedger.problem(error)
        }
        let next = page.count == limit ? page.last.map { String($0.timestamp) } : nil
        return try JSONResponse.make(HistoryAnswer(transfers: page.map(ledger.body(of:)), next: next))
    }
}

struct AccountPage: Encodable {
    let accounts: [AccountBody]
    let next: String?
}
