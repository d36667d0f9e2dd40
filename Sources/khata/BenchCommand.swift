import ArgumentParser
import Foundation
import LedgerBench
import LedgerStorage
import Logging
import StorageBench

/// `khata bench`: measurements on this machine.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Khata on this machine.",
        discussion: """
            Each benchmark works in a scratch directory of its own (--dir, new or empty), which it \
            removes after the run; none reads or writes a data directory, so none takes --data-dir. \
            The ledger, storage and expiry benchmarks read storage settings from --config (or \
            KHATA_CONFIG) and KHATA_STORAGE_* variables; the store benchmark takes --database-url; \
            the import and reconcile benchmarks compare themselves with DuckDB and polars (--peers).
            """,
        subcommands: [
            LedgerBenchCommand.self, StorageBenchCommand.self, ExpiryBenchCommand.self, StoreBenchCommand.self,
            ImportBenchCommand.self, ReconcileBenchCommand.self, ReviewBenchCommand.self, NotifyBenchCommand.self,
            ArchiveBenchCommand.self,
        ],
        defaultSubcommand: LedgerBenchCommand.self
    )
}

/// `khata bench storage`: durable appends against the disk's physical limit, in one run.
struct StorageBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Durable appends of 128-byte records against the disk's physical limit.",
        discussion: """
            Each run writes --records records through the segment store (checksums, hash chain, \
            group commit, fdatasync per group) and the same bytes with one pwrite and one \
            fdatasync per group over a zero-filled file (the physical limit), alternating; it then \
            reopens the store with a checkpoint at its end, verifies it, and reopens it once more \
            without checkpoints (full replay). Figures are medians \
            over --runs. Scratch files go to --dir (default: a new directory under $TMPDIR or /tmp) \
            and are removed afterwards.
            """
    )

    @OptionGroup var config: BenchConfigOptions

    @OptionGroup var log: LogOptions

    @Option(help: "Records per run.")
    var records: Int = 4_000_000

    @Option(help: "Records per commit group (one pwrite and one fdatasync each).")
    var groupRecords: Int = 8192

    @Option(help: "Runs; figures are medians.")
    var runs: Int = 3

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard records >= groupRecords, records <= 1_000_000_000 else {
            throw ValidationError("--records must be between --group-records and 1,000,000,000")
        }
        guard groupRecords >= 1, groupRecords <= 65_536 else {
            throw ValidationError("--group-records must be 1...65536")
        }
        guard runs >= 1, runs <= 25 else { throw ValidationError("--runs must be 1...25") }
    }

    func run() async throws {
        let logger = try log.start(label: "khata.bench")
        let base = try output.scratchDirectory()
        let storage = try await config.storage()
        var options = StorageBench.Options(directory: base)
        options.records = records
        options.groupRecords = groupRecords
        options.runs = runs
        options.segmentSizeBytes = storage.segmentSizeBytes
        logger.info(
            "storage bench",
            metadata: [
                "records": "\(records)", "group_records": "\(groupRecords)", "runs": "\(runs)", "dir": "\(base)",
            ])
        let result = try StorageBench(options: options).run()
        if output.json {
            let object: [String: Any] = [
                "records": result.records, "group_records": result.groupRecords, "runs": result.runs,
                "records_per_s": result.recordsPerSecond.rounded(),
                "limit_records_per_s": result.limitRecordsPerSecond.rounded(),
                "ratio": (result.ratio * 1000).rounded() / 1000,
                "bytes_per_s": result.bytesPerSecond.rounded(),
                "limit_bytes_per_s": result.limitBytesPerSecond.rounded(),
                "open_with_checkpoint_s": result.openWithCheckpointSeconds,
                "open_without_checkpoint_s": result.openWithoutCheckpointSeconds,
                "check_bytes_per_s": result.checkBytesPerSecond.rounded(),
                "crc32c_hardware": result.crc32cHardware,
            ]
            print(LedgerSession.jsonLine(object))
            return
        }
        print("storage bench: \(records) records of 128 bytes, groups of \(groupRecords), median of \(runs) runs")
        print(
            "  khata durable appends: \(Units.rate(result.recordsPerSecond)) records/s "
                + "(\(Units.bytes(Int(result.bytesPerSecond)))/s)"
        )
        print(
            "  physical limit:        \(Units.rate(result.limitRecordsPerSecond)) records/s "
                + "(\(Units.bytes(Int(result.limitBytesPerSecond)))/s)"
        )
        print(String(format: "  ratio:                 %.1f%% of the limit", result.ratio * 100))
        print(
            "  open with checkpoint:  \(Units.seconds(result.openWithCheckpointSeconds)) (without: "
                + "\(Units.seconds(result.openWithoutCheckpointSeconds)), replaying every record)"
        )
        print("  check:                 \(Units.bytes(Int(result.checkBytesPerSecond)))/s")
    }
}

