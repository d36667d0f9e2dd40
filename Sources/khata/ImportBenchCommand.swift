import ArgumentParser
import Dispatch
import Foundation
import JobStore
import Scheduler
import SettlementImport

/// `khata bench import`: reading settlement files, against DuckDB and polars on the same file.
struct ImportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Parse and normalize a generated settlement file; with --peers, DuckDB and polars on it too.",
        discussion: """
            Writes one bKash-dialect file of --lines lines to the scratch directory and reads it \
            --runs times: libcsv, UTF-8 and SHA-256 checks, and every line parsed into exact \
            amounts, UTC times and checked words (the importer's first pass); then again building \
            the stored lines' values (its second pass, without the database). With --peers (needs \
            python3 with the duckdb and polars packages) it also times DuckDB's read_csv into a \
            table and polars' read_csv on the same file, amounts as DECIMAL(18,2) and times as \
            timestamps, default threads, and prints the ratios. Figures are medians.
            """)

    @Option(help: "Lines in the generated file.")
    var lines = 1_000_000

    @Option(help: "Runs; figures are medians.")
    var runs = 3

    @Flag(help: "Also time DuckDB and polars (python3) on the same file.")
    var peers = false

    @Option(help: ArgumentHelp("Read this bKash-dialect file instead of generating one.", valueName: "file"))
    var file: String?

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard lines >= 1 else { throw ValidationError("--lines must be at least 1") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        let directory = try output.scratchDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = file ?? directory + "/bkash-bench.csv"
        if file == nil { try Self.writeFile(path, lines: lines) }
        let sizeBytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64) ?? 0
        var measuredLines = lines
        var parseSeconds: [Double] = []
        var parseCPUSeconds: [Double] = []
        var valueSeconds: [Double] = []
        for _ in 0..<runs {
            let cpuStart = Self.cpuSeconds()
            var start = DispatchTime.now().uptimeNanoseconds
            let facts = try SettlementFileScan.read(path: path, dialect: .bkash) { _, _, _ in }
            parseSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            parseCPUSeconds.append(Self.cpuSeconds() - cpuStart)
            measuredLines = facts.lineCount
            guard file != nil || (facts.lineCount == lines && facts.rejectedCount == 0) else {
                throw CommandFailure(
                    "the generated file read back \(facts.lineCount) lines, \(facts.rejectedCount) bad")
            }
            start = DispatchTime.now().uptimeNanoseconds
            var checksum: Int64 = 0
            guard let date = facts.latestTransactionDhakaDate?.description else {
                throw CommandFailure("no line was read")
            }
            _ = try SettlementFileScan.read(path: path, dialect: .bkash) { row, record, reader in
                if case .line(let parsed) = row {
                    let line = reader.settlementLine(parsed, record: record, defaultSettlementDateText: date)
                    checksum &+= line.netMinor &+ Int64(line.providerTxnId.utf8.count)
                }
            }
            valueSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard checksum != 0 else { throw CommandFailure("no line was read") }
        }
        let parse = Self.median(parseSeconds)
        let parseCPU = Self.median(parseCPUSeconds)
        let values = Self.median(valueSeconds)
        var result: [String: Any] = [
            "lines": measuredLines, "sizeBytes": sizeBytes, "runs": runs, "parseSeconds": parse,
            "parseLinesPerSecond": Double(measuredLines) / parse, "parseCPUSeconds": parseCPU, "valuesSeconds": values,
            "valuesLinesPerSecond": Double(measuredLines) / values,
        ]
        if peers {
            let figures = try Self.peerSeconds(path: path, runs: runs)
            for (name, seconds) in figures {
                result["\(name)Seconds"] = seconds
                result["\(name)LinesPerSecond"] = Double(measuredLines) / seconds
                result["ratioTo\(name.prefix(1).uppercased() + name.dropFirst())"] = seconds / parse
            }
        }
        if output.json {
            print(LedgerSession.jsonLine(result))
            return
        }
        func rate(_ seconds: Double) -> String {
            let perSecond = LedgerSession.grouped(Int(Double(measuredLines) / seconds))
            return "\(String(format: "%.3f", seconds)) s = \(perSecond) lines/s"
        }
        print(
            "\(LedgerSession.grouped(measuredLines)) lines (\(sizeBytes / 1_048_576) MiB), median of \(runs): "
                + "parse and normalize \(rate(parse)) (CPU \(String(format: "%.3f", parseCPU)) s on all threads); with "
                + "the stored lines' values \(rate(values))")
        for name in ["duckdb", "polars"] {
            guard let seconds = result["\(name)Seconds"] as? Double else { continue }
            print("\(name): \(rate(seconds)); Khata parses \(String(format: "%.2f", seconds / parse))× as fast")
        }
    }

    /// CPU time this process has used, on all its threads.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// A bKash-dialect file of `lines` payments: seeded, so every run and machine reads the same.
    static func writeFile(_ path: String, lines: Int) throws {
        guard
            let handle = FileHandle(forWritingAtPath: path)
                ?? {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                    return FileHandle(forWritingAtPath: path)
                }()
        else { throw CommandFailure("cannot write \(path)") }
        defer { try? handle.close() }
        var text =
            "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
            + "paymentExecuteTime,transactionStatus,originalTrxID\n"
        var state: UInt64 = 0x5EED_2026
        for index in 0..<lines {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let amount = Int64((state >> 40) % 500_000) + 100
            let fee = (amount * 185 + 5_000) / 10_000
            let seconds = Int((state >> 20) % 86_400)
            let time = String(format: "2026-11-30 %02d:%02d:%02d", seconds / 3_600, seconds / 60 % 60, seconds % 60)
            text +=
                "T\(String(state >> 24, radix: 36, uppercase: true)),P\(index),KH-PAY-\(index),payment,"
                + "\(DecimalAmount.format(amount, scale: 2)),\(DecimalAmount.format(fee, scale: 2)),"
                + "\(DecimalAmount.format(amount - fee, scale: 2)),BDT,01770XXX618,\(time),Completed,\n"
            if text.utf8.count > 1 << 20 {
                handle.write(Data(text.utf8))
                text = ""
            }
        }
        handle.write(Data(text.utf8))
    }

    /// Median seconds of DuckDB and polars reading the file at `path`, timed inside python3.
    static func peerSeconds(path: String, runs: Int) throws -> [(String, Double)] {
        let script = """
            import json, sys, time
            path, runs = sys.argv[1], int(sys.argv[2])
            out = {}
            types = {"amount": "DECIMAL(18,2)", "charge": "DECIMAL(18,2)", "netAmount": "DECIMAL(18,2)",
                     "paymentExecuteTime": "TIMESTAMP"}
            try:
                import duckdb
                times = []
                for _ in range(runs):
                    con = duckdb_connection(duckdb)
                    start = time.perf_counter()
                    con.sql(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header=true, types={types})")
                    times.append(time.perf_counter() - start)
                    assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] > 0
                    con.close()
                out["duckdb"] = sorted(times)[len(times) // 2]
            except ImportError:
                pass
            try:
                import polars as pl
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    frame = pl.read_csv(path, schema_overrides={"amount": pl.Decimal(18, 2),
                        "charge": pl.Decimal(18, 2), "netAmount": pl.Decimal(18, 2), "paymentExecuteTime": pl.Datetime})
                    times.append(time.perf_counter() - start)
                    assert frame.height > 0
                out["polars"] = sorted(times)[len(times) // 2]
            except ImportError:
                pass
            print(json.dumps(out))
            """
        return try PeerScript.seconds(script, arguments: [path, String(runs)])
    }
}
