import ArgumentParser
import Configuration
import Foundation
import JobStore
import Ledger
import LedgerAccess
import Reconciliation
import Scheduler

/// `khata reconcile`: one reconciliation run of a provider's settlement date.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile a provider's settlement lines of one date against the ledger.",
        discussion: """
            Matches every settlement line of the date (imported with khata settlements import) to \
            the ledger by payment reference, checks amount, currency, status, fee and date, and \
            puts each line, and each payment the provider captured in the window, in one category: \
            matched, amount_mismatch, fee_mismatch, missing_in_ledger, missing_at_provider, \
            duplicate_settlement, status_mismatch, currency_mismatch, late_settlement or \
            adjustment. Matched lines are cleared in the ledger with idempotent transfers; \
            mismatches are kept for review, one per transaction across runs. Running it again \
            changes nothing. Exit status: 0 whatever the run found, 1 when it could not run.

            Without --ledger-url it opens the data directory's ledger (stop khata serve first); \
            with it, it reaches the ledger owner's API with the key of the setting ledger.apiKey \
            (scopes read and post, and admin the first time, to open the clearing accounts).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The provider: bkash, nagad or sslcommerz.")
    var provider: String

    @Option(help: ArgumentHelp("The settlement date, YYYY-MM-DD.", valueName: "date"))
    var date: String

    @Option(help: ArgumentHelp("Fee schedules for this run instead of the configured ones (JSON).", valueName: "file"))
    var fees: String?

    @Option(help: ArgumentHelp("The ledger owner's base URL; default: the setting ledger.url.", valueName: "url"))
    var ledgerUrl: String?

    @Option(help: ArgumentHelp("PEM certificates of the authorities to trust for the ledger URL.", valueName: "file"))
    var ledgerCa: String?

    @Flag(help: "Allow a plain http:// ledger URL to another machine (a network you trust).")
    var allowPlainHttp = false

    @Flag(help: "Print the run as one JSON object.")
    var json = false

    func validate() throws {
        guard ReconciliationJob.providers.contains(provider) else {
            throw ValidationError(
                "--provider must be one of \(ReconciliationJob.providers.joined(separator: ", ")), not \(provider)")
        }
        guard CivilDate.parse(date) != nil else {
            throw ValidationError("--date \"\(date)\" is not a date (YYYY-MM-DD)")
        }
    }

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.reconcile")
        var reconciliation = settings.reconciliation
        if let fees { reconciliation.fees = try ReconciliationConfiguration.fees(file: fees) }
        let database = try await settings.openJobDatabase()
        // Safe: validate() parsed it.
        let day = CivilDate.parse(date)!
        let report: ReconciliationReport
        if let url = ledgerUrl ?? settings.ledgerURL {
            let remote = try RemoteLedger(
                url: url, apiKey: settings.ledgerAPIKey ?? "", caCertificatePath: ledgerCa,
                allowPlainHTTP: allowPlainHttp)
            let job = ReconciliationJob(database: database, ledger: remote, settings: reconciliation)
            do {
                report = try await reconcile(job, day)
            } catch {
                try? await remote.shutdown()
                throw error
            }
            try await remote.shutdown()
        } else {
            let ledger = try LedgerSession.open(settings)
            defer { ledger.close() }
            let job = ReconciliationJob(
                database: database, ledger: LedgerSession.access(ledger, database: database), settings: reconciliation)
            report = try await reconcile(job, day)
        }
        print(json ? report.json : report.text)
    }

    private func reconcile(_ job: ReconciliationJob, _ day: CivilDate) async throws -> ReconciliationReport {
        do {
            return try await job.run(provider: provider, date: day, runBy: "cli", now: Ledger.wallClockNanoseconds())
        } catch let error as ReconciliationError {
            throw CommandFailure(error.message)
        } catch let error as LedgerAccessError {
            throw CommandFailure("the ledger: \(error.message)")
        }
    }
}

/// The `reconciliation.*` settings: the late window, the accounts clearing posts to, and the
/// contracted fee schedules (`reconciliation.fees.<provider>.basisPoints`, …, one rule per
/// provider, or `reconciliation.feesFile`, a JSON file of dated rules).
enum ReconciliationConfiguration {
    static let ruleKeys = ["basisPoints", "fixedMinor", "minimumMinor", "maximumMinor", "toleranceMinor"]

    static func read(_ reader: ConfigReader) throws -> ReconciliationSettings {
        var settings = ReconciliationSettings()
        if let days = reader.int(forKey: "lateWindowDays") {
            guard ReconciliationSettings.lateWindowRange.contains(days) else {
                let range = ReconciliationSettings.lateWindowRange
                throw SettingsError("setting reconciliation.lateWindowDays must be \(range), got \(days)")
            }
            settings.lateWindowDays = days
        } else if let text = reader.string(forKey: "lateWindowDays") {
            throw SettingsError("setting reconciliation.lateWindowDays must be an integer, got \"\(text)\"")
        }
        if let key = reader.string(forKey: "settlementBankAccount"), !key.isEmpty {
            settings.accounts.settlementBankKey = key
        }
        if let key = reader.string(forKey: "feeExpenseAccount"), !key.isEmpty {
            settings.accounts.feeExpenseKey = key
        }
        if let key = reader.string(forKey: "writeOffAccount"), !key.isEmpty {
            settings.accounts.writeOffKey = key
        }
        if let key = reader.string(forKey: "ledgerCorrectionAccount"), !key.isEmpty {
            settings.accounts.ledgerCorrectionKey = key
        }
        var written: [String: Any] = [:]
        for provider in ReconciliationJob.providers {
            let scoped = reader.scoped(to: "fees").scoped(to: ConfigKey(provider))
            var rule: [String: Any] = [:]
            for key in ruleKeys {
                if let number = scoped.int(forKey: ConfigKey(key)) {
                    rule[key] = number
                } else if let text = scoped.string(forKey: ConfigKey(key)) {
                    throw SettingsError(
                        "setting reconciliation.fees.\(provider).\(key) must be a whole number, got \"\(text)\"")
                }
            }
            if let from = scoped.string(forKey: "from") { rule["from"] = from }
            if !rule.isEmpty { written[provider] = rule }
        }
        let file = reader.string(forKey: "feesFile")
        if let file, !written.isEmpty {
            throw SettingsError("set reconciliation.fees or reconciliation.feesFile, not both")
        }
        if let file {
            settings.fees = try fees(file: file)
        } else if !written.isEmpty {
            // Safe: numbers and strings always serialise.
            let data = try! JSONSerialization.data(withJSONObject: written)
            do {
                settings.fees = try FeeSchedule.parse(data, source: "setting reconciliation.fees")
            } catch {
                throw SettingsError(error.message)
            }
        }
        return settings
    }

    /// A fee schedule file (`--fees`, `reconciliation.feesFile`).
    static func fees(file: String) throws -> FeeSchedule {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("the fee schedule \(file) cannot be read")
        }
        do {
            return try FeeSchedule.parse(data, source: file)
        } catch {
            throw CommandFailure(error.message)
        }
    }
}
