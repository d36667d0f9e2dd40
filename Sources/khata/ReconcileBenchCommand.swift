import ArgumentParser
import Dispatch
import Foundation
import JobStore
import LedgerCore
import Reconciliation
import Scheduler
import SettlementImport

/// `khata bench reconcile`: a day of settlement lines against a day of ledger payments.
struct ReconcileBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Reconcile a generated day in memory; with --peers, DuckDB and polars on the same files.",
        discussion: """
            Writes two files to the scratch directory: a bKash settlement file of --lines lines and \
            the ledger's payments of that day as CSV (reference, hold id, amount in poisha, state, \
            capture time), made from one seeded day with faults in it (amounts and fees off by a \
            poisha, repeated lines, payments the ledger never saw, payments after their hold \
            expired). Then it times, as medians of --runs: reading both files into columns (the \
            settlement file by the importer's own reader, the payments file on another thread at \
            the same time), setting repeated transactions apart, joining lines and payments by \
            reference both ways and putting each in its category with the job's own rules. With \
            --peers (python3 with duckdb and polars) the peers do the same on the same files. \
            Storing lines is not in it; --clearing times posting the clearing transfers of --lines \
            matched lines apart, into a fresh ledger in the scratch directory, in batches of 1,000 \
            legs as the job posts them.
            """)

    @Option(help: "Settlement lines (and about as many ledger payments).")
    var lines = 1_000_000

    @Option(help: "Runs; figures are medians.")
    var runs = 3

    @Flag(help: "Also time DuckDB and polars (python3) on the same files.")
    var peers = false

    @Flag(help: "Also time posting the clearing transfers of that many matched lines.")
    var clearing = false

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard lines >= 10 else { throw ValidationError("--lines must be at least 10") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    static let day = CivilDate(year: 2026, month: 11, day: 30)

    func run() async throws {
        let directory = try output.scratchDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settlementPath = directory + "/bkash-2026-11-30.csv"
        let paymentsPath = directory + "/payments-2026-11-30.csv"
        let injected = try Self.writeDay(settlement: settlementPath, payments: paymentsPath, lines: lines)
        var seconds: [Double] = []
        var timed: [Timed] = []
        var counts: [ReconciliationCategory: Int] = [:]
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            let run = try Self.reconcile(settlement: settlementPath, payments: paymentsPath, expectedLines: lines)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            counts = run.counts
            timed.append(run)
        }
        guard counts[.amountMismatch] == injected.amount, counts[.feeMismatch] == injected.fee,
            counts[.duplicateSettlement] == injected.duplicates, counts[.missingInLedger] == injected.unknown,
            counts[.statusMismatch] == injected.expired
        else {
            throw CommandFailure("the categories do not match the injected faults: \(counts) against \(injected)")
        }
        let median = ImportBenchCommand.median(seconds)
        var result: [String: Any] = [
            "lines": lines, "runs": runs, "seconds": median, "linesPerSecond": Double(lines) / median,
            "readSeconds": ImportBenchCommand.median(timed.map(\.readSeconds)),
            "rulesSeconds": ImportBenchCommand.median(timed.map(\.rulesSeconds)),
            "cpuSeconds": ImportBenchCommand.median(timed.map(\.cpuSeconds)),
            "categories": Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
        ]
        if peers {
            for (name, peerSeconds) in try Self.peerSeconds(
                settlement: settlementPath, payments: paymentsPath, runs: runs)
            {
                result["\(name)Seconds"] = peerSeconds
                result["ratioTo\(name.prefix(1).uppercased() + name.dropFirst())"] = peerSeconds / median
            }
        }
        var cleared: ClearingBench.Result?
        if clearing {
            let outcome = try await ClearingBench.run(lines: lines, directory: directory)
            result["clearingSeconds"] = outcome.seconds
            result["clearingLegsPerSecond"] = Double(outcome.legs) / outcome.seconds
            cleared = outcome
        }
        if output.json {
            print(LedgerSession.jsonLine(result))
            return
        }
        print(
            "\(LedgerSession.grouped(lines)) lines against their payments, median of \(runs): "
                + "\(String(format: "%.3f", median)) s = \(LedgerSession.grouped(Int(Double(lines) / median))) lines/s")
        func figure(_ key: String) -> String { String(format: "%.3f", result[key] as? Double ?? 0) }
        print(
            "reading both files and joining \(figure("readSeconds")) s, the rules \(figure("rulesSeconds")) s; "
                + "CPU \(figure("cpuSeconds")) s on all threads")
        print(counts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
        if let cleared {
            let rate = LedgerSession.grouped(Int(Double(cleared.legs) / cleared.seconds))
            print(
                "clearing: \(LedgerSession.grouped(cleared.legs)) legs for \(LedgerSession.grouped(cleared.lines)) "
                    + "lines in \(String(format: "%.3f", cleared.seconds)) s = \(rate) legs/s")
        }
        for name in ["duckdb", "polars"] {
            guard let peer = result["\(name)Seconds"] as? Double else { continue }
            let ratio = String(format: "%.2f", peer / median)
            print("\(name): \(String(format: "%.3f", peer)) s; Khata is \(ratio)× as fast")
        }
    }

    /// How many of each fault the generated day holds.
    struct Injected: CustomStringConvertible {
        var amount = 0
        var fee = 0
        var duplicates = 0
        var unknown = 0
        var expired = 0
        var description: String {
            "amount \(amount), fee \(fee), duplicates \(duplicates), unknown \(unknown), expired \(expired)"
        }
    }

    /// Writes the day: every payment captured on the 29th or 30th (Asia/Dhaka) and settled on the
    /// 30th, one fault in every few hundred lines.
    static func writeDay(settlement: String, payments: String, lines: Int) throws -> Injected {
        var injected = Injected()
        var settlementText =
            "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
            + "paymentExecuteTime,transactionStatus,originalTrxID\n"
        var paymentText = "reference,hold_id,amount_minor,currency,state,captured_at_ns\n"
        let settlementHandle = try handle(settlement)
        let paymentHandle = try handle(payments)
        defer {
            try? settlementHandle.close()
            try? paymentHandle.close()
        }
        var state: UInt64 = 0x5EED_0001
        var written = 0
        var index = 0
        // 2026-11-29T00:00:00+06:00 in seconds.
        let dayStart: Int64 = 1_795_888_800
        while written < lines {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let amount = Int64((state >> 33) % 2_000_000) + 1_000
            let fee = FeeRule(basisPoints: 185).fee(onGrossMinor: amount)
            let capturedAt = dayStart + Int64((state >> 13) % 172_800)
            let reference = "KH-PAY-\(index)"
            let fault = index % 250
            var paymentState = "captured"
            if fault == 7 {
                paymentState = "expired"
                injected.expired += 1
            }
            if fault != 11 {
                paymentText +=
                    "\(reference),\(index),\(amount),BDT,\(paymentState),"
                    + (paymentState == "captured" ? "\(capturedAt * 1_000_000_000)" : "") + "\n"
            } else {
                injected.unknown += 1
            }
            var lineAmount = amount
            var lineFee = fee
            if fault == 3 {
                lineAmount -= 1
                lineFee = FeeRule(basisPoints: 185).fee(onGrossMinor: lineAmount)
                injected.amount += 1
            }
            if fault == 5 {
                lineFee += 1
                injected.fee += 1
            }
            let seconds = capturedAt + 6 * 3_600
            let secondOfDay = Int(seconds % 86_400)
            let date = CivilDate(daysSinceEpoch: Int(seconds / 86_400))
            let time =
                "\(date) "
                + String(format: "%02d:%02d:%02d", secondOfDay / 3_600, secondOfDay / 60 % 60, secondOfDay % 60)
            let row =
                "T\(String(state >> 20, radix: 36, uppercase: true))\(index),P\(index),\(reference),payment,"
                + "\(DecimalAmount.format(lineAmount, scale: 2)),\(DecimalAmount.format(lineFee, scale: 2)),"
                + "\(DecimalAmount.format(lineAmount - lineFee, scale: 2)),BDT,01770XXX618,\(time),Completed,\n"
            settlementText += row
            written += 1
            if fault == 9 && written < lines {
                settlementText += row
                written += 1
                injected.duplicates += 1
            }
            index += 1
            if settlementText.utf8.count > 1 << 20 {
                settlementHandle.write(Data(settlementText.utf8))
                settlementText = ""
            }
            if paymentText.utf8.count > 1 << 20 {
                paymentHandle.write(Data(paymentText.utf8))
                paymentText = ""
            }
        }
        settlementHandle.write(Data(settlementText.utf8))
        paymentHandle.write(Data(paymentText.utf8))
        return injected
    }

    static func handle(_ path: String) throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw CommandFailure("cannot write \(path)") }
        return handle
    }

    /// Reads both files and puts every line and payment in its category, as the job's rules do
    /// (`ReconciliationMatcher.findings`) on columns: references and transaction ids are
    /// numbered once as they are read, so that the join and the de-duplication compare
    /// integers, and no line or payment becomes text again unless it is a mismatch.
    static func reconcile(settlement: String, payments paymentsPath: String, expectedLines: Int) throws -> Timed {
        let cpuStart = ImportBenchCommand.cpuSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        let day = try ColumnDay.read(
            settlement: settlement, dialect: .bkash, fileId: 1, settlementDate: Self.day, payments: paymentsPath,
            expectedLines: expectedLines)
        guard day.rejectedCount == 0 else {
            throw CommandFailure("the settlement file had \(day.rejectedCount) bad lines of \(day.facts.lineCount)")
        }
        let lines = day.lines
        let payments = day.payments
        let read = clock.now
        let matcher = ReconciliationMatcher(fees: FeeSchedule(rules: ["bkash": [FeeRule(basisPoints: 185)]]))
        let findings = matcher.findings(
            provider: "bkash", date: Self.day, lines: lines, payments: payments,
            unsettled: Array(0..<Int32(payments.count)))
        return Timed(
            counts: findings.counts, readSeconds: seconds(read - start), rulesSeconds: seconds(clock.now - read),
            cpuSeconds: ImportBenchCommand.cpuSeconds() - cpuStart)
    }

    /// One run's categories and where its time went.
    struct Timed {
        var counts: [ReconciliationCategory: Int]
        /// Both files read into columns, and each line's payment found.
        var readSeconds: Double
        /// The rules on the columns.
        var rulesSeconds: Double
        /// CPU time on all threads.
        var cpuSeconds: Double
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Median seconds of DuckDB and polars doing the same, timed inside python3.
    static func peerSeconds(settlement: String, payments: String, runs: Int) throws -> [(String, Double)] {
        let script = """
            import json, sys, time
            settlement, payments, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
            out = {}
            sql = '''
            WITH lines AS (
              SELECT *, row_number() OVER (PARTITION BY trxID ORDER BY rn) AS copy FROM (
                SELECT *, row_number() OVER () AS rn FROM read_csv('{s}', header=true,
                  types={{'amount': 'DECIMAL(18,2)', 'charge': 'DECIMAL(18,2)', 'netAmount': 'DECIMAL(18,2)',
                          'paymentExecuteTime': 'TIMESTAMP'}}))),
            pay AS (SELECT * FROM read_csv('{p}', header=true,
                  types={{'reference': 'VARCHAR', 'hold_id': 'VARCHAR', 'amount_minor': 'BIGINT',
                          'currency': 'VARCHAR', 'state': 'VARCHAR', 'captured_at_ns': 'BIGINT'}}))
            SELECT CASE
              WHEN l.copy > 1 THEN 'duplicate_settlement'
              WHEN p.reference IS NULL THEN 'missing_in_ledger'
              WHEN l.trxID IS NULL THEN 'missing_at_provider'
              WHEN l.currency <> p.currency THEN 'currency_mismatch'
              WHEN p.state <> 'captured' THEN 'status_mismatch'
              WHEN CAST(round(l.amount * 100) AS BIGINT) <> p.amount_minor THEN 'amount_mismatch'
              WHEN l.charge <> round(l.amount * 185 / 10000, 2) THEN 'fee_mismatch'
              ELSE 'matched' END AS category, count(*)
            FROM lines l FULL OUTER JOIN pay p ON l.merchantInvoiceNumber = p.reference AND l.copy = 1
            GROUP BY 1
            '''.format(s=settlement, p=payments)
            try:
                import duckdb
                times = []
                for _ in range(runs):
                    con = duckdb_connection(duckdb)
                    start = time.perf_counter()
                    rows = con.execute(sql).fetchall()
                    times.append(time.perf_counter() - start)
                    con.close()
                out["duckdb"] = sorted(times)[len(times) // 2]
            except ImportError:
                pass
            try:
                import polars as pl
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    lines = pl.read_csv(settlement, schema_overrides={"amount": pl.Decimal(18, 2),
                        "charge": pl.Decimal(18, 2), "netAmount": pl.Decimal(18, 2), "paymentExecuteTime": pl.Datetime})
                    pay = pl.read_csv(payments, schema_overrides={"reference": pl.Utf8, "hold_id": pl.Utf8})
                    first = pl.col("trxID").is_first_distinct()
                    joined = lines.filter(first).join(pay, left_on="merchantInvoiceNumber",
                        right_on="reference", how="full", coalesce=False)
                    minor = (pl.col("amount") * 100).cast(pl.Int64)
                    fee = (pl.col("amount") * 185 / 10000).round(2)
                    category = (pl.when(pl.col("reference").is_null()).then(pl.lit("missing_in_ledger"))
                        .when(pl.col("trxID").is_null()).then(pl.lit("missing_at_provider"))
                        .when(pl.col("currency") != pl.col("currency_right")).then(pl.lit("currency_mismatch"))
                        .when(pl.col("state") != "captured").then(pl.lit("status_mismatch"))
                        .when(minor != pl.col("amount_minor")).then(pl.lit("amount_mismatch"))
                        .when(pl.col("charge") != fee).then(pl.lit("fee_mismatch"))
                        .otherwise(pl.lit("matched")))
                    counts = joined.with_columns(category.alias("category")).group_by("category").len()
                    dups = lines.filter(~first).height
                    times.append(time.perf_counter() - start)
                    assert counts.height > 0 and dups >= 0
                out["polars"] = sorted(times)[len(times) // 2]
            except ImportError:
                pass
            print(json.dumps(out))
            """
        return try PeerScript.seconds(script, arguments: [settlement, payments, String(runs)])
    }
}
