import Foundation
import TestSupport
import Testing

/// `khata settlements import` and `list` as child processes: the JSON summary, refused files,
/// exit statuses and option mistakes.
@Suite("khata settlements")
struct SettlementsCommandTests {
    static let header =
        "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
        + "paymentExecuteTime,transactionStatus,originalTrxID\n"

    @Test("--json prints one object per file; a refused file is named with its error and exit 1")
    func importJSON() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let good = directory.file("good.csv")
        try Data(
            (Self.header + "T1,P1,PAY-1,payment,100.00,1.85,98.15,BDT,,2026-11-30 10:00:00,Completed,\n"
                + "T2,P2,PAY-2,payment,1e2,0,100,BDT,,2026-11-30 10:00:00,Completed,\n").utf8
        ).write(to: URL(fileURLWithPath: good))
        let bad = directory.file("bad.csv")
        try Data([0xFF, 0xFE, 0x41, 0x00]).write(to: URL(fileURLWithPath: bad))
        let data = ["--data-dir", directory.file("data")]
        let outcome = try KhataProcess.run(
            ["settlements", "import", "--provider", "bkash", "--json", good, bad] + data)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        let objects = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 2)
        let summary = try #require(objects.first)
        for key in ["file", "provider", "read", "imported", "duplicates", "rejected", "rejectedLines"] {
            #expect(summary[key] != nil, "the summary has \(key)")
        }
        #expect(summary["read"] as? Int == 2 && summary["imported"] as? Int == 1 && summary["rejected"] as? Int == 1)
        let refused = try #require(summary["rejectedLines"] as? [[String: Any]]).first
        #expect(refused?["line"] as? Int == 3 && refused?["column"] as? String == "amount")
        #expect((refused?["reason"] as? String)?.contains("exponents") == true)
        let error = try #require(objects.last?["error"] as? [String: Any])
        #expect(objects.last?["file"] as? String == "bad.csv" && error["code"] as? String == "notText")
        let text = try KhataProcess.run(["settlements", "import", "--provider", "bkash", good] + data)
        #expect(text.status == 0 && text.stdout.contains("already imported"), "\(text.stdout)")
        let list = try KhataProcess.run(["settlements", "list"] + data)
        #expect(list.stdout.contains("good.csv") && !list.stdout.contains("bad.csv"))
    }

    @Test(
        "option mistakes are usage errors that touch nothing",
        arguments: [
            (["--provider", "generic", "x.csv"], "--provider generic needs --mapping FILE"),
            (["--provider", "bkash", "--mapping", "m.json", "x.csv"], "--mapping goes with --provider generic"),
            (["--provider", "bkash", "--settlement-date", "2026-02-30", "x.csv"], "is not a date"),
            (["--provider", "paypal", "x.csv"], "paypal"),
        ])
    func mistakes(_ arguments: [String], _ message: String) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run(
            ["settlements", "import"] + arguments + ["--data-dir", directory.file("d")])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("d")))
    }
}
