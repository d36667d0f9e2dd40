import ArgumentParser
import KhataServer

/// The `khata` command: the ledger's operations for people and scripts.
@main
struct Khata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "khata",
        abstract: "Khata, a double-entry ledger core for bookings and payments in BDT.",
        discussion: """
            Data lives in --data-dir (default ./khata-data, or KHATA_DATA_DIR). Settings come from \
            a JSON file (--config, KHATA_CONFIG, or <data-dir>/khata.json when present) and from \
            environment variables named KHATA_<SECTION>_<SETTING>, which win over the file; see \
            docs/CONFIGURATION.md. Logs go to standard error: text on a terminal, one JSON object \
            per line otherwise.
            """,
        version: KhataServer.version,
        subcommands: [
            DemoCommand.self,
            AccountsCommand.self, TransferCommand.self, HistoryCommand.self, ServeCommand.self, KeysCommand.self,
            ContactsCommand.self, NotifyCommand.self,
            ExpireCommand.self,
            SettlementsCommand.self, ReconcileCommand.self, ReportCommand.self,
            JobsCommand.self, WorkerCommand.self, DbCommand.self,
            CheckCommand.self, ExportCommand.self, VerifyCommand.self, RestoreCommand.self, RepairCommand.self,
            ArchiveCommand.self,
            BenchCommand.self,
            DebugAppendCommand.self, DebugLedgerCommand.self,
        ]
    )

    /// As `AsyncParsableCommand.main`, after one step that must come first: `khata serve` (and
    /// `khata demo`, which serves) runs Swift concurrency on NIO's event loops, which is possible
    /// only on the main thread before any task is enqueued elsewhere.
    static func main() async {
        if ["serve", "demo"].contains(CommandLine.arguments.dropFirst().first) {
            KhataServer.runConcurrencyOnEventLoops()
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