/// `khata bench ledger` (the default): durable transfers per second through the whole engine.
struct LedgerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Durable transfers per second through the ledger engine.",
        discussion: """
            Creates --accounts accounts, then posts --transfers transfers between uniformly random \
            accounts (10% holds, later captured or voided) in batches of up to --batch-events from \
            --submitters concurrent submitters, each batch acknowledged only once durable. Prints \
            throughput and the per-batch latency from submission to durable acknowledgement. \
            Scratch data goes to --dir (default: a new directory under $TMPDIR or /tmp) and is removed.
            """
    )

    @OptionGroup var config: BenchConfigOptions

    @OptionGroup var log: LogOptions

    @Option(help: "Accounts to create.")
    var accounts: Int = 100_000

    @Option(help: "Transfers to post.")
    var transfers: Int = 1_000_000

    @Option(help: "Events per submitted batch (1...\(LedgerSession.largestBatch)).")
    var batchEvents: Int = LedgerSession.largestBatch

    @Option(help: "Concurrent submitters.")
    var submitters: Int = 4

    @Option(
        help: ArgumentHelp(
            "Offered load in transfers per second (0: as fast as acknowledgements allow). Latency then counts "
                + "from each batch's scheduled start."))
    var rate: Int = 0

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard accounts >= 2, accounts <= 100_000_000 else {
            throw ValidationError("--accounts must be 2...100,000,000")
        }
        guard transfers >= 1, transfers <= 1_000_000_000 else {
            throw ValidationError("--transfers must be 1...1,000,000,000")
        }
        try LedgerSession.checkBatchSize(batchEvents, option: "--batch-events")
        guard submitters >= 1, submitters <= 64 else { throw ValidationError("--submitters must be 1...64") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 or more transfers per second") }
    }

    func run() async throws {
        let logger = try log.start(label: "khata.bench")
        let base = try output.scratchDirectory()
        var options = LedgerBench.Options(directory: base)
        options.accounts = accounts
        options.transfers = transfers
        options.batchEvents = batchEvents
        options.submitters = submitters
        options.rateTransfersPerSecond = rate
        options.storage = try await config.storage()
        logger.info(
            "ledger bench", metadata: ["accounts": "\(accounts)", "transfers": "\(transfers)", "dir": "\(base)"])
        let result = try await LedgerBench(options: options).run()
        if output.json {
            let object: [String: Any] = [
                "transfers_per_s": result.transfersPerSecond.rounded(), "p50_ms": result.p50Milliseconds,
                "p99_ms": result.p99Milliseconds, "accounts": result.accounts, "transfers": result.transfers,
                "rss_bytes": result.rssBytes, "seconds": result.seconds, "ok_transfers": result.okTransfers,
                "refused_transfers": result.refusedTransfers,
            ]
            print(LedgerSession.jsonLine(object))
            return
        }
        print("ledger bench: \(result.transfers) transfers over \(result.accounts) accounts, batches of \(batchEvents)")
        print(
            "  durable transfers: \(Units.rate(result.transfersPerSecond)) per second "
                + "(\(Units.seconds(result.seconds)))"
        )
        print(
            String(
                format: "  batch latency:     p50 %.2f ms, p99 %.2f ms (submit to durable acknowledgement)",
                result.p50Milliseconds, result.p99Milliseconds))
        print("  results:           \(result.okTransfers) ok, \(result.refusedTransfers) refused")
        print("  peak memory:       \(Units.bytes(result.rssBytes))")
    }
}

/// The settings a benchmark reads. It works only in its scratch directory, so it takes no data
/// directory and reads no data directory's configuration file.
struct BenchConfigOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "JSON configuration file for the storage settings (environment: KHATA_CONFIG; default: none; "
                + "KHATA_STORAGE_* variables win over it).", valueName: "file"))
    var config: String?

    /// The storage settings from --config (or KHATA_CONFIG) and the environment, checked as
    /// every other command checks them.
    func storage() async throws -> StoreConfiguration {
        let settings = try await Settings.load(
            dataDir: "", configPath: config ?? environment("KHATA_CONFIG"), defaultConfigPath: nil)
        return settings.storage
    }
}

/// Where a benchmark writes its scratch data and how it prints, shared by every `bench` command.
struct BenchOutputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Scratch directory on the disk to measure: new or empty, and removed after the run.",
            valueName: "dir"))
    var dir: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// `--dir`, or a new directory under $TMPDIR (or /tmp) named after this process. A `--dir`
    /// that holds anything is refused: the benchmark deletes what is there, and a data directory
    /// named by mistake must survive.
    func scratchDirectory() throws -> String {
        guard let dir else {
            return (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/khata-bench-\(getpid())"
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) else { return dir }
        guard isDirectory.boolValue else {
            throw CommandFailure("--dir \(dir) is a file; a benchmark needs a new or empty directory")
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: dir), !entries.isEmpty {
            let shown = entries.sorted().prefix(3).joined(separator: ", ") + (entries.count > 3 ? ", …" : "")
            throw CommandFailure(
                "--dir \(dir) is not empty (it holds \(shown)); a benchmark deletes everything in its scratch "
                    + "directory, so give it a new or empty one")
        }
        return dir
    }
}
