import Foundation
import TestSupport
import Testing

/// One transfer vocabulary on the command line: `--file` lines have the HTTP API's fields, and an
/// amount is read in the currency it is posted in, the hold's for a capture, whatever its scale.
@Suite("khata transfer vocabulary")
struct TransferVocabularyTests {
    static func khata(_ directory: ScratchDirectory, _ arguments: [String]) throws -> KhataProcess.Outcome {
        try LedgerCommandTests.khata(directory, arguments)
    }

    static func write(_ lines: [String], to path: String) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("a partial capture from a file is read at the hold's scale: JPY has 0 decimals, KWD 3")
    func partialCaptureScale() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for (key, currency) in [("jpy:a", "JPY"), ("jpy:b", "JPY"), ("kwd:a", "KWD"), ("kwd:b", "KWD")] {
            let made = try Self.khata(directory, ["accounts", "create", "--key", key, "--currency", currency])
            try #require(made.status == 0, "\(made.stderr)")
        }
        let holds = directory.path + "/holds.jsonl"
        try Self.write(
            [
                #"{"id": "1", "debitAccount": "jpy:a", "creditAccount": "jpy:b", "amount": "1,500", "#
                    + #""timeoutSeconds": 3600, "flags": ["pending"]}"#,
                #"{"id": "2", "debitAccount": "kwd:a", "creditAccount": "kwd:b", "amount": "1.500", "#
                    + #""timeoutSeconds": 3600, "flags": ["pending"]}"#,
            ], to: holds)
        let held = try Self.khata(directory, ["transfer", "--file", holds])
        #expect(held.status == 0, "\(held.stdout) \(held.stderr)")
        // Captures name only the hold: their amounts are the hold's currency's, not BDT's.
        let captures = directory.path + "/captures.jsonl"
        try Self.write(
            [
                #"{"id": "3", "pendingId": "1", "amount": "500", "flags": ["postPending"]}"#,
                #"{"id": "4", "pendingId": "2", "amount": "1.250", "flags": ["postPending"]}"#,
            ], to: captures)
        let captured = try Self.khata(directory, ["transfer", "--file", captures])
        #expect(captured.status == 0, "\(captured.stdout) \(captured.stderr)")
        for (key, posted) in [("jpy:b", "500"), ("kwd:b", "1.250")] {
            let shown = try LedgerCommandTests.object(
                try Self.khata(directory, ["accounts", "show", key, "--json"]).stdout)
            #expect(shown["creditsPosted"] as? String == posted, "\(key)")
            #expect(shown["creditsPending"] as? String == "0" || shown["creditsPending"] as? String == "0.000")
        }
        // A fraction JPY does not have is refused, naming the currency, and changes nothing.
        let yen = directory.path + "/yen.jsonl"
        try Self.write([#"{"id": "5", "pendingId": "1", "amount": "0.5", "flags": ["voidPending"]}"#], to: yen)
        let refused = try Self.khata(directory, ["transfer", "--file", yen])
        #expect(refused.status != 0 && refused.stderr.contains("JPY"), "\(refused.stderr)")
    }

    @Test("a capture or void may name a hold made on an earlier line of the same file, its amount at its scale")
    func holdAndCaptureInOneFile() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for key in ["jpy:a", "jpy:b"] {
            let made = try Self.khata(directory, ["accounts", "create", "--key", key, "--currency", "JPY"])
            try #require(made.status == 0, "\(made.stderr)")
        }
        let file = directory.path + "/both.jsonl"
        try Self.write(
            [
                #"{"id": "1", "debitAccount": "jpy:a", "creditAccount": "jpy:b", "amount": "900", "#
                    + #""timeoutSeconds": 3600, "flags": ["pending"]}"#,
                #"{"id": "2", "pendingId": "1", "amount": "300", "flags": ["postPending"]}"#,
                #"{"id": "3", "debitAccount": "jpy:a", "creditAccount": "jpy:b", "amount": "50", "#
                    + #""timeoutSeconds": 3600, "flags": ["pending"]}"#,
                #"{"id": "4", "pendingId": "3", "flags": ["voidPending"]}"#,
            ], to: file)
        let outcome = try Self.khata(directory, ["transfer", "--file", file])
        #expect(outcome.status == 0, "\(outcome.stdout) \(outcome.stderr)")
        let shown = try LedgerCommandTests.object(
            try Self.khata(directory, ["accounts", "show", "jpy:b", "--json"]).stdout)
        #expect(shown["creditsPosted"] as? String == "300" && shown["creditsPending"] as? String == "0")
    }

    @Test("the flags and the file use the API's names; --from and --to remain as aliases")
    func sameNames() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for key in ["a", "b"] {
            let made = try Self.khata(directory, ["accounts", "create", "--key", key])
            try #require(made.status == 0, "\(made.stderr)")
        }
        let long = try Self.khata(
            directory, ["transfer", "--id", "1", "--debit-account", "a", "--credit-account", "b", "--amount", "2.50"])
        #expect(long.status == 0, "\(long.stderr)")
        let short = try Self.khata(directory, ["transfer", "--id", "2", "--from", "a", "--to", "b", "--amount", "1"])
        #expect(short.status == 0, "\(short.stderr)")
        let file = directory.path + "/old.jsonl"
        try Self.write([#"{"id": "3", "from": "a", "to": "b", "amount": "1"}"#], to: file)
        let old = try Self.khata(directory, ["transfer", "--file", file])
        #expect(old.status != 0 && old.stderr.contains("\"from\""), "\(old.stderr)")
        let shown = try LedgerCommandTests.object(
            try Self.khata(directory, ["accounts", "show", "b", "--json"]).stdout)
        #expect(shown["creditsPosted"] as? String == "3.50")
    }
}
