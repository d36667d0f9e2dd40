import Foundation
import TestSupport
import Testing

/// `khata history` for people: a table under headings with accounts by key, pages of the HTTP
/// API's size.
@Suite("khata history")
struct HistoryCommandTests {
    static func khata(_ directory: ScratchDirectory, _ arguments: [String]) throws -> KhataProcess.Outcome {
        try LedgerCommandTests.khata(directory, arguments)
    }

    static func columns(_ line: Substring) -> [String] {
        line.split(separator: " ").map(String.init)
    }

    @Test("the text is a table: headings, accounts by key, amounts in the currency, and the next page's cursor")
    func table() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for key in ["provider:bkash:clearing", "merchant:SVC-456"] {
            #expect(try Self.khata(directory, ["accounts", "create", "--key", key]).status == 0)
        }
        let route = ["--from", "provider:bkash:clearing", "--to", "merchant:SVC-456"]
        let posts = [
            ["--id", "10", "--amount", "1,234.50", "--reference", "PAY-10"] + route,
            ["--id", "11", "--amount", "5"] + route,
            ["--id", "12", "--amount", "0.75", "--pending", "--timeout-seconds", "600"] + route,
        ]
        for arguments in posts {
            let posted = try Self.khata(directory, ["transfer"] + arguments)
            #expect(posted.status == 0, "\(posted.stderr)")
        }

        let page = try Self.khata(directory, ["history", "merchant:SVC-456", "--limit", "2"])
        #expect(page.status == 0, "\(page.stderr)")
        let lines = page.stdout.split(separator: "\n")
        try #require(lines.count == 4, "headings, two transfers and the next page: \(page.stdout)")
        #expect(Self.columns(lines[0]) == ["TIMESTAMP", "ID", "FROM", "TO", "AMOUNT", "STATE", "REFERENCE"])
        let first = Self.columns(lines[1])
        #expect(
            Array(first.dropFirst()) == [
                "10", "provider:bkash:clearing", "merchant:SVC-456", "1,234.50", "POSTED", "PAY-10",
            ])
        #expect(
            Array(Self.columns(lines[2]).dropFirst()) == [
                "11", "provider:bkash:clearing", "merchant:SVC-456", "5.00", "POSTED",
            ])
        // Amounts are right-aligned under their heading.
        let amountEnd = lines[0].range(of: "AMOUNT")!.upperBound.utf16Offset(in: lines[0])
        for line in lines[1...2] {
            let amount = Self.columns(line)[4]
            #expect(line.range(of: " \(amount) ")!.upperBound.utf16Offset(in: line) - 1 == amountEnd, "\(line)")
        }
        // No 38-digit account ids: the longest number is a 19-digit timestamp.
        #expect(page.stdout.range(of: "[0-9]{20}", options: .regularExpression) == nil, "\(page.stdout)")
        let cursor = Self.columns(lines[2])[0]
        #expect(lines[3] == "next page: --after \(cursor)")

        // The cursor shown is the one that works; the last page says no more.
        let next = try Self.khata(directory, ["history", "merchant:SVC-456", "--limit", "2", "--after", cursor])
        let nextLines = next.stdout.split(separator: "\n")
        #expect(nextLines.count == 2, "\(next.stdout)")
        #expect(
            Array(Self.columns(nextLines[1]).dropFirst(2).prefix(3)) == [
                "provider:bkash:clearing", "merchant:SVC-456", "0.75",
            ])
        #expect(Self.columns(nextLines[1])[5] == "PENDING")
        let last = Self.columns(nextLines[1])[0]
        let after = try Self.khata(directory, ["history", "merchant:SVC-456", "--after", last])
        #expect(after.status == 0 && after.stdout == "no transfers after \(last)\n", "\(after.stdout)")

        // --json is the API's shape, one transfer a line, as before.
        let json = try Self.khata(directory, ["history", "merchant:SVC-456", "--limit", "1", "--json"])
        let object = try LedgerCommandTests.object(json.stdout.split(separator: "\n")[0])
        #expect(
            object["debitAccount"] as? String == "provider:bkash:clearing" && object["amount"] as? String == "1234.50")
    }

    @Test(
        "--limit is 1...1000, as the HTTP API's history route",
        arguments: [("0", false), ("1", true), ("1000", true), ("1001", false), ("10000", false)])
    func limit(value: String, accepted: Bool) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = try Self.khata(directory, ["accounts", "create", "--key", "a"])
        let outcome = try Self.khata(directory, ["history", "a", "--limit", value])
        if accepted {
            #expect(outcome.status == 0 && outcome.stdout == "no transfers\n", "\(outcome.stdout)\(outcome.stderr)")
        } else {
            #expect(outcome.status == 64)
            #expect(
                outcome.stderr.contains(
                    "--limit must be 1...1000 transfers per page (the HTTP API's limit), got \(value)"),
                "\(outcome.stderr)")
        }
    }

    @Test("--help says the range")
    func help() throws {
        let outcome = try KhataProcess.run(["history", "--help"], environment: ["COLUMNS": "200"])
        #expect(outcome.stdout.contains("Transfers per page, 1...1000 (as the HTTP API's history route)."))
    }
}
