import Archive
import ArgumentParser
import Foundation
import KhataCrypto
import KhataServer
import Ledger
import LedgerBench
import LedgerStorage
import Logging
import StorageBench

/// `khata bench archive`: export, verify and restore against the `zstd` command-line tool on
/// the same log bytes, in the same run.
struct ArchiveBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Archive export, verify and restore against the zstd command-line tool.",
        discussion: """
            Writes --transfers transfers of seeded reservation traffic (one event per batch, ids \
            derived with SHA-256, as the HTTP API writes them) into a ledger in the scratch \
            directory, then, --runs times each, alternating: `zstd -<level>` on the log's bytes \
            (every segment up to its last group, concatenated into one file), `khata export` of \
            the same records, and verify and restore of the archive. Prints medians: speeds in \
            bytes of log per second, both compression ratios on the same bytes, and the ratios \
            between them. Needs the zstd command (Debian package zstd).
            """)

    @OptionGroup var log: LogOptions

    @Option(help: "Transfers to write (holds, captures, voids, expiries, refunds).")
    var transfers: Int = 1_000_000

    @Option(help: "zstd level for both sides, 1...19.")
    var level: Int = 3

    @Option(help: "Runs of each measurement; medians are printed.")
    var runs: Int = 3

    @Option(help: "Seed of the traffic.")
    var seed: UInt64 = 1

    @Flag(help: "Keep the scratch directory (ledger, last archive) for a closer look, and print its path.")
    var keep = false

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard transfers >= 1_000, transfers <= 100_000_000 else {
            throw ValidationError("--transfers must be 1,000...100,000,000")
        }
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1...19") }
        guard (1...25).contains(runs) else { throw ValidationError("--runs must be 1...25") }
    }

    func run() async throws {
        let logger = try log.start(label: "khata.bench")
        guard let zstd = PeerTools.find("zstd") else {
            throw CommandFailure("the zstd command is missing: install the Debian package zstd")
        }
        let base = try output.scratchDirectory()
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer {
            if keep {
                FileHandle.standardError.write(Data("kept \(base)\n".utf8))
            } else {
                try? FileManager.default.removeItem(atPath: base)
            }
        }
        let ledgerDirectory = base + "/data/ledger"
        logger.info("writing reservation traffic", metadata: ["transfers": "\(transfers)", "dir": "\(base)"])
        let (clock, advance) = ReservationTraffic.clock(startNanoseconds: 1_796_000_000_000_000_000)
        let ledger = try Ledger.open(directory: ledgerDirectory, clock: clock)
        let written = try await ReservationTraffic(transfers: transfers, seed: seed).write(
            into: ledger, advance: advance)
        ledger.close()
        let logFile = base + "/log.bin"
        let logBytes = try Self.concatenateLog(ledgerDirectory, into: logFile)
        let key = Ed25519.PrivateKey.generate()
        var zstdSeconds: [Double] = []
        var exportSeconds: [Double] = []
        var verifySeconds: [Double] = []
        var restoreSeconds: [Double] = []
        var zstdBytes = 0
        var archiveBytes = 0
        for run in 0..<runs {
            let zstdOut = base + "/log.bin.zst"
            let started = Clock.now()
            try PeerTools.run(zstd, ["-\(level)", "-q", "-f", logFile, "-o", zstdOut])
            zstdSeconds.append(Clock.seconds(since: started))
            zstdBytes = try Self.size(zstdOut)
            try FileManager.default.removeItem(atPath: zstdOut)

            let archive = base + "/archive-\(run)"
            var request = ExportRequest(
                ledgerDirectory: ledgerDirectory, archiveDirectory: archive, signingKey: key,
                khataVersion: KhataServer.version)
            request.level = Int32(level)
            let exportStarted = Clock.now()
            let outcome = try ArchiveExporter.export(request)
            exportSeconds.append(Clock.seconds(since: exportStarted))
            archiveBytes = outcome.manifest?.files.reduce(0) { $0 + $1.compressed.bytes } ?? 0

            let verifyStarted = Clock.now()
            _ = try ArchiveVerifier.verify(directory: archive, trustedKey: key.publicKey)
            verifySeconds.append(Clock.seconds(since: verifyStarted))

            let restoreStarted = Clock.now()
            _ = try ArchiveRestorer.restore(
                archiveDirectory: archive, dataDirectory: base + "/restored-\(run)", trustedKey: key.publicKey)
            restoreSeconds.append(Clock.seconds(since: restoreStarted))
            try FileManager.default.removeItem(atPath: base + "/restored-\(run)")
            if !keep || run < runs - 1 { try FileManager.default.removeItem(atPath: archive) }
        }
        let median = ImportBenchCommand.median
        let zstdRate = Double(logBytes) / median(zstdSeconds)
        let exportRate = Double(logBytes) / median(exportSeconds)
        let verifyRate = Double(logBytes) / median(verifySeconds)
        let restoreRate = Double(logBytes) / median(restoreSeconds)
        let zstdRatio = Double(logBytes) / Double(zstdBytes)
        let archiveRatio = Double(logBytes) / Double(archiveBytes)
        if output.json {
            print(
                LedgerSession.jsonLine([
                    "transfers": written.transfers, "reservations": written.reservations, "log_bytes": logBytes,
                    "level": level, "runs": runs, "zstd_bytes_per_s": zstdRate.rounded(),
                    "export_bytes_per_s": exportRate.rounded(), "verify_bytes_per_s": verifyRate.rounded(),
                    "restore_bytes_per_s": restoreRate.rounded(), "zstd_ratio": zstdRatio,
                    "archive_ratio": archiveRatio,
                    "export_speed_vs_zstd": exportRate / zstdRate, "ratio_vs_zstd": archiveRatio / zstdRatio,
                ]))
            return
        }
        print(
            "archive bench: \(written.transfers) transfers of \(written.reservations) reservations, "
                + "\(Units.bytes(logBytes)) of log, zstd level \(level), medians of \(runs)")
        let zstdRatioText = String(format: "%.2f", zstdRatio)
        let archiveRatioText = String(format: "%.2f", archiveRatio)
        print("  zstd -\(level) (command line): \(Units.bytes(Int(zstdRate)))/s, ratio \(zstdRatioText):1")
        print(
            "  khata export:          \(Units.bytes(Int(exportRate)))/s, ratio \(archiveRatioText):1"
                + String(
                    format: "  (%.2fx zstd's speed, %.2fx its ratio)", exportRate / zstdRate, archiveRatio / zstdRatio))
        print("  khata verify:          \(Units.bytes(Int(verifyRate)))/s of log")
        print("  khata restore:         \(Units.bytes(Int(restoreRate)))/s of log")
    }

    /// Every segment up to the end of its last group, one after another: the bytes an export
    /// covers, as one file for `zstd`.
    static func concatenateLog(_ ledgerDirectory: String, into path: String) throws -> Int {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw CommandFailure("cannot write \(path)") }
        defer { try? handle.close() }
        var total = 0
        let segments = try LogSegments.list(directory: ledgerDirectory)
        for (index, segment) in segments.enumerated() {
            let end = try segment.forEachGroup(isLastSegment: index == segments.count - 1, tailInProgress: false) { _ in
                true
            }
            try handle.write(contentsOf: Data(segment.bytes(at: 0, count: end.offset)))
            total += end.offset
        }
        return total
    }

    static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}

/// Command-line tools a benchmark compares itself with.
enum PeerTools {
    /// The tool's path on PATH, if installed.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs the tool and waits; a non-zero exit status is an error.
    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}
