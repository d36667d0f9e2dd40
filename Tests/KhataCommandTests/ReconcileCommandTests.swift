import Foundation
import TestSupport
import Testing

/// `khata reconcile` and the nightly `reconcile-settlements` job as child processes: the JSON
/// run, exit statuses, the fee option and settings, and mistakes.
@Suite("khata reconcile")
struct ReconcileCommandTests {
    /// Two payments, a refund and a chargeback no reservation of the data directory knows.
    static let file =
        SettlementsCommandTests.header
        + "T1,P1,KH0000000000000001,payment,1500.00,27.75,1472.25,BDT,,2026-11-30 10:00:00,Completed,\n"
        + "T2,P2,KH0000000000000002,payment,250.00,4.63,245.37,BDT,,2026-11-30 11:00:00,Completed,\n"
        + "T3,P3,KH0000000000000001,refund,500.00,0,500.00,BDT,,2026-11-30 12:00:00,Completed,T1\n"
        + "T4,P4,KH0000000000000002,chargeback,250.00,0,250.00,BDT,,2026-11-30 13:00:00,Completed,T2\n"

    static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test("--json prints the run: every category's count and amount, and each item with its fields; reruns agree")
    func run() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("bkash.csv")
        try Data(Self.file.utf8).write(to: URL(fileURLWithPath: path))
        let data = ["--data-dir", directory.file("data")]
        let imported = try KhataProcess.run(["settlements", "import", "--provider", "bkash", path] + data)
        #expect(imported.status == 0, "\(imported.stderr)")
        let reconcile = ["reconcile", "--provider", "bkash", "--date", "2026-11-30", "--json"] + data
        let first = try KhataProcess.run(reconcile)
        #expect(first.status == 0, "\(first.stderr)")
        let run = try #require(try Self.objects(first.stdout).first)
        #expect(run["provider"] as? String == "bkash" && run["date"] as? String == "2026-11-30")
        #expect(run["runBy"] as? String == "cli" && run["linesRead"] as? Int == 4)
        let totals = try #require(run["totals"] as? [String: [String: Any]])
        #expect(totals.count == 10)
        #expect(totals["missing_in_ledger"]?["count"] as? Int == 3)
        #expect(totals["missing_in_ledger"]?["amount"] as? String == "2250.00")
        #expect(totals["adjustment"]?["count"] as? Int == 1 && totals["matched"]?["count"] as? Int == 0)
        let items = try #require(run["items"] as? [[String: Any]])
        #expect(items.count == 4)
        let refund = try #require(items.first { $0["providerTxnId"] as? String == "T3" })
        #expect(refund["category"] as? String == "missing_in_ledger" && refund["kind"] as? String == "refund")
        #expect(refund["paymentReference"] as? String == "KH0000000000000001")
        #expect(refund["providerAmount"] as? String == "500.00" && refund["mismatchId"] is Int)
        let fields = try #require(refund["fields"] as? [[String: String]])
        #expect(fields == [["name": "paymentReference", "ledger": "no reservation", "provider": "KH0000000000000001"]])

        let second = try KhataProcess.run(reconcile)
        let again = try #require(try Self.objects(second.stdout).first)
        #expect(second.status == 0 && (again["id"] as? Int ?? 0) > (run["id"] as? Int ?? 0))
        #expect(NSDictionary(dictionary: again["totals"] as? [String: Any] ?? [:]) == NSDictionary(dictionary: totals))
        let ids = { (object: [String: Any]) in
            ((object["items"] as? [[String: Any]]) ?? []).map { $0["mismatchId"] as? Int }
        }
        #expect(ids(again) == ids(run))

