import ArgumentParser
import Foundation
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

        @OptionGroup var global: GlobalOptions

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

        @OptionGroup var global: GlobalOptions

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

        @OptionGroup var global: GlobalOptions

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
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "An account's transfers in commit order, with cursor pagination.",
        discussion: "Each line ends with the transfer's timestamp; pass the last one as --after for the next page.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The account's key or decimal id.")
    var account: String

    @Option(help: "Show transfers after this cursor (a transfer timestamp from an earlier page).")
    var after: UInt64 = 0

    @Option(help: "Transfers per page (1...10000).")
    var limit: Int = 50

    @Flag(help: "Print JSON lines, one transfer each.")
    var json = false

    func validate() throws {
        guard limit >= 1 && limit <= 10_000 else { throw ValidationError("--limit must be 1...10000") }
    }

    func run() async throws {
        let ledger = try await LedgerSession.open(global)
        defer { ledger.close() }
        let resolved = try LedgerSession.resolve(account, in: ledger)
        for transfer in try ledger.history(accountId: resolved.id, after: after, limit: limit) {
            LedgerSession.print(transfer, currency: resolved.currency, in: ledger, json: json)
        }
    }
}
