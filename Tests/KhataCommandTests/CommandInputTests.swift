import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What the command line says when the input is wrong: the line, the field and the rule, in
/// words; amounts at their currency's scale; the same JSON shapes as the API.
@Suite("khata input")
struct CommandInputTests {
    static func khata(_ directory: ScratchDirectory, _ arguments: [String]) throws -> KhataProcess.Outcome {
        try LedgerCommandTests.khata(directory, arguments)
    }

    @Test("a negative --amount is refused by the amount rule, not taken for a missing value")
    func negativeAmount() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = try Self.khata(directory, ["accounts", "create", "--key", "a"])
        _ = try Self.khata(directory, ["accounts", "create", "--key", "b"])
        let outcome = try Self.khata(
            directory, ["transfer", "--id", "1", "--from", "a", "--to", "b", "--amount", "-5"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("negative amounts are not allowed"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Missing value"))
    }

    @Test(
        "a bad line of a transfer file names the file, the line, the field and the rule, and nothing is submitted",
        arguments: [
            (
                #"{"id": "1", "debitAccount": "a", "creditAccount": "b", "amount": 5.0}"#,
                #"amount 5.0 is a JSON number"#
            ),
            (
                #"{"id": "1", "debitAccount": "a", "creditAccount": "b", "amount": "1", "colour": "red"}"#,
                #"has no field "colour""#
            ),
            (
                #"{"id": "1", "id": "2", "debitAccount": "a", "creditAccount": "b", "amount": "1"}"#,
                #"names the field "id" more than once"#
            ),
            (#"{"debitAccount": "a", "creditAccount": "b", "amount": "1"}"#, #"needs the field "id""#),
            (#"{"id": "+1", "debitAccount": "a", "creditAccount": "b", "amount": "1"}"#, "without sign"),
            (
                #"{"id": "1", "debitAccount": "a", "creditAccount": "b", "amount": "1", "code": 70000}"#,
                "code must be a whole number"
            ),
            (#"{"id": "1", "debitAccount": "a", "creditAccount": "b", "amount": "1" "#, "is not valid JSON"),
        ])
    func badLine(line: String, words: String) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = try Self.khata(directory, ["accounts", "create", "--key", "a"])
        _ = try Self.khata(directory, ["accounts", "create", "--key", "b"])
        let file = directory.path + "/batch.jsonl"
        try Data((#"{"id": "9", "debitAccount": "a", "creditAccount": "b", "amount": "1"}"# + "\n" + line + "\n").utf8)
            .write(to: URL(fileURLWithPath: file))
        let before = try Self.khata(directory, ["accounts", "list", "--json"]).stdout
        let outcome = try Self.khata(directory, ["transfer", "--file", file])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("batch.jsonl:2: "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(words), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("DecodingError"))
        #expect(try Self.khata(directory, ["accounts", "list", "--json"]).stdout == before)
    }

    @Test("amounts are read at the scale of the accounts' currency: JPY 0, USD 2, KWD 3")
    func currencies() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        for code in ["JPY", "USD", "KWD"] {
            for side in ["a", "b"] {
                #expect(
                    try Self.khata(directory, ["accounts", "create", "--key", "\(code):\(side)", "--currency", code])
                        .status == 0)
            }
        }
        let sent = [("JPY", "1500", "1500"), ("USD", "1,500.5", "1500.50"), ("KWD", "1.500", "1.500")]
        for (index, (code, amount, _)) in sent.enumerated() {
            let outcome = try Self.khata(
                directory,
                ["transfer", "--id", "\(index + 1)", "--from", "\(code):a", "--to", "\(code):b", "--amount", amount])
            #expect(outcome.status == 0, "\(outcome.stderr)")
        }
        // A capture names only the hold: its amount is read in the hold's currency.
        _ = try Self.khata(
            directory,
            [
                "transfer", "--id", "10", "--from", "KWD:a", "--to", "KWD:b", "--amount", "2", "--pending",
                "--timeout-seconds", "600",
            ])
        #expect(try Self.khata(directory, ["transfer", "--id", "11", "--post", "10", "--amount", "0.250"]).status == 0)
        for (code, _, shown) in sent {
            let account = try LedgerCommandTests.object(
                try Self.khata(directory, ["accounts", "show", "\(code):b", "--json"]).stdout)
            let expected = code == "KWD" ? "1.750" : shown
            #expect(account["creditsPosted"] as? String == expected, "\(code)")
        }
        let refused = try Self.khata(
            directory, ["transfer", "--id", "12", "--from", "KWD:a", "--to", "KWD:b", "--amount", "1.0005"])
        #expect(refused.status != 0 && refused.stderr.contains("KWD has 3 decimal places"), "\(refused.stderr)")
        let jpy = try Self.khata(
            directory, ["transfer", "--id", "13", "--from", "JPY:a", "--to", "JPY:b", "--amount", "1.5"])
        #expect(jpy.status != 0 && jpy.stderr.contains("JPY has 0 decimal places"), "\(jpy.stderr)")
    }

    @Test("khata check says NO STORE, not DAMAGED, for a missing directory, a file and an empty directory")
    func checkWithoutStore() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let file = directory.path + "/not-a-directory"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.createDirectory(atPath: directory.path + "/empty", withIntermediateDirectories: true)
        for dataDir in [directory.path + "/missing", file, directory.path + "/empty"] {
            let outcome = try KhataProcess.run(["check", "--data-dir", dataDir, "--log-level", "error"])
            #expect(outcome.status == 2)
            #expect(outcome.stdout.contains("NO STORE") && !outcome.stdout.contains("DAMAGED"), "\(outcome.stdout)")
        }
    }

    @Test("khata serve on a port in use names the host and the port")
    func portInUse() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let socket = try #require(LoopbackSocket(listening: true))
        defer { socket.close() }
        let port = socket.port
        let outcome = try Self.khata(directory, ["serve", "--port", "\(port)", "--no-scheduler"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("another process"), "\(outcome.stderr)")
    }
}
