import Foundation
import TestSupport
import Testing

/// `khata transfer --file` with more lines than one ledger submission takes (8,190 events): the
/// file goes in as several batches, in order, none cutting a linked chain.
@Suite("khata transfer --file in batches")
struct TransferFileTests {
    static let largestBatch = 8_190

    static func khata(_ directory: ScratchDirectory, _ arguments: [String]) throws -> KhataProcess.Outcome {
        try LedgerCommandTests.khata(directory, arguments)
    }

    static func line(_ id: Int, _ from: String, _ to: String, _ amount: String, linked: Bool = false) -> String {
        #"{"id": "\#(id)", "debitAccount": "\#(from)", "creditAccount": "\#(to)", "amount": "\#(amount)""#
            + (linked ? #", "flags": ["linked"]}"# : "}")
    }

    /// A chain that posts only whole: `length` lines, the first moving `length - 1` into `mid`
    /// (which may not go below zero) and each of the others moving 1 out of it. Cut in two, its
    /// first part would end open and be refused, and its second would overdraw `mid`.
    static func chain(firstId: Int, length: Int) -> [String] {
        [line(firstId, "src", "mid", "\(length - 1)", linked: true)]
            + (1..<length).map { line(firstId + $0, "mid", "dst", "1", linked: $0 < length - 1) }
    }

    static func balances(_ directory: ScratchDirectory, _ key: String) throws -> (credits: String?, debits: String?) {
        let shown = try LedgerCommandTests.object(try khata(directory, ["accounts", "show", key, "--json"]).stdout)
        return (shown["creditsPosted"] as? String, shown["debitsPosted"] as? String)
    }

    static func makeAccounts(_ directory: ScratchDirectory) throws {
        for arguments in [
            ["--key", "src"], ["--key", "dst"], ["--key", "mid", "--limit", "debits-must-not-exceed-credits"],
        ] {
            let made = try khata(directory, ["accounts", "create"] + arguments)
            try #require(made.status == 0, "\(made.stderr)")
        }
    }

    @Test("20,000 lines go in as 3 batches; chains across 8,190 and 16,380 stay whole; every line is reported")
    func twentyThousandLines() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeAccounts(directory)
        // Chains on lines 8180-8200 and 16370-16390, across the places where fixed cuts of 8,190
        // would fall; the other lines move 1 each from src to dst.
        let chains = [8_180: 21, 16_370: 21]
        var lines: [String] = []
        while lines.count < 20_000 {
            let number = lines.count + 1
            lines +=
                chains[number].map { Self.chain(firstId: number, length: $0) } ?? [Self.line(number, "src", "dst", "1")]
        }
        try #require(lines.count == 20_000)
        let file = directory.path + "/transfers.jsonl"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))

        let outcome = try Self.khata(directory, ["transfer", "--file", file, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let objects = try outcome.stdout.split(separator: "\n").map(LedgerCommandTests.object)
        try #require(objects.count == 20_001, "one line per transfer and a summary")
        var batchOfLine: [Int: Int] = [:]
        for (index, object) in objects.dropLast().enumerated() {
            #expect(object["line"] as? Int == index + 1 && object["index"] as? Int == index, "\(object)")
            #expect(object["id"] as? String == "\(index + 1)", "\(object)")
            #expect(object["result"] as? String == "ok", "\(object)")
            batchOfLine[index + 1] = object["batch"] as? Int
        }
        // Greedy batches that end before a chain that would not fit: lines 1-8179, 8180-16369
        // (exactly full), 16370-20000.
        #expect(batchOfLine[8_179] == 1 && batchOfLine[8_180] == 2 && batchOfLine[8_200] == 2)
        #expect(batchOfLine[16_369] == 2 && batchOfLine[16_370] == 3 && batchOfLine[16_390] == 3)
        #expect(Set((8_180...8_200).map { batchOfLine[$0] }).count == 1)
        #expect(Set((16_370...16_390).map { batchOfLine[$0] }).count == 1)
        let summary = try #require(objects.last)
        #expect(summary["submitted"] as? Int == 20_000 && summary["batches"] as? Int == 3, "\(summary)")
        #expect(summary["maximumBatchEvents"] as? Int == Self.largestBatch)

        // 19,958 single transfers of 1 and 20 through each chain's mid.
        #expect(try Self.balances(directory, "dst") == ("19998.00", "0.00"))
        #expect(try Self.balances(directory, "mid") == ("40.00", "40.00"))
        #expect(try Self.balances(directory, "src") == ("0.00", "19998.00"))

        // Again, as text: every transfer is already there, and the batches are named.
        let again = try Self.khata(directory, ["transfer", "--file", file])
        #expect(again.status == 0, "\(again.stderr)")
        let text = again.stdout.split(separator: "\n")
        #expect(text.count == 20_001)
        #expect(text[8_179] == "line 8180: transfer 8180: exists")
        #expect(text.dropLast().allSatisfy { $0.hasSuffix(": exists") })
        let sentence =
            "submitted 20,000 transfers in 3 batches (a batch holds at most 8,190 events; linked chains are never "
            + "split)"
        #expect(text.last.map(String.init) == sentence)
        #expect(try Self.balances(directory, "dst") == ("19998.00", "0.00"))
    }

    @Test("a linked chain of 8,191 lines is refused with the line it starts on and the limit; nothing is posted")
    func chainTooLong() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeAccounts(directory)
        // A blank first line, so that the chain's line (5) is not its transfer's index (3).
        let lines =
            [""] + (1...3).map { Self.line($0, "src", "dst", "1") }
            + (4...8_194).map { Self.line($0, "src", "dst", "1", linked: $0 < 8_194) } + [
                Self.line(8_195, "src", "dst", "1")
            ]
        let file = directory.path + "/chain.jsonl"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        for json in [[], ["--json"]] {
            let outcome = try Self.khata(directory, ["transfer", "--file", file] + json)
            #expect(outcome.status == 1)
            #expect(outcome.stdout.isEmpty, "\(outcome.stdout)")
            #expect(
                outcome.stderr.contains(
                    "chain.jsonl:5: the linked chain starting on this line runs to line 8195, 8,191 transfers; "
                        + "a chain must fit in one ledger submission of at most 8,190 events, "
                        + "so nothing was submitted"),
                "\(outcome.stderr)")
        }
        #expect(try Self.balances(directory, "dst") == ("0.00", "0.00"))
        let history = try Self.khata(directory, ["history", "src", "--json"])
        #expect(history.status == 0 && history.stdout.isEmpty, "\(history.stdout)")
    }

    @Test("a chain of exactly 8,190 lines fits one batch, and a chain still open at the end is the ledger's to refuse")
    func chainAtTheLimit() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeAccounts(directory)
        let lines =
            [Self.line(1, "src", "dst", "1")] + Self.chain(firstId: 2, length: Self.largestBatch)
            + [Self.line(8_192, "src", "dst", "1", linked: true)]
        let file = directory.path + "/limit.jsonl"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        let outcome = try Self.khata(directory, ["transfer", "--file", file])
        let text = outcome.stdout.split(separator: "\n")
        #expect(outcome.status == 1, "the open chain at the end is refused")
        #expect(text.count == 8_193)
        #expect(text[0] == "line 1: transfer 1: ok" && text[8_190] == "line 8191: transfer 8191: ok")
        #expect(text[8_191].hasPrefix("line 8192: transfer 8192: ") && !text[8_191].hasSuffix(": ok"), "\(text[8_191])")
        #expect(text.last?.hasPrefix("submitted 8,192 transfers in 3 batches") == true, "\(text.last ?? "")")
        #expect(try Self.balances(directory, "mid") == ("8189.00", "8189.00"))
    }
}
