import ArgumentParser
import Bookings
import Foundation
import JobStore
import KhataServer
import Ledger
import LedgerAccess
import LedgerCore

/// What the ledger commands share: opening the ledger of the data directory, naming accounts,
/// and printing for people (on a terminal) or for programs (JSON).
enum LedgerSession {
    static func open(_ global: DataDirectoryOptions) async throws -> Ledger {
        let (settings, _) = try await global.load(label: "khata.ledger")
        return try open(settings)
    }

    /// The ledger of settings already loaded (logging is bootstrapped once per process).
    /// `clock` is the ledger's (the demo's simulated day; the wall clock otherwise).
    static func open(
        _ settings: Settings, groupObserver: (any DurableGroupObserver)? = nil,
        clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    ) throws -> Ledger {
        var configuration = LedgerConfiguration()
        configuration.storage = settings.storage
        return try Ledger.open(
            directory: settings.ledgerDirectory, configuration: configuration, clock: clock,
            groupObserver: groupObserver)
    }

    /// The jobs' access to a ledger in this process, with the job store for reservation lookups.
    static func access(
        _ ledger: Ledger, database: JobDatabase, clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds
    ) -> LocalLedger {
        LocalLedger(
            ledger: ledger,
            desk: BookingDesk(ledger: ledger, records: ReservationRecords(database: database), now: clock))
    }

    /// The most events one ledger submission takes, which every batch-size option is held to.
    static let largestBatch = LedgerConfiguration().maximumBatchEvents

    /// Refuses a batch size outside 1...largestBatch, naming the option.
    static func checkBatchSize(_ size: Int, option: String) throws {
        guard (1...largestBatch).contains(size) else {
            throw ValidationError("\(option) must be 1...\(largestBatch), got \(size)")
        }
    }

    /// A 128-bit id written in decimal.
    static func parseId(_ text: String) throws -> UInt128 {
        guard let id = TextRules.id(text) else { throw CommandFailure("\"\(text)\" is not an id: \(TextRules.idRule)") }
        return id
    }

    /// A transfer reference: 1 to 32 bytes of UTF-8 without control characters; empty for none.
    static func reference(_ text: String) throws -> TransferReference {
        if text.isEmpty { return .empty }
        if let problem = TextRules.referenceProblem(text) { throw CommandFailure("--reference: \(problem)") }
        // Safe: the rules above are stricter than the reference's own.
        return TransferReference(text)!
    }

    /// A stable id for an account key (FNV-1a over the key, twice with different offsets), so
    /// creating the same key again is idempotent without remembering an id.
    static func derivedId(_ key: String) -> UInt128 { NewAccount.derivedId(forKey: key) }

    /// An account by key, or by decimal id when no account has that key.
    static func resolve(_ reference: String, in ledger: Ledger) throws -> Account {
        if let account = ledger.account(key: reference) { return account }
        if let id = UInt128(reference), let account = ledger.account(id: id) { return account }
        throw CommandFailure("no account with key or id \"\(reference)\"")
    }

    static func report(_ code: ResultCode, json: Bool) throws {
        if !json { Swift.print("result: \(code)") }
        if !code.succeeded {
            if json { Swift.print(jsonLine(["result": "\(code)"])) }
            throw ExitCode(1)
        }
    }

    static func print(_ account: Account, json: Bool) {
        let amount = { (minor: UInt64) in Amount(minorUnits: minor).formatted(account.currency) }
        let available = account.available
        let availableText =
            (available < 0 ? "-" : "") + Amount(minorUnits: UInt64(available.magnitude)).formatted(account.currency)
        if json {
            // The API's shape: ungrouped amounts, flags by name.
            Swift.print(APIShapes.account(account))
            return
        }
        Swift.print("\(account.key)  (id \(account.id), \(account.currency.code))")
        Swift.print("  debits:  posted \(amount(account.debitsPosted)), pending \(amount(account.debitsPending))")
        Swift.print("  credits: posted \(amount(account.creditsPosted)), pending \(amount(account.creditsPending))")
        Swift.print("  available: \(availableText)")
        if available < 0 {
            // Which way balances run surprises people reading a clearing account for the first time.
            let rule =
                account.flags.contains(.creditsMustNotExceedDebits)
                ? "debits posted less credits posted and pending" : "credits posted less debits posted and pending"
            Swift.print(
                "  (available is \(rule); it is below zero on an account that is mostly debited, such as a "
                    + "provider's clearing account, whose debits are what the provider owes)")
        }
    }

    /// A transfer in the API's shape: accounts by key, an ungrouped amount, flags and state by
    /// name.
    static func print(_ transfer: Transfer, in ledger: Ledger) {
        // Never nil for a committed transfer, whose accounts exist; the fields by id otherwise.
        let line =
            APIShapes.transfer(transfer, in: ledger)
            ?? jsonLine([
                "id": "\(transfer.fields.id)", "debitAccountId": "\(transfer.fields.debitAccountId)",
                "creditAccountId": "\(transfer.fields.creditAccountId)", "timestamp": transfer.timestamp,
            ])
        Swift.print(line)
    }

    /// A count with its digits in groups of three, as amounts are written: 20,000.
    static func grouped(_ count: Int) -> String {
        let digits = Array(String(count.magnitude))
        var text = count < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }

    /// "1 batch", "3 batches": a grouped count and its noun.
    static func counted(_ count: Int, _ noun: String) -> String {
        let plural = noun.hasSuffix("ch") || noun.hasSuffix("s") ? noun + "es" : noun + "s"
        return "\(grouped(count)) \(count == 1 ? noun : plural)"
    }

    static func jsonLine(_ object: [String: Any]) -> String {
        // Safe: callers pass strings, booleans and finite numbers only, which always serialise.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A command that cannot do what was asked, for a reason in the input or the data (printed as
/// `Error: …` without the usage text, which is for mistakes in the command line itself).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
