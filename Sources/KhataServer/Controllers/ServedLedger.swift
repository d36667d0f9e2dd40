import HTTPTypes
import Hummingbird
import JSONInput
import Ledger
import LedgerCore
import LedgerStorage

/// The ledger as the controllers use it: submissions and committed reads whose failures are
/// problems (a full queue 503, a damaged record 500 `ledger-damaged`, a refused event named after
/// its result code), and the API's shape of transfers.
struct ServedLedger: Sendable {
    let ledger: Ledger

    /// Submits a batch and returns its results; a ledger that cannot take it is a problem.
    func submitBatch(_ events: [Event]) async throws -> [EventResult] {
        do {
            return try await ledger.submit(events)
        } catch {
            throw Self.problem(error)
        }
    }

    /// Submits one event and answers its result: a refused event is a problem named after its
    /// result code.
    func submit(_ event: Event) async throws -> EventResult {
        let result = try await submitBatch([event])[0]
        guard result.code.succeeded else { throw Self.refusal(result.code) }
        return result
    }

    /// The committed transfer with this id, read back and verified: a damaged record is 500
    /// `ledger-damaged`, never a transfer with wrong fields.
    func committedTransfer(_ id: UInt128) throws -> Transfer? {
        do {
            return try ledger.transfer(id: id)
        } catch {
            throw Self.problem(error)
        }
    }

    /// The ledger's form of a draft (see `TransferResolver`), its refusals as problems; `place`
    /// names it in them (`transfers[3].`), `accounts` remembers the accounts looked up.
    func resolve(_ draft: TransferDraft, at place: String, memory: inout TransferResolver.Memory) throws -> NewTransfer
    {
        do {
            return try TransferResolver.resolve(draft, place: place, in: self, memory: &memory)
        } catch let error as TransferDraftError {
            switch error.code {
            case .accountNotFound: throw Problem.notFound("account", error.message)
            case .transferNotFound: throw Problem.notFound("transfer", error.message)
            default: throw Problem.badRequest(error.code.name, "Missing field", error.message)
            }
        }
    }

    /// The answer for the committed transfer `id`, with `status`; 404 when there is none.
    func describe(_ id: UInt128, status: HTTPResponse.Status) throws -> Response {
        guard let transfer = try committedTransfer(id) else {
            throw Problem.notFound("transfer", "no transfer has the id \(id)")
        }
        var json = JSONWriter()
        body(of: transfer).write(to: &json)
        return json.response(status: status)
    }

    /// The API's shape of a committed transfer.
    func body(of transfer: Transfer) -> TransferBody {
        // Safe: a committed transfer's accounts are committed before it.
        let debit = ledger.account(id: transfer.fields.debitAccountId)!
        let credit = ledger.account(id: transfer.fields.creditAccountId)!
        return TransferBody(transfer, debitKey: debit.key, creditKey: credit.key, currency: debit.currency)
    }

    /// The problem answering a ledger error: 503 when it is overloaded, 500 `ledger-damaged`
    /// when a record it needed failed its checksum, else 500 `ledger-unavailable`.
    static func problem(_ error: LedgerError) -> Problem {
        switch error.code {
        case .overloaded:
            return Problem(
                .serviceUnavailable, "overloaded", "Ledger overloaded",
                detail: "the ledger's queue is full; retry with the same ids")
        case .damagedRecord:
            return damagedProblem(sequence: error.damage?.sequence, location: error.damage?.shortLocation)
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

    /// The problem answering a refused event.
    static func refusal(_ code: ResultCode) -> Problem {
        if code == .recordDamaged { return damagedProblem(sequence: nil, location: nil) }
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
}

/// The API names accounts by key only.
extension ServedLedger: TransferDirectory {
    func account(named name: String) throws -> Account? { ledger.account(key: name) }

    func currency(ofTransfer id: UInt128) throws -> Currency? {
        guard let original = try committedTransfer(id) else { return nil }
        return ledger.account(id: original.fields.debitAccountId)?.currency
    }
}

/// Reads request bodies up to the configured size.
struct BodyReader: Sendable {
    let maximumBytes: Int

    /// The body's bytes, refused with 413 beyond the limit.
    func read(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maximumBytes).readableBytesView)
        } catch {
            throw Problem(
                .contentTooLarge, "body-too-large", "Body too large",
                detail: "the body is larger than \(maximumBytes) bytes")
        }
    }
}

/// Path and query values the routes share.
enum PathValues {
    /// An id in its one spelling; 400 `invalid-id` naming `field` otherwise.
    static func id(_ text: String, field: String) throws -> UInt128 {
        guard let id = TextRules.id(text) else {
            throw Problem.badRequest(
                "invalid-id", "Invalid id", "\(field) \"\(JSONInput.echo(text))\" is not an id: \(TextRules.idRule)")
        }
        return id
    }

    /// A whole number written in digits only (a page cursor, a time in nanoseconds), `fallback`
    /// when absent; 400 `kind` naming `field` and `rule` otherwise.
    static func digits<Value: FixedWidthInteger>(
        _ text: Substring?, fallback: Value, field: String, kind: String, title: String, rule: String
    ) throws -> Value {
        guard let text else { return fallback }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Value(text) else {
            throw Problem.badRequest(kind, title, "\(field) \"\(JSONInput.echo(String(text)))\" \(rule)")
        }
        return value
    }

    /// A page cursor from a previous page's `next`.
    static func cursor<Value: FixedWidthInteger>(_ text: Substring?) throws -> Value {
        try digits(
            text, fallback: 0, field: "after", kind: "invalid-cursor", title: "Invalid cursor", rule: "is not a cursor")
    }

    /// A page size of 1 to `maximum`, `fallback` when absent; 400 `invalid-limit` otherwise.
    static func limit(_ text: Substring?, fallback: Int, maximum: Int = 1_000) throws -> Int {
        guard let text else { return fallback }
        guard text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text), (1...maximum).contains(value)
        else {
            throw Problem.badRequest("invalid-limit", "Invalid limit", "limit \"\(text)\" must be 1...\(maximum)")
        }
        return value
    }
}
