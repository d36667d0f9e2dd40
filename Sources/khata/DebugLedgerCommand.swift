import ArgumentParser
import Ledger
import LedgerBench
import LedgerCore

/// A ledger writer for crash tests: creates accounts, then submits batches of transfers from
/// several concurrent submitters and prints `ack <round> <submitter> <batch>` once each batch is
/// durable. The events of a batch follow from those numbers alone (`CrashWorkload`), so a test
/// that kills this process with SIGKILL can check every acknowledged transfer after reopening.
struct DebugLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-ledger",
        abstract: "Submit deterministic transfer batches, acknowledging each durable one (for crash tests).",
        shouldDisplay: false
    )

    @OptionGroup var global: DataDirectoryOptions

    @Option(help: "A number that makes this run's transfer ids distinct from other runs'.")
    var round: Int = 0

    @Option(help: "Batches per submitter.")
    var batches: Int = 1000

    @Option(help: "Concurrent submitters.")
    var submitters: Int = 4

    @Option(help: "Log records between checkpoints of the ledger state.")
    var checkpointIntervalRecords: Int = 4_000_000

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.debug-ledger")
        var configuration = LedgerConfiguration()
        configuration.storage = settings.storage
        configuration.checkpointIntervalRecords = checkpointIntervalRecords
        let ledger = try Ledger.open(directory: settings.ledgerDirectory, configuration: configuration)
        let created = try await ledger.submit(CrashWorkload.accounts())
        guard created.allSatisfy({ $0.code == .ok || $0.code == .exists }) else {
            throw ValidationError("account creation failed: \(created.map(\.code))")
        }
        emit("open \(ledger.committedSequence)")
        let round = round
        let batches = batches
        try await withThrowingTaskGroup(of: Void.self) { group in
            for submitter in 0..<submitters {
                group.addTask {
                    for batch in 0..<batches {
                        let results = try await ledger.submit(
                            CrashWorkload.batch(round: round, submitter: submitter, batch: batch))
                        let refused = results.filter { $0.code != .ok }.count
                        emit("ack \(round) \(submitter) \(batch) refused=\(refused)")
                    }
                }
            }
            try await group.waitForAll()
        }
        ledger.close()
        emit("done")
    }
}
