import Foundation
import TestSupport
import Testing

/// The ledger commands through the real binary, as an operator would use them.
@Suite("khata ledger commands")
struct LedgerCommandTests {
    static func khata(_ directory: ScratchDirectory, _ arguments: [String]) throws -> KhataProcess.Outcome {
        try KhataProcess.run(arguments + ["--log-level", "error"], environment: ["KHATA_DATA_DIR": directory.path])
    }

    static func object(_ line: some StringProtocol) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
    }

    @Test("a booking through the command line: hold, capture, refund, balances and history")
    func bookingFlow() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        #expect(try Self.khata(directory, ["accounts", "create", "--key", "provider:bkash:clearing"]).status == 0)
        #expect(
            try Self.khata(
                directory,
                ["accounts", "create", "--key", "merchant:SVC-456", "--limit", "debits-must-not-exceed-credits"]
            ).status == 0)
        let again = try Self.khata(
            directory, ["accounts", "create", "--key", "merchant:SVC-456", "--limit", "debits-must-not-exceed-credits"])
        #expect(again.status == 0 && again.stdout.contains("result: exists"))

        let hold = try Self.khata(
            directory,
            [
                "transfer", "--id", "10", "--from", "provider:bkash:clearing", "--to", "merchant:SVC-456",
                "--amount", "৳1,234.50", "--pending", "--timeout-seconds", "1800", "--reference", "PAY-10",
            ])
        #expect(hold.status == 0 && hold.stdout.contains("transfer 10: ok"), "\(hold.stdout)\(hold.stderr)")
        #expect(try Self.khata(directory, ["transfer", "--id", "11", "--post", "10"]).status == 0)
        #expect(try Self.khata(directory, ["transfer", "--id", "12", "--refund", "11", "--amount", "200"]).status == 0)
        let overdraw = try Self.khata(
            directory,
            [
                "transfer", "--id", "13", "--from", "merchant:SVC-456", "--to", "provider:bkash:clearing", "--amount",
                "5000",
            ])
        #expect(overdraw.status == 1 && overdraw.stdout.contains("insufficientFunds"))

        let shown = try Self.object(
            try Self.khata(directory, ["accounts", "show", "merchant:SVC-456", "--json"]).stdout)
        // The API's shapes: ungrouped amounts, flags and states by name.
        #expect(shown["creditsPosted"] as? String == "1234.50")
        #expect(shown["debitsPosted"] as? String == "200.00")
        #expect(shown["available"] as? String == "1034.50")
        #expect(shown["flags"] as? [String] == ["debitsMustNotExceedCredits"])

        let page1 = try Self.khata(directory, ["history", "merchant:SVC-456", "--limit", "2", "--json"]).stdout.split(
            separator: "\n")
        #expect(page1.count == 2)
        #expect(try Self.object(page1[0])["id"] as? String == "10")
        #expect(try Self.object(page1[0])["state"] as? String == "PENDING_POSTED")
        #expect(try Self.object(page1[0])["debitAccount"] as? String == "provider:bkash:clearing")
        let cursor = try #require(try Self.object(page1[1])["timestamp"] as? Int)
        let page2 = try Self.khata(directory, ["history", "merchant:SVC-456", "--after", "\(cursor)", "--json"]).stdout
            .split(separator: "\n")
        #expect(page2.count == 1)
        #expect(try Self.object(page2[0])["id"] as? String == "12")
    }

    @Test("a short JSON-lines file is one batch: a linked chain fails whole; results name their lines")
    func transferFile() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = try Self.khata(directory, ["accounts", "create", "--key", "a"])
        _ = try Self.khata(
            directory, ["accounts", "create", "--key", "b", "--limit", "debits-must-not-exceed-credits"])
        let file = directory.path + "/batch.jsonl"
        try Data(
            """
            {"id": "20", "debitAccount": "a", "creditAccount": "b", "amount": "10", "flags": ["linked"]}
            {"id": "21", "debitAccount": "b", "creditAccount": "a", "amount": "11"}
            {"id": "22", "debitAccount": "a", "creditAccount": "b", "amount": "1.50"}

            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        let outcome = try Self.khata(directory, ["transfer", "--file", file, "--json"])
        #expect(outcome.status == 1)
        let objects = try outcome.stdout.split(separator: "\n").map(Self.object)
        #expect(objects.dropLast().map { $0["result"] as? String } == ["linkedEventFailed", "insufficientFunds", "ok"])
        #expect(objects.dropLast().map { $0["line"] as? Int } == [1, 2, 3])
        #expect(objects.last?["submitted"] as? Int == 3 && objects.last?["batches"] as? Int == 1)
        let b = try Self.object(try Self.khata(directory, ["accounts", "show", "b", "--json"]).stdout)
        #expect(b["creditsPosted"] as? String == "1.50")
    }

    @Test(
        "bad input is refused with what, where and why, and changes nothing",
        arguments: [
            (
                ["transfer", "--id", "30", "--from", "nobody", "--to", "a", "--amount", "1"],
                "no account with key or id \"nobody\""
            ),
            (["transfer", "--id", "31", "--from", "a", "--to", "b", "--amount", "1.234"], "BDT has 2 decimal places"),
            (["transfer", "--id", "32", "--from", "a", "--to", "b", "--amount", "12,34"], "groups of three digits"),
            (["transfer", "--id", "zero", "--from", "a", "--to", "b", "--amount", "1"], "\"zero\" is not an id"),
            (["transfer", "--id", "33", "--post", "1", "--void", "1"], "exclude each other"),
            (["accounts", "create", "--key", "c", "--currency", "XYZ"], "unknown currency XYZ"),
            (["accounts", "show", "missing"], "no account with key or id \"missing\""),
        ])
    func refusals(arguments: [String], message: String) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = try Self.khata(directory, ["accounts", "create", "--key", "a"])
        _ = try Self.khata(directory, ["accounts", "create", "--key", "b"])
        let before = try Self.khata(directory, ["accounts", "list", "--json"]).stdout
        let outcome = try Self.khata(directory, arguments)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(try Self.khata(directory, ["accounts", "list", "--json"]).stdout == before)
    }
}
