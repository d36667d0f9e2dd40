import ArgumentParser
import Foundation
import KhataServer
import Ledger
import LedgerCore

/// `khata accounts`: create, show and list accounts.
struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "Create, show and list ledger accounts.",
        subcommands: [CreateAccount.self, ShowAccount.self, ListAccounts.self]
    )

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create an account (idempotent: the same key and settings again answers exists).")

        @OptionGroup var global: DataDirectoryOptions

        @Option(help: "The account's unique key, e.g. merchant:SVC-456 (at most 64 bytes).")
        var key: String

        @Option(help: "The 128-bit id in decimal (default: derived from the key, so reruns are idempotent).")
        var id: String?

        @Option(help: "ISO 4217 currency code.")
        var currency: String = "BDT"

        @Option(help: "debits-must-not-exceed-credits (never overdrawn) or credits-must-not-exceed-debits.")
        var limit: [AccountLimit] = []

        @Option(help: "Chart-of-accounts code (0...65535).")
        var code: UInt16 = 0

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let ledger = try await LedgerSession.open(global)
            defer { ledger.close() }
            guard let currency = Currency(code: currency) else {
                throw CommandFailure("unknown currency \(self.currency); use an ISO 4217 code such as BDT")
            }
            let accountId = try id.map(LedgerSession.parseId) ?? LedgerSession.derivedId(key)
            let flags = limit.reduce(into: AccountFlags()) { $0.insert($1.flags) }
            let results = try await ledger.submit([
                .createAccount(NewAccount(id: accountId, key: key, currency: currency, flags: flags, code: code))
            ])
            try LedgerSession.report(results[0].code, json: json)
            if let account = ledger.account(id: accountId) { LedgerSession.print(account, json: json) }
        }
    }

    struct ShowAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show an account's four balances and what is available.")

        @OptionGroup var global: DataDirectoryOptions

        @Argument(help: "The account's key or decimal id.")
        var account: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let ledger = try await LedgerSession.open(global)
            defer { ledger.close() }
            LedgerSession.print(try LedgerSession.resolve(account, in: ledger), json: json)
        }
    }

    struct ListAccounts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List every account by key.")

        @OptionGroup var global: DataDirectoryOptions

        @Flag(help: "Print JSON lines, one account each.")
        var json = false

        func run() async throws {
            let ledger = try await LedgerSession.open(global)
            defer { ledger.close() }
            for account in ledger.accounts.sorted(by: { $0.key < $1.key }) { LedgerSession.print(account, json: json) }
        }
    }
}

enum AccountLimit: String, ExpressibleByArgument, CaseIterable {
    case debitsMustNotExceedCredits = "debits-must-not-exceed-credits"
    case creditsMustNotExceedDebits = "credits-must-not-exceed-debits"

    var flags: AccountFlags {
        self == .debitsMustNotExceedCredits ? .debitsMustNotExceedCredits : .creditsMustNotExceedDebits
    }
}

/// `khata history`: an account's transfers in commit order, a page at a time.
struct HistoryCommand: AsyncParsableCommand {
    /// The HTTP API's page limit for `GET /v1/accounts/{key}/history`, so that a page means the
    /// same on both.
    static let limits = 1...1_000

    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "An account's transfers in commit order, with cursor pagination.",
        discussion: """
            Prints a table: the transfer's timestamp (nanoseconds since the Unix epoch, the \
            cursor), id, the debited and the credited account by key, the amount in the account's \
            currency, the state and the reference. A full page ends with the --after that shows the \
            next one. With --json, one transfer a line in the HTTP API's shape; pass the last \
            timestamp as --after for the next page.
            """)

    @OptionGroup var global: DataDirectoryOptions

    @Argument(help: "The account's key or decimal id.")
    var account: String

    @Option(help: "Show transfers after this cursor (a transfer timestamp from an earlier page).")
    var after: UInt64 = 0

    @Option(help: "Transfers per page, \(limits.lowerBound)...\(limits.upperBound) (as the HTTP API's history route).")
    var limit: Int = 50

    @Flag(help: "Print JSON lines, one transfer each.")
    var json = false

    func validate() throws {
        guard Self.limits.contains(limit) else {
            throw ValidationError(
                "--limit must be \(Self.limits.lowerBound)...\(Self.limits.upperBound) transfers per page "
                    + "(the HTTP API's limit), got \(limit)")
        }
    }

    func run() async throws {
        let ledger = try await LedgerSession.open(global)
        defer { ledger.close() }
        let resolved = try LedgerSession.resolve(account, in: ledger)
        let page = try ledger.history(accountId: resolved.id, after: after, limit: limit)
        if json {
            for transfer in page { LedgerSession.print(transfer, in: ledger) }
            return
        }
        guard let last = page.last else {
            print(after == 0 ? "no transfers" : "no transfers after \(after)")
            return
        }
        for line in Self.table(page, currency: resolved.currency, in: ledger) { print(line) }
        if page.count == limit { print("next page: --after \(last.timestamp)") }
    }

    /// The page as aligned columns under headings, amounts to the right; accounts by key (by
    /// id only if one has no account, which a committed transfer never has).
    static func table(_ page: [Transfer], currency: Currency, in ledger: Ledger) -> [String] {
        let key = { (id: UInt128) in ledger.account(id: id)?.key ?? "\(id)" }
        let rows = page.map { transfer in
            let fields = transfer.fields
            return [
                "\(transfer.timestamp)", "\(fields.id)", key(fields.debitAccountId), key(fields.creditAccountId),
                Amount(minorUnits: fields.amountMinor).formatted(currency), APIShapes.stateName(transfer.state),
                "\(fields.reference)",
            ]
        }
        let headings = ["TIMESTAMP", "ID", "FROM", "TO", "AMOUNT", "STATE", "REFERENCE"]
        let amountColumn = 4
        let widths = headings.indices.map { column in
            ([headings] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([headings] + rows).map { row in
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return column == amountColumn ? padding + row[column] : row[column] + padding
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
