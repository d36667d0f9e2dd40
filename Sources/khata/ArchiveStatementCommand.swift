import Archive
import ArgumentParser
import Foundation
import JobStore
import LedgerCore
import Reconciliation
import Scheduler

/// `khata archive statement ARCHIVE_DIR --account KEY --from DATE --to DATE`.
struct ArchiveStatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement",
        abstract: "One account's entries over a period, read straight from an archive (for auditors).",
        discussion: """
            Reads the archive's log files (every one read is verified as `khata verify` verifies \
            it; nothing is printed from a damaged archive) and lists each entry that moved the \
            account from the start of --from to the end of --to, Asia/Dhaka dates: holds, \
            captures, voids, expiries, refunds and transfers, with the counterparty and the \
            balances after each. When the archive holds the log from its first record, the \
            ledger's rules are replayed, so the entries are exactly those the ledger applied and \
            the opening and closing balances are the ledger's. An archive that starts later \
            (pruned, or a partial export) lists the requests logged for the account and says that \
            outcomes and balances are not known. Formats: text (for a terminal), csv (for Excel: \
            UTF-8 with a byte-order mark, CRLF, amounts in major units), json. Exit status: 0, 1 \
            the archive is damaged, 2 refused.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, csv, json
    }

    @OptionGroup var folder: ArchiveFolderOptions

    @Option(help: ArgumentHelp("The account's key, e.g. merchant:SVC-1.", valueName: "key"))
    var account: String

    @Option(help: ArgumentHelp("First day of the period, YYYY-MM-DD (Asia/Dhaka).", valueName: "date"))
    var from: String

    @Option(help: ArgumentHelp("Last day of the period, YYYY-MM-DD (Asia/Dhaka), included.", valueName: "date"))
    var to: String

    @Option(help: "Output format: text, csv or json.")
    var format: Format = .text

    /// Asia/Dhaka is UTC+06:00 all year.
    static let dhakaOffsetSeconds: Int64 = 6 * 3_600

    static func day(_ text: String, _ option: String) throws -> CivilDate {
        guard let date = CivilDate.parse(text) else {
            throw ValidationError("\(option) \"\(text)\" is not a date (YYYY-MM-DD)")
        }
        guard (1970...9999).contains(date.year) else { throw ValidationError("\(option) \(text) is out of range") }
        return date
    }

    /// Nanoseconds since the Unix epoch at the start of `date` in Asia/Dhaka.
    static func dhakaStart(_ date: CivilDate) -> UInt64 {
        UInt64(max(0, Int64(date.daysSinceEpoch) * 86_400 - dhakaOffsetSeconds)) * 1_000_000_000
    }

    func validate() throws {
        guard !account.isEmpty else { throw ValidationError("--account names an account key") }
        let first = try Self.day(from, "--from")
        let last = try Self.day(to, "--to")
        guard first <= last else { throw ValidationError("--to \(to) is before --from \(from)") }
    }

    func run() async throws {
        let first = try Self.day(from, "--from")
        let last = try Self.day(to, "--to")
        let request = StatementRequest(
            archiveDirectory: folder.archiveDirectory, trustedKey: try ArchivePaths.trustedKey(folder.publicKey),
            accountKey: account, fromNanoseconds: Self.dhakaStart(first),
            untilNanoseconds: Self.dhakaStart(CivilDate(daysSinceEpoch: last.daysSinceEpoch + 1)))
        let statement: Statement
        do {
            statement = try await offThePool { () throws(ArchiveError) in
                try ArchiveStatementReader.statement(request)
            }
        } catch {
            throw ArchiveFailure.report(error)
        }
        if statement.limitation == "the archive holds no account with this key" {
            throw ArchiveFailure.report(
                ArchiveError(
                    .refused,
                    "the archive (sequences \(statement.archiveFirstSequence)...\(statement.archiveLastSequence)) "
                        + "holds no account with key \(account)", path: folder.archiveDirectory))
        }
        let output = StatementOutput(statement: statement, from: from, to: to)
        switch format {
        case .text: print(output.text(), terminator: "")
        case .csv: FileHandle.standardOutput.write(Data(output.csv()))
        case .json: print(output.json())
        }
    }
}

/// `body` on a dispatch thread, awaited: a statement replays the whole log.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws(ArchiveError) -> T) async throws(ArchiveError)
    -> T
{
    let result = await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(returning: Result { () throws(ArchiveError) in try body() })
        }
    }
    return try result.get()
}

/// A statement written out for people (text), spreadsheets (CSV) and tools (JSON).
struct StatementOutput {
    let statement: Statement
    let from: String
    let to: String

    var currency: Currency { statement.currency ?? .bdt }

    func amount(_ minor: UInt64) -> String { Amount(minorUnits: minor).formatted(currency, grouping: false) }

    func signed(_ minor: Int128) -> String {
        let magnitude = Amount(minorUnits: UInt64(minor.magnitude)).formatted(currency, grouping: false)
        return minor < 0 ? "-" + magnitude : magnitude
    }

    func time(_ nanoseconds: UInt64) -> String { ArchiveListCommand.dhaka(nanoseconds) }

    var counterparty: (StatementEntry) -> String {
        { $0.counterpartyKey ?? "id \($0.counterpartyId)" }
    }

    /// What a reader must know before trusting the numbers.
    var notes: [String] {
        var notes: [String] = []
        if let limitation = statement.limitation { notes.append(limitation) }
        if !statement.coversPeriodEnd, let last = statement.archiveLastNanoseconds {
            notes.append("the archive ends at \(time(last)) (Asia/Dhaka), before the period does")
        }
        return notes
    }

    func text() -> String {
        var out = "statement of \(statement.accountKey) (\(currency.code)), \(from) to \(to), Asia/Dhaka\n"
        out +=
            "archive: sequences \(statement.archiveFirstSequence)...\(statement.archiveLastSequence), every file "
            + "verified\n"
        for note in notes { out += "note: \(note)\n" }
        if let opening = statement.opening {
            out += "opening balance: \(signed(opening.postedMinor)) posted, \(signed(opening.pendingMinor)) pending\n"
        }
        out += "\n"
        let header = [
            "time (Dhaka)       ", "sequence  ", "kind    ", "debit       ", "credit      ", "posted after",
            "counterparty",
        ]
        out += header.joined(separator: " ") + "\n"
        for entry in statement.entries {
            let debit = entry.side == .debit ? amount(entry.amountMinor) : ""
            let credit = entry.side == .credit ? amount(entry.amountMinor) : ""
            let line = [
                time(entry.timestampNanoseconds),
                String(entry.sequence).padding(toLength: 10, withPad: " ", startingAt: 0),
                entry.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0),
                debit.padding(toLength: 12, withPad: " ", startingAt: 0),
                credit.padding(toLength: 12, withPad: " ", startingAt: 0),
                (entry.balancesAfter.map { signed($0.postedMinor) } ?? "?").padding(
                    toLength: 12, withPad: " ", startingAt: 0),
                counterparty(entry),
            ].joined(separator: " ")
            out += line + "\n"
        }
        out += "\n\(statement.entries.count) entries\n"
        if let closing = statement.closing {
            out += "closing balance: \(signed(closing.postedMinor)) posted, \(signed(closing.pendingMinor)) pending\n"
        }
        return out
    }

    static let csvHeader = [
        "time (Asia/Dhaka)", "sequence", "kind", "transfer", "hold", "counterparty", "reference", "code", "debit",
        "credit", "posted balance after", "pending balance after",
    ]

    func csv() -> [UInt8] {
        typealias Cell = RunReport.CSVCell
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        RunReport.csvRow(&out, Self.csvHeader.map(Cell.text))
        func balanceRow(_ label: String, _ balances: StatementBalances?) {
            guard let balances else { return }
            RunReport.csvRow(
                &out,
                [.text(label)] + Array(repeating: Cell.empty, count: 9) + [
                    .number(signed(balances.postedMinor)), .number(signed(balances.pendingMinor)),
                ])
        }
        balanceRow("opening balance", statement.opening)
        for entry in statement.entries {
            RunReport.csvRow(
                &out,
                [
                    .text(time(entry.timestampNanoseconds)), .number(String(entry.sequence)),
                    .text(entry.kind.rawValue),
                    .text(String(entry.transferId)), entry.holdId == 0 ? .empty : .text(String(entry.holdId)),
                    .text(counterparty(entry)), entry.reference.isEmpty ? .empty : .text(entry.reference),
                    .number(String(entry.code)),
                    entry.side == .debit ? .number(amount(entry.amountMinor)) : .empty,
                    entry.side == .credit ? .number(amount(entry.amountMinor)) : .empty,
                    entry.balancesAfter.map { .number(signed($0.postedMinor)) } ?? .empty,
                    entry.balancesAfter.map { .number(signed($0.pendingMinor)) } ?? .empty,
                ])
        }
        balanceRow("closing balance", statement.closing)
        for note in notes { RunReport.csvRow(&out, [.text("note: " + note)]) }
        return out
    }

    func json() -> String {
        func balances(_ value: StatementBalances?) -> Any {
            guard let value else { return NSNull() }
            return [
                "debits_pending_minor": value.debitsPending, "debits_posted_minor": value.debitsPosted,
                "credits_pending_minor": value.creditsPending, "credits_posted_minor": value.creditsPosted,
                "posted": signed(value.postedMinor), "pending": signed(value.pendingMinor),
            ] as [String: Any]
        }
        let entries: [[String: Any]] = statement.entries.map { entry in
            [
                "sequence": entry.sequence, "time": UTCTime.text(nanoseconds: entry.timestampNanoseconds),
                "kind": entry.kind.rawValue, "transfer_id": String(entry.transferId),
                "hold_id": entry.holdId == 0 ? NSNull() : String(entry.holdId) as Any, "side": entry.side.rawValue,
                "counterparty_id": String(entry.counterpartyId),
                "counterparty_key": entry.counterpartyKey ?? NSNull() as Any, "amount": amount(entry.amountMinor),
                "amount_minor": entry.amountMinor, "reference": entry.reference, "code": Int(entry.code),
                "balances_after": balances(entry.balancesAfter),
            ]
        }
        return LedgerSession.jsonLine([
            "account_key": statement.accountKey, "account_id": String(statement.accountId),
            "currency": currency.code, "from": from, "to": to, "complete": statement.complete,
            "archive_first_sequence": statement.archiveFirstSequence,
            "archive_last_sequence": statement.archiveLastSequence, "covers_period_end": statement.coversPeriodEnd,
            "notes": notes, "opening": balances(statement.opening), "closing": balances(statement.closing),
            "entries": entries,
        ])
    }
}
