import Foundation
import JobStore
import SettlementImport
import TestSupport
import Testing

/// Every limit of reading a settlement file at its edge and one past it, and configuration files
/// as a hostile author would write them: repeated keys, deep nesting, exponents, text after.
@Suite("Settlement limits and hostile configuration")
struct LimitTests {
    static func row(txn: String) -> String {
        "\(txn),P1,PAY-1,payment,100.00,1.85,98.15,BDT,,2026-11-30 10:00:00,Completed,"
    }

    @Test("an identifier of 128 bytes is read; 129 bytes refuse the line, naming the column")
    func identifierLimit() async throws {
        let harness = try ImportHarness()
        let atLimit = String(repeating: "T", count: SettlementReader.identifierLimitBytes)
        let past = String(repeating: "U", count: SettlementReader.identifierLimitBytes + 1)
        let (summary, lines) = try await harness.importText(
            Headers.bkash + "\n" + Self.row(txn: atLimit) + "\n" + Self.row(txn: past) + "\n", dialect: .bkash)
        #expect(lines.map(\.providerTxnId) == [atLimit])
        #expect(summary.rejectedLines == [RejectedLine(line: 3, column: "trxID", reason: "longer than 128 bytes")])
    }

    @Test("a header after 49 title lines is found; after 50, the file is refused")
    func preambleLimit() async throws {
        let harness = try ImportHarness()
        let titles = { (count: Int) in (0..<count).map { "Report line \($0)" }.joined(separator: "\n") + "\n" }
        let (summary, _) = try await harness.importText(
            titles(SettlementReader.preambleLimit - 1) + Headers.bkash + "\n" + Self.row(txn: "T1") + "\n",
            dialect: .bkash, name: "a.csv")
        #expect(summary.imported == 1)
        await #expect {
            _ = try await harness.importText(
                titles(SettlementReader.preambleLimit) + Headers.bkash + "\n" + Self.row(txn: "T2") + "\n",
                dialect: .bkash, name: "b.csv")
        } throws: { error in
            (error as? SettlementFileError)?.code == .noHeader
        }
    }

    @Test(
        "a mapping with a repeated key, deep nesting, text after it or not JSON is refused before it is read",
        arguments: [
            (#"{"provider": "bkash", "provider": "nagad", "columns": {}}"#, "the key \"provider\" appears twice"),
            (
                #"{"provider": "x", "currency": "BDT", "columns": {"amount": "a", "amount": "b"}}"#,
                "the key \"columns.amount\" appears twice"
            ),
            (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nest deeper than 64"),
            (#"{"provider": "x"} {"provider": "y"}"#, "text follows the value"),
            ("{\"provider\": \"x\u{0}\"}", "not valid JSON"),
        ])
    func hostileMappings(_ json: String, _ expected: String) {
        #expect {
            _ = try SettlementMapping.parse(Data(json.utf8), source: "m.json")
        } throws: { error in
            ((error as? SettlementFileError)?.message ?? "").contains(expected)
        }
    }
}