        let text = try KhataProcess.run(["reconcile", "--provider", "bkash", "--date", "2026-11-30"] + data)
        #expect(text.status == 0 && text.stdout.contains("missing_in_ledger T1: paymentReference"), "\(text.stdout)")
    }

    @Test("bench reconcile finds every injected fault, and --clearing posts two legs a line into a scratch ledger")
    func bench() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let scratch = directory.file("bench")
        let outcome = try KhataProcess.run(
            ["bench", "reconcile", "--lines", "3000", "--runs", "1", "--clearing", "--json", "--dir", scratch])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let result = try #require(try Self.objects(outcome.stdout).first)
        let categories = try #require(result["categories"] as? [String: Int])
        #expect(categories.values.reduce(0, +) >= 3_000 && categories["amount_mismatch"] == 12)
        #expect(result["clearingSeconds"] is Double && result["clearingLegsPerSecond"] is Double)
        #expect(!FileManager.default.fileExists(atPath: scratch + "/clearing-ledger"))
    }

    @Test("the nightly job reconciles yesterday for every provider")
    func nightly() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("bkash.csv")
        try Data(Self.file.utf8).write(to: URL(fileURLWithPath: path))
        let data = ["--data-dir", directory.file("data")]
        _ = try KhataProcess.run(["settlements", "import", "--provider", "bkash", path] + data)
        let job = try KhataProcess.run(
            ["jobs", "run", "reconcile-settlements", "--now", "2026-12-01T02:00:00+06:00", "--json"] + data)
        #expect(job.status == 0, "\(job.stderr)")
        let run = try #require(try Self.objects(job.stdout).first)
        // Three providers' runs of 2026-11-30; bKash's four lines all need a person.
        #expect(run["outcome"] as? String == "succeeded" && run["written"] as? Int == 3)
        #expect(run["read"] as? Int == 4 && run["failed"] as? Int == 4)
    }

    @Test(
        "mistakes are refused with what is wrong, and change nothing",
        arguments: [
            (["--provider", "paypal", "--date", "2026-11-30"], "--provider must be one of"),
            (["--provider", "bkash", "--date", "2026-02-30"], "is not a date"),
            (["--provider", "bkash", "--date", "2026-11-30", "--fees", "FEES"], "unknown key \"basisPoint\""),
            (["--provider", "bkash", "--date", "2026-11-30", "--fees", "MISSING"], "cannot be read"),
        ])
    func mistakes(_ arguments: [String], _ message: String) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let fees = directory.file("fees.json")
        try Data(#"{"bkash": {"basisPoint": 185}}"#.utf8).write(to: URL(fileURLWithPath: fees))
        let resolved = arguments.map { $0 == "FEES" ? fees : $0 == "MISSING" ? directory.file("none.json") : $0 }
        let outcome = try KhataProcess.run(["reconcile"] + resolved + ["--data-dir", directory.file("d")])
        #expect(outcome.status != 0 && outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test("reconciliation settings are checked when read, naming the key")
    func settings() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for (config, message) in [
            (#"{"reconciliation": {"lateWindowDays": 99}}"#, "reconciliation.lateWindowDays must be 0...60"),
            (#"{"reconciliation": {"fees": {"bkash": {"basisPoints": "x"}}}}"#, "fees.bkash.basisPoints"),
            (#"{"reconciliation": {"fees": {"nagad": {"basisPoints": 20000}}}}"#, "basisPoints above 10000"),
        ] {
            let file = directory.file("khata.json")
            try Data(config.utf8).write(to: URL(fileURLWithPath: file))
            let outcome = try KhataProcess.run(
                [
                    "reconcile", "--provider", "bkash", "--date", "2026-11-30", "--config", file, "--data-dir",
                    directory.file("d"),
                ])
            #expect(outcome.status != 0 && outcome.stderr.contains(message), "\(outcome.stderr)")
        }
    }

    @Test(
        "khata report writes a run's report as CSV (to a file, whole or not at all) and JSON; a missing run is exit 1")
    func report() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("bkash.csv")
        try Data(Self.file.utf8).write(to: URL(fileURLWithPath: path))
        let data = ["--data-dir", directory.file("data")]
        #expect(try KhataProcess.run(["settlements", "import", "--provider", "bkash", path] + data).status == 0)
        let reconciled = try KhataProcess.run(
            ["reconcile", "--provider", "bkash", "--date", "2026-11-30", "--json"] + data)
        let run = try #require(try Self.objects(reconciled.stdout).first?["id"] as? Int)

        let out = directory.file("report.csv")
        let written = try KhataProcess.run(["report", String(run), "--out", out] + data)
        #expect(written.status == 0 && written.stdout.isEmpty, "\(written.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        let rows = String(decoding: bytes.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n")
        #expect(rows.first?.hasPrefix("mismatch,category,state") == true)
        #expect(rows.filter { $0.contains(",missing_in_ledger,open,") }.count == 3)
        #expect(rows.contains("total,missing_in_ledger,BDT,3,2250.00"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.contains("partial") })

        let json = try KhataProcess.run(["report", String(run), "--format", "json"] + data)
        let document = try #require(try Self.objects(json.stdout).first)
        #expect(
            (document["mismatches"] as? [Any])?.count == 4 && (document["run"] as? [String: Any])?["id"] as? Int == run)

        // The printable page: standalone, every mismatch a row, amounts in taka.
        let page = directory.file("report.html")
        #expect(try KhataProcess.run(["report", String(run), "--format", "html", "--out", page] + data).status == 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>") && html.contains("@media print") && !html.contains("<link"))
        #expect(html.components(separatedBy: "<tr><td><a href=\"/ui/mismatches/").count - 1 == 4)
        #expect(html.contains("৳2,250.00") || html.contains("৳750.00"))

        let missing = try KhataProcess.run(["report", "999", "--out", directory.file("none.csv")] + data)
        #expect(missing.status == 1 && missing.stderr.contains("no reconciliation run 999"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.csv")))
        let wrong = try KhataProcess.run(["report", String(run), "--format", "xlsx"] + data)
        #expect(wrong.status != 0 && wrong.stderr.contains("--format must be csv, json or html"))
    }

    @Test("khata bench review records a run of mismatches and times its first page, its pages and its CSV report")
    func reviewBench() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run(
            ["bench", "review", "--mismatches", "2500", "--runs", "1", "--json", "--dir", directory.file("bench")])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let result = try #require(try Self.objects(outcome.stdout).first)
        #expect(result["mismatches"] as? Int == 2_500 && result["backend"] as? String == "sqlite")
        #expect(
            (result["firstPageMilliseconds"] as? Double ?? 0) > 0 && (result["csvRowsPerSecond"] as? Double ?? 0) > 0)
        #expect((result["csvBytes"] as? Int ?? 0) > 2_500 * 100)
        #expect(
            (result["runPageHTMLMilliseconds"] as? Double ?? 0) > 0
                && (result["mismatchesPageHTMLMilliseconds"] as? Double ?? 0) > 0)
        // Both pages, a hundred rows with their amounts among them.
        #expect((result["pageHTMLBytes"] as? Int ?? 0) > 100 * 300)
        #expect(!FileManager.default.fileExists(atPath: directory.file("bench")))
    }
}
