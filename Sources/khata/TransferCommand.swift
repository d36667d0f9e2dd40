import ArgumentParser
import Foundation
import JSONInput
import Ledger
import LedgerCore

/// `khata transfer`: one transfer from flags, or many from a JSON-lines file.
struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Post a transfer, a hold, a capture, a void or a refund; or many from a JSON-lines file.",
        discussion: """
            Amounts are decimal strings in major units ("1,234.50", "৳1,234.50"), exact to the \
            currency's minor unit. With --file, each line is one JSON object with the fields id, \
            from, to, amount, pendingId, timeoutSeconds, code, reference and flags (an array of \
            linked, pending, postPending, voidPending, refund). A line whose flags include linked \
            is chained to the next line; the chain ends at the first line without linked, and \
            succeeds or fails whole. The lines are submitted in order, in batches of at most \
            \(TransferBatches.maximumEventsText) events (what one ledger submission takes) that never split a \
            chain; a longer chain is refused, naming its first line, before anything is submitted. \
            Prints one result per line ("line N: transfer ID: result"), then how many transfers \
            went in how many batches.

            With --json, one object per transfer, {"line": N, "index": I, "batch": B, "id": "ID", \
            "result": "ok", "timestamp": T} (index counts the file's transfers from 0, batch the \
            batches from 1), then one summary object, {"submitted": S, "batches": B, \
            "maximumBatchEvents": M}. When the ledger refuses a whole batch (its storage failed, \
            say), the summary also holds "error", "submittedThroughLine" and "unsubmittedFromLine": \
            lines 1 to submittedThroughLine (0 when none) were submitted, their results printed \
            above; lines from unsubmittedFromLine on were not. Without --file, one result \
            ({"index", "id", "result", "timestamp"} with --json) and no summary.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The transfer's 128-bit id in decimal (the idempotency key); required without --file.")
    var id: String?

    @Option(help: "The account to debit (key or decimal id).")
    var from: String?

    @Option(help: "The account to credit (key or decimal id).")
    var to: String?

    // Unconditional: "-5" is the (refused) value of --amount, not an unknown option.
    @Option(
        parsing: .unconditional,
        help: "The amount in major units, e.g. 1,234.50 (for a capture: empty or 0 takes the whole hold).")
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
        if let file {
            let lines = try TransferLines.read(file, ledger: ledger)
            try await TransferBatches(lines: lines, path: file, json: json).submit(to: ledger)
            return
        }
        let event = try single(ledger)
        let results = try await ledger.submit([event])
        guard case .createTransfer(let transfer) = event, let result = results.first else { return }
        if json {
            Swift.print(
                LedgerSession.jsonLine([
                    "index": 0, "id": "\(transfer.id)", "result": "\(result.code)", "timestamp": result.timestamp,
                ]))
        } else {
            Swift.print("transfer \(transfer.id): \(result.code)")
        }
        if !result.code.succeeded { throw ExitCode(1) }
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
        var amountMinor: UInt64 = 0
        if let amount, !amount.isEmpty {
            let currency = try LedgerSession.currency(debit: debit, credit: credit, pendingId: pendingId, in: ledger)
            do {
                amountMinor = try Amount.parse(amount, currency: currency).minorUnits
            } catch {
                throw CommandFailure("--amount \"\(amount)\" is not an amount in \(currency.code): \(error.reason)")
            }
        }
        return .createTransfer(
            NewTransfer(
                id: try LedgerSession.parseId(id), debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
                amountMinor: amountMinor, pendingId: pendingId, timeoutSeconds: timeoutSeconds, code: code,
                reference: try LedgerSession.reference(reference), flags: flags))
    }
}

/// One transfer of a `--file`, with the line it came from (blank lines are skipped, so lines and
/// transfers are counted apart).
struct TransferLine {
    let number: Int
    let transfer: NewTransfer
}

/// The JSON-lines transfer file of `khata transfer --file`, read with the same strict reader as
/// the HTTP API's bodies: unknown and repeated fields, floats and malformed ids are refused with
/// the file, the line, the field and the rule.
enum TransferLines {
    static let reader = JSONObjectReader(
        what: "a transfer line",
        known: ["id", "from", "to", "amount", "pendingId", "timeoutSeconds", "code", "reference", "flags"])

    static func read(_ path: String, ledger: Ledger) throws -> [TransferLine] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("cannot read \(path) as UTF-8 text")
        }
        var transfers: [TransferLine] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                transfers.append(TransferLine(number: number + 1, transfer: try transfer(from: line, ledger: ledger)))
            } catch let error as JSONInputError {
                throw CommandFailure("\(path):\(number + 1): \(error.detail)")
            } catch {
                throw CommandFailure("\(path):\(number + 1): \(error)")
            }
        }
        guard !transfers.isEmpty else { throw CommandFailure("\(path) holds no transfers") }
        return transfers
    }

    private static func transfer(from text: String, ledger: Ledger) throws -> NewTransfer {
        try JSONInput.read(Array(text.utf8), what: reader.what) { scanner in
            var id: UInt128?
            var from: String?
            var to: String?
            var amount: AmountInput?
            var pendingId: UInt128 = 0
            var timeoutSeconds: UInt32 = 0
            var code: UInt16 = 0
            var reference = TransferReference.empty
            var flags: TransferFlags = []
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "id": id = try scanner.id(field: field)
                case "from": from = try scanner.text(field: field)
                case "to": to = try scanner.text(field: field)
                case "amount": amount = try scanner.amount(field: field)
                case "pendingId": pendingId = try scanner.id(field: field)
                case "timeoutSeconds": timeoutSeconds = try scanner.timeoutSeconds(field: field)
                case "code": code = try scanner.code(field: field)
                case "reference": reference = try scanner.reference(field: field)
                default: flags = try scanner.transferFlags(field: field)
                }
            }
            let debit = try from.map { try LedgerSession.resolve($0, in: ledger) }
            let credit = try to.map { try LedgerSession.resolve($0, in: ledger) }
            var amountMinor: UInt64 = 0
            if let amount {
                let currency = try LedgerSession.currency(
                    debit: debit, credit: credit, pendingId: pendingId, in: ledger)
                amountMinor = try amount.minor(in: currency)
            }
            return NewTransfer(
                id: try reader.required(id, "id"), debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0,
                amountMinor: amountMinor, pendingId: pendingId, timeoutSeconds: timeoutSeconds, code: code,
                reference: reference, flags: flags)
        }
    }
}
