import ArgumentParser
import Foundation
import Ledger
import LedgerCore

/// `khata transfer`: one transfer from flags, or many from a JSON-lines file.
struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Post a transfer, a hold, a capture, a void or a refund; or many from a JSON-lines file.",
        discussion: """
            Amounts are decimal strings in major units ("1,234.50", "৳1,234.50"), exact to the \\
            currency's minor unit. With --file, each line is one JSON object with the fields id, \\
            from, to, amount, pendingId, timeoutSeconds, code, reference and flags (an array of \\
            linked, pending, postPending, voidPending, refund); the lines are submitted as one \\
            batch, so linked chains work across lines. Prints one result per event.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The transfer's 128-bit id in decimal (the idempotency key); required without --file.")
    var id: String?

    @Option(help: "The account to debit (key or decimal id).")
    var from: String?

    @Option(help: "The account to credit (key or decimal id).")
    var to: String?

    @Option(help: "The amount in major units, e.g. 1,234.50 (for a capture: empty or 0 takes the whole hold).")
    var amount: String?

    @Flag(help: "Make a hold that expires after --timeout-seconds.")
    var pending = false

    @Option(help: "The hold's payment window in seconds.")
    var timeoutSeconds: UInt32 = 0

    @Option(help: "Capture the hold with this id.")
    var post: String?

    @Option(help: "Release the hold with this id.")
    var void: String?

    @Option(help: "Refund the posted transfer with this id.")
    var refund: String?

    @Option(help: "Business code (0...65535).")
    var code: UInt16 = 0

    @Option(help: "The payment or booking reference (at most 32 bytes).")
    var reference: String = ""

    @Option(help: ArgumentHelp("A JSON-lines file of transfers.", valueName: "file"))
    var file: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let ledger = try await LedgerSession.open(global)
        defer { ledger.close() }
        let events = try file.map { try TransferLines.read($0, ledger: ledger) } ?? [try single(ledger)]
        let results = try await ledger.submit(events)
        var failed = false
        for (index, (event, result)) in zip(events, results).enumerated() {
            guard case .createTransfer(let transfer) = event else { continue }
            failed = failed || !result.code.succeeded
            if json {
                Swift.print(
                    LedgerSession.jsonLine([
                        "index": index, "id": "\(transfer.id)", "result": "\(result.code)",
                        "timestamp": result.timestamp,
                    ]))
            } else {
                Swift.print("transfer \(transfer.id): \(result.code)")
            }
        }
        if failed { throw ExitCode(1) }
    }

    private func single(_ ledger: Ledger) throws -> Event {
        guard let id else { throw CommandFailure("--id is required (the transfer's idempotency key)") }
        let kinds = [post != nil, void != nil, refund != nil, pending].filter { $0 }.count
        guard kinds <= 1 else { throw CommandFailure("--pending, --post, --void and --refund exclude each other") }
        var flags: TransferFlags = []
        var pendingId: UInt128 = 0
        if pending { flags.insert(.pending) }
        if let post {
            flags.insert(.postPending)
            pendingId = try LedgerSession.parseId(post)
        }
        if let void {
            flags.insert(.voidPending)
            pendingId = try LedgerSession.parseId(void)
        }
        if let refund {
            flags.insert(.refund)
            pendingId = try LedgerSession.parseId(refund)
        }
        let debit = try from.map { try LedgerSession.resolve($0, in: ledger) }
        let credit = try to.map { try LedgerSession.resolve($0, in: ledger) }
        let currency =
            debit?.currency ?? credit?.currency ?? ledger.transfer(id: pendingId).flatMap {
                ledger.account(id: $0.fields.debitAccountId)?.currency
            } ?? .bdt
        var amountMinor: UInt64 = 0
        if let amount, !amount.isEmpty { amountMinor = try Amount.parse(amount, currency: currency).minorUnits }
        return .createTransfer(
            NewTransfer(
                id: try LedgerSession.parseId(id), debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
                amountMinor: amountMinor, pendingId: pendingId, timeoutSeconds: timeoutSeconds, code: code,
                reference: try LedgerSession.reference(reference), flags: flags))
    }
}

/// The JSON-lines transfer file of `khata transfer --file`.
enum TransferLines {
    struct Line: Decodable {
        var id: String
        var from: String?
        var to: String?
        var amount: String?
        var pendingId: String?
        var timeoutSeconds: UInt32?
        var code: UInt16?
        var reference: String?
        var flags: [String]?
    }

    static func read(_ path: String, ledger: Ledger) throws -> [Event] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("cannot read \(path) as UTF-8 text")
        }
        var events: [Event] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                events.append(try event(from: line, ledger: ledger))
            } catch {
                throw CommandFailure("\(path):\(number + 1): \(error)")
            }
        }
        guard !events.isEmpty else { throw CommandFailure("\(path) holds no transfers") }
        return events
    }

    private static func event(from text: String, ledger: Ledger) throws -> Event {
        let line = try JSONDecoder().decode(Line.self, from: Data(text.utf8))
        var flags: TransferFlags = []
        for name in line.flags ?? [] {
            switch name {
            case "linked": flags.insert(.linked)
            case "pending": flags.insert(.pending)
            case "postPending": flags.insert(.postPending)
            case "voidPending": flags.insert(.voidPending)
            case "refund": flags.insert(.refund)
            default: throw CommandFailure("unknown flag \"\(name)\"")
            }
        }
        let debit = try line.from.map { try LedgerSession.resolve($0, in: ledger) }
        let credit = try line.to.map { try LedgerSession.resolve($0, in: ledger) }
        let currency = debit?.currency ?? credit?.currency ?? .bdt
        let amount = try line.amount.map { try Amount.parse($0, currency: currency).minorUnits } ?? 0
        return .createTransfer(
            NewTransfer(
                id: try LedgerSession.parseId(line.id), debitAccountId: debit?.id ?? 0,
                creditAccountId: credit?.id ?? 0,
                amountMinor: amount, pendingId: try line.pendingId.map(LedgerSession.parseId) ?? 0,
                timeoutSeconds: line.timeoutSeconds ?? 0, code: line.code ?? 0,
                reference: try LedgerSession.reference(line.reference ?? ""),
                flags: flags))
    }
}
