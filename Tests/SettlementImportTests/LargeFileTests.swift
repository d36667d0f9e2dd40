import Foundation
import JobStore
import SettlementImport
import TestSupport
import Testing

/// Files larger than the reader's chunks: records, quoted line breaks and CRLFs across chunk
/// boundaries, a record past the size limit, and the line numbers and values of every line
/// checked against the generator's own account.
@Suite("Settlement files across chunks")
struct LargeFileTests {
    /// A seeded bKash file of `lines` payments whose extra `note` column sometimes holds quoted
    /// commas, quotes and line breaks, with CRLF or LF line ends; answers the text and, per data line, its
    /// first line number, transaction id and amount in poisha.
    static func generate(lines: Int, seed: UInt64) -> (text: String, expected: [(line: Int, txn: String, gross: Int64)])
    {
        var random = SplitMix(seed: seed)
        var text = Headers.bkash + ",note\r\n"
        var line = 2
        var expected: [(Int, String, Int64)] = []
        for index in 0..<lines {
            let gross = Int64(random.next() % 9_999_900) + 100
            let fee = (gross * 185 + 5_000) / 10_000
            let breaks = random.next() % 7 == 0 ? Int(random.next() % 3) + 1 : 0
            var note = "plain"
            if breaks > 0 {
                note =
                    "\""
                    + (0..<breaks).map { "a, \"\"b\"\" \($0)" }.joined(
                        separator: random.next() % 2 == 0 ? "\n" : "\r\n") + "\""
            }
            let padding = String(repeating: "p", count: Int(random.next() % 120))
            let txn = "T\(index)\(padding.prefix(3))"
            text +=
                "\(txn),P\(padding),PAY-\(index),payment,\(DecimalAmount.format(gross, scale: 2)),"
                + "\(DecimalAmount.format(fee, scale: 2)),\(DecimalAmount.format(gross - fee, scale: 2)),BDT,"
                + "01770XXX618,2026-11-30 10:00:00,Completed,,\(note)"
            text += random.next() % 2 == 0 ? "\r\n" : "\n"
            expected.append((line, txn, gross))
            // The note's parts are joined by line breaks: one fewer than the parts.
            line += 1 + max(0, breaks - 1)
        }
        return (text, expected)
    }

    @Test("a file of several chunks: every line stored once, with its line number and exact amount")
    func severalChunks() async throws {
        let harness = try ImportHarness()
        let (text, expected) = Self.generate(lines: 30_000, seed: 2_026)
        #expect(text.utf8.count > 3 * SettlementFileScan.chunkBytes, "the file spans several chunks")
        let (summary, lines) = try await harness.importText(text, dialect: .bkash)
        #expect(summary.read == expected.count && summary.imported == expected.count && summary.rejected == 0)
        #expect(lines.count == expected.count)
        var mismatches = 0
        for (stored, wanted) in zip(lines, expected)
        where stored.sourceLine != wanted.line || stored.providerTxnId != wanted.txn
            || stored.grossMinor != wanted.gross
        {
            mismatches += 1
            if mismatches <= 5 {
                Issue.record("line \(wanted.line) \(wanted.txn): stored \(stored.sourceLine) \(stored.providerTxnId)")
            }
        }
        #expect(mismatches == 0)
    }

    @Test("the check pass and the store pass agree on every count, and a rerun changes nothing")
    func passesAgree() async throws {
        let (text, expected) = Self.generate(lines: 12_000, seed: 7)
        let harness = try ImportHarness()
        let path = try harness.write(text, name: "day.csv")
        var seen = 0
        let facts = try SettlementFileScan.read(path: path, dialect: .bkash) { row, _, _ in
            if case .line = row { seen += 1 }
        }
        #expect(facts.lineCount == expected.count && seen == expected.count && facts.headerLine == 1)
        let summary = try await harness.importer.importFile(
            path: path, fileName: "day.csv", dialect: .bkash, importedBy: "test")
        #expect(summary.sha256 == facts.sha256 && summary.imported == expected.count)
    }

    @Test("a record past the limit (an unclosed quote in a large file) refuses the file, naming its line")
    func recordTooLarge() async throws {
        let harness = try ImportHarness()
        let text =
            Headers.bkash + "\n" + DialectCaseTests.bkashLine + "\nT2,\"P2," + String(repeating: "x,", count: 1_200_000)
        await #expect {
            _ = try await harness.importText(text, dialect: .bkash)
        } throws: { error in
            guard let error = error as? SettlementFileError else { return false }
            // The record starts on line 3: past the limit, or at the end inside its quote.
            return (error.code == .recordTooLarge && error.message.contains("the line starting at 3 runs past 1 MiB"))
                || (error.code == .unterminatedQuote && error.message.contains("starts on line 3"))
        }
        #expect(try await harness.store.files().isEmpty)
    }

    @Test(
        "a quoted field whose line breaks straddle a chunk's offset: the guess fails and the file is still read right")
    func quotedBreakAcrossChunkOffset() async throws {
        let chunk = SettlementFileScan.chunkBytes
        var text = Headers.bkash + ",note\n"
        var expected: [(line: Int, txn: String)] = []
        var line = 2
        var index = 0
        func add(note: String, breaks: Int) {
            let txn = "T\(index)"
            text +=
                "\(txn),P\(index),PAY-\(index),payment,100.00,1.85,98.15,BDT,,2026-11-30 10:00:00,Completed,,\(note)\n"
            expected.append((line, txn))
            line += 1 + breaks
            index += 1
        }
        for boundary in [chunk, 2 * chunk, 3 * chunk] {
            while text.utf8.count < boundary - 150 { add(note: "plain", breaks: 0) }
            // Line breaks every 20 bytes for 400 bytes: the first one past the offset is quoted.
            add(note: "\"" + (0..<20).map { "part \($0) of many" }.joined(separator: "\n") + "\"", breaks: 19)
        }
        for _ in 0..<100 { add(note: "tail", breaks: 0) }
        let harness = try ImportHarness()
        let (summary, lines) = try await harness.importText(text, dialect: .bkash)
        #expect(summary.imported == expected.count && summary.rejected == 0)
        #expect(lines.map(\.sourceLine) == expected.map(\.line))
        #expect(lines.map(\.providerTxnId) == expected.map(\.txn))
    }

    @Test("refused lines far into a large file keep their true line numbers")
    func refusalsInLaterChunks() async throws {
        var text = Headers.bkash + "\n"
        var bad: [Int] = []
        for index in 0..<40_000 {
            let amount = index % 9_973 == 9_000 ? "1x" : "100.00"
            if amount == "1x" { bad.append(index + 2) }
            text += "T\(index),P\(index),PAY-\(index),payment,\(amount),0,100.00,BDT,,2026-11-30 10:00:00,Completed,\n"
        }
        #expect(text.utf8.count > 2 * SettlementFileScan.chunkBytes && bad.count == 4)
        let harness = try ImportHarness()
        let (summary, _) = try await harness.importText(text, dialect: .bkash)
        #expect(summary.rejected == bad.count && summary.imported == 40_000 - bad.count)
        #expect(summary.rejectedLines.map(\.line) == bad)
        #expect(summary.rejectedLines.allSatisfy { $0.column == "amount" })
    }
}
