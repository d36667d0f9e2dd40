import ArgumentParser
import Foundation
import JSONInput
import Ledger
import LedgerAccess
import LedgerCore

/// `khata transfer`: one transfer from flags, or many from a JSON-lines file.
struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Post a transfer, a hold, a capture, a void or a refund; or many from a JSON-lines file.",
        discussion: """
            Amounts are decimal strings in major units ("1,234.50", "৳1,234.50"), exact to the \
            currency's minor unit: the original's for a capture, void or refund, the accounts' \
            otherwise. Accounts are named by key (or decimal id). With --file, each line is one JSON \
            object with the fields of the HTTP API's transfers: id, debitAccount, creditAccount, \
            amount, pendingId, timeoutSeconds, code, reference and flags (an array of linked, \
            pending, postPending, voidPending, refund). A line whose flags include linked \
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

    @OptionGroup var global: DataDirectoryOptions

    @Option(help: "The transfer's 128-bit id in decimal (the idempotency key); required without --file.")
    var id: String?

    @Option(help: ArgumentHelp("The account to debit (key or decimal id); --from for short.", valueName: "key"))
    var debitAccount: String?

    @Option(help: ArgumentHelp("The account to credit (key or decimal id); --to for short.", valueName: "key"))
    var creditAccount: String?

    // Short aliases of the two above, kept out of the help's option list (it names them).
    @Option(name: .customLong("from"), help: .hidden) var from: String?
    @Option(name: .customLong("to"), help: .hidden) var to: String?

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
        guard debitAccount == nil || from == nil, creditAccount == nil || to == nil else {
            throw CommandFailure("--from is short for --debit-account and --to for --credit-account: give one of each")
        }
        var draft = TransferDraft(
            id: try LedgerSession.parseId(id), debitAccount: debitAccount ?? from, creditAccount: creditAccount ?? to,
            amount: amount.flatMap { $0.isEmpty ? nil : AmountInput(text: $0, field: "--amount") },
            timeoutSeconds: timeoutSeconds, code: code, reference: try LedgerSession.reference(reference))
        if pending { draft.flags.insert(.pending) }
        for (option, flag) in [(post, TransferFlags.postPending), (void, .voidPending), (refund, .refund)] {
            if let option {
                draft.flags.insert(flag)
                draft.pendingId = try LedgerSession.parseId(option)
            }
        }
        return .createTransfer(try TransferLines.resolve(draft, ledger: ledger))
    }
}

/// One transfer of a `--file`, with the line it came from (blank lines are skipped, so lines and
/// transfers are counted apart).
struct TransferLine {
    let number: Int
    let transfer: NewTransfer
}

/// The JSON-lines transfer file of `khata transfer --file`: each line a transfer in the HTTP
/// API's form (`TransferDraft`), read with the same strict reader: unknown and repeated fields,
/// floats and malformed ids are refused with the file, the line, the field and the rule.
enum TransferLines {
    static func read(_ path: String, ledger: Ledger) throws -> [TransferLine] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("cannot read \(path) as UTF-8 text")
        }
        var transfers: [TransferLine] = []
        var memory = TransferResolver.Memory()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                let draft = try JSONInput.read(Array(line.utf8), what: "a transfer line") { scanner in
                    try TransferDraft(scanner: &scanner, what: "a transfer line")
                }
                let transfer = try resolve(draft, ledger: ledger, memory: &memory)
                transfers.append(TransferLine(number: number + 1, transfer: transfer))
            } catch let error as JSONInputError {
                throw CommandFailure("\(path):\(number + 1): \(error.detail)")
            } catch {
                throw CommandFailure("\(path):\(number + 1): \(error)")
            }
        }
        guard !transfers.isEmpty else { throw CommandFailure("\(path) holds no transfers") }
        return transfers
    }

    /// The ledger's form of a draft (see `TransferResolver`), accounts by key or decimal id.
    static func resolve(_ draft: TransferDraft, ledger: Ledger) throws -> NewTransfer {
        var memory = TransferResolver.Memory()
        return try resolve(draft, ledger: ledger, memory: &memory)
    }

    private static func resolve(_ draft: TransferDraft, ledger: Ledger, memory: inout TransferResolver.Memory) throws
        -> NewTransfer
    {
        do {
            return try TransferResolver.resolve(draft, in: LedgerDirectory(ledger: ledger), memory: &memory)
        } catch let error as TransferDraftError {
            // The command line names accounts by key or decimal id, and says so.
            if error.code == .accountNotFound, let name = error.value {
                throw CommandFailure("no account with key or id \"\(name)\" (\(error.field))")
            }
            throw CommandFailure(error.message)
        } catch let error as JSONInputError {
            throw CommandFailure(error.detail)
        }
    }
}
