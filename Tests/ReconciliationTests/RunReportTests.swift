import Foundation
import JobStore
import LedgerCore
import TestSupport
import Testing

@testable import Reconciliation

/// The pieces of the finance report: cells a spreadsheet reads as written and never as formulas,
/// amounts as plain decimals in every currency's scale, times in Asia/Dhaka.
@Suite("Run report cells")
struct RunReportTests {
    static func text(_ value: String) -> String {
        var out: [UInt8] = []
        RunReport.csvText(&out, value)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(
        "a text cell that a spreadsheet would read as a formula gets an apostrophe; quotes and line breaks are quoted",
        arguments: [
            ("KH-PAY-1", "KH-PAY-1"), ("=1+1", "'=1+1"), ("+8801711", "'+8801711"), ("-5", "'-5"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "\"'\tx\""), ("\rx", "\"'\rx\""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""), (" padded ", "\" padded \""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("৳1,500", "\"৳1,500\""), ("", ""),
        ])
    func textCells(value: String, written: String) {
        #expect(Self.text(value) == written)
    }

    @Test("amounts are plain decimals at the currency's scale, negative ones too (seeded property)")
    func decimals() throws {
        var random = SplitMix(seed: 15_2026)
        for scale in [0, 2, 3, 4] {
            for _ in 0..<2_000 {
                let magnitude = Int64(random.next() % 1_000_000_000_000)
                let minor = random.next() % 2 == 0 ? magnitude : -magnitude
                var out: [UInt8] = []
                RunReport.decimal(&out, minor, scale: scale)
                let text = String(decoding: out, as: UTF8.self)
                // The reference: integer arithmetic on the magnitude.
                let divisor = [1, 10, 100, 1_000, 10_000][scale]
                let whole = magnitude / Int64(divisor)
                let fraction = String(magnitude % Int64(divisor))
                let padded = String(repeating: "0", count: max(0, scale - fraction.count)) + fraction
                let expected = (minor < 0 ? "-" : "") + String(whole) + (scale > 0 ? "." + padded : "")
                #expect(text == expected, "\(minor) at scale \(scale)")
            }
        }
        var out: [UInt8] = []
        RunReport.decimal(&out, Int64.max, scale: 2)
        #expect(String(decoding: out, as: UTF8.self) == "92233720368547758.07")
    }

    @Test("stored UTC times are written in Asia/Dhaka, across midnight and month ends")
    func dhakaTimes() {
        for (utc, local) in [
            ("2026-11-29T09:30:00.000Z", "2026-11-29T15:30:00+06:00"),
            ("2026-11-29T18:00:00.000Z", "2026-11-30T00:00:00+06:00"),
            ("2026-12-31T20:15:09.999Z", "2027-01-01T02:15:09+06:00"),
            ("2028-02-28T23:59:59.000Z", "2028-02-29T05:59:59+06:00"),
        ] {
            var out: [UInt8] = []
            RunReport.dhaka(utc, into: &out)
            #expect(String(decoding: out, as: UTF8.self) == local, "\(utc)")
            #expect(RunReport.dhaka(utc) == local, "\(utc)")
        }
        #expect(RunReport.dhaka("not a time") == "not a time")
    }
}

/// The CSV report is read in ranges of ids cut at page ends and read ahead: whatever the page
/// size, every mismatch is written once, in order.
@Suite("Run report pages")
struct RunReportPageTests {
    @Test("pages of 1, 2, 3, 7 and 8 over 7 mismatches write the same report")
    func pageSizes() async throws {
        let folder = TemporaryDirectory("khata-report-pages")
        defer { folder.remove() }
        let database = try JobDatabase(path: folder.file("jobs.sqlite"))
        let store = Mismatches(database: database)
        let run = try await store.startRun(
            provider: "bkash", settlementDate: "2026-11-30", windowStart: "2026-11-27", windowEnd: "2026-11-30",
            inputSHA256: "test", inputFiles: [], runBy: "test", jobRunId: nil, at: 1_795_996_800_000_000_000)
        let found = (0..<7).map { number in
            NewMismatch(
                category: .missingInLedger, identity: "bkash:txn:T\(number)", settlementFileId: 1,
                settlementSourceLine: number + 2, ourReference: number == 3 ? "=cmd" : "KH\(number)",
                providerTxnId: "T\(number)", ledgerTransferId: nil, currency: "BDT", ledgerMinor: nil,
                providerMinor: Int64(100 * number - 50), feeMinor: nil, contractedFeeMinor: nil, netMinor: nil,
                fields: [], detail: "no reservation")
        }
        _ = try await store.finishRun(
            id: run, provider: "bkash",
            findings: ReconciliationFindings(
                mismatches: found, settled: [], totals: [], linesRead: 7, matchedCount: 0, carriedCount: 0,
                clearedCount: 0),
            at: 1_795_996_900_000_000_000)
        var reports: [String] = []
        for size in [1, 2, 3, 7, 8] {
            var report = RunReport(database: database)
            report.pageSize = size
            var bytes: [UInt8] = []
            #expect(try await report.write(runId: run, format: .csv) { bytes += $0 })
            reports.append(String(decoding: bytes, as: UTF8.self))
        }
        #expect(Set(reports).count == 1)
        let rows = reports[0].components(separatedBy: "\r\n").filter { $0.contains(",missing_in_ledger,") }
        #expect(rows.count == 7 && rows.map { $0.prefix { $0 != "," } } == (1...7).map { Substring(String($0)) })
        #expect(rows.contains { $0.contains(",'=cmd,") } && rows.contains { $0.contains(",-0.50,") })
    }
}
