import Foundation
import JSONInput
import LedgerCore
import TestSupport
import Testing

@testable import KhataServer

/// The hand-written reader of the hot bodies against Foundation's JSON parser.
@Suite("JSON scanner")
struct JSONScannerTests {
    static func accepts(_ bytes: [UInt8]) -> Bool {
        var scanner = JSONScanner(bytes)
        return (try? scanner.skipValue()) != nil && (try? scanner.expectEnd()) != nil
    }

    static func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }

    @Test("strings decode as Foundation decodes them, escapes and surrogate pairs included")
    func strings() throws {
        let cases = [
            #""plain""#, #""a\"b\\c\/d""#, #""\b\f\n\r\t""#, #""\u0041\u00e9\u0995""#, #""\ud83d\ude00 smile""#,
            #""৳1,234.50""#, #""""#,
        ]
        for text in cases {
            var scanner = JSONScanner(Array(text.utf8))
            let read = try scanner.readString()
            let expected = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(read == expected as? String, "\(text)")
        }
    }

    @Test("malformed text is refused: the table")
    func malformed() {
        let cases = [
            "", "{", "}", "{\"a\":}", "{\"a\" 1}", "{a: 1}", "\"unterminated", "\"bad \\x escape\"",
            "\"\\ud83d alone\"", "01", "1.", ".5", "1e", "-", "tru", "nul", "{\"a\":1}}", "[1] [2]", "\"tab\there\"",
        ]
        for text in cases {
            #expect(!Self.accepts(Array(text.utf8)), "\(text) was accepted")
            #expect(!Self.foundationAccepts(Array(text.utf8)), "Foundation accepts \(text); the table is wrong")
        }
        // Foundation's parser lets a trailing comma pass; RFC 8259 does not, and neither do we.
        for text in ["[1,]", "{\"a\":1,}", "[1, ]"] {
            #expect(!Self.accepts(Array(text.utf8)), "\(text) was accepted")
        }
        #expect(!Self.accepts([0x22, 0xFF, 0xFE, 0x22]), "invalid UTF-8 in a string")
    }

    @Test("on seeded random mutations of valid documents, it accepts what Foundation accepts, trailing commas aside")
    func agreesWithFoundation() {
        var random = SplitMix(seed: 20_261_129)
        let alphabet = Array(#"{}[]:,"\ 0123456789-.eEtruefalsn\u"#.utf8)
        let documents = [
            #"{"id": "1", "debitAccount": "a", "amount": "1.00", "flags": ["linked"], "code": 7, "x": null}"#,
            #"{"transfers": [{"id": "1"}, {"id": "2", "amount": 10}], "nested": {"deep": [true, false, -1.5e3]}}"#,
            #"[1, 2.5, -0, 1E+2, "\u00e9\n", {}, []]"#,
        ].map { Array($0.utf8) }
        var disagreements: [String] = []
        for round in 0..<20_000 {
            var bytes = documents[round % documents.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
                default: bytes[position] = alphabet.randomElement(using: &random)!
                }
                if bytes.isEmpty { bytes = [0x30] }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            // The one leniency of Foundation's parser: a trailing comma before ] or }.
            let trailingComma = text.range(of: #",\s*[\]}]"#, options: .regularExpression) != nil
            if Self.accepts(bytes) != Self.foundationAccepts(bytes), !(trailingComma && !Self.accepts(bytes)) {
                disagreements.append(text)
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    /// The problem type an error answers with.
    static func kind(_ error: any Error) -> String {
        if let input = error as? JSONInputError { return input.kind.name }
        if let problem = error as? Problem { return problem.kind }
        return "\(error)"
    }

    @Test("transfer bodies: fields, nulls as absent, one spelling of ids, whole-number amounts only")
    func transferBodies() throws {
        let body =
            #"{"id":"7","debitAccount":"a","creditAccount":"b","amount":12,"pendingId":null,"#
            + #""timeoutSeconds":60,"code":3,"reference":"R\u0041","flags":["pending"]}"#
        let transfer = try TransferDraft.parse(Array(body.utf8))
        #expect(transfer.id == 7 && transfer.reference == "RA" && transfer.timeoutSeconds == 60)
        #expect(transfer.pendingId == nil && transfer.flags == .pending && transfer.code == 3)
        #expect(transfer.amount?.text == "12")
        let deepAmount =
            "{\"id\": \"1\", \"amount\": " + String(repeating: "[", count: 65)
            + String(repeating: "]", count: 65) + "}"
        let refused: [(String, String, String)] = [
            (#"{"id": "1", "amount": 1.5}"#, "invalid-amount", "amount 1.5 is a JSON number"),
            (#"{"id": "1", "amount": 5.0}"#, "invalid-amount", "fraction or an exponent"),
            (#"{"id": "1", "amount": 5e0}"#, "invalid-amount", "5e0"),
            (#"{"id": "1", "amount": 99.99999999999999999}"#, "invalid-amount", "99.99999999999999999"),
            (#"{"id": "1", "amount": -1}"#, "invalid-amount", "sign"),
            (#"{"id": "1", "amount": true}"#, "invalid-amount", "decimal string"),
            (#"{"id": 1}"#, "invalid-field", "id must be a string"),
            (#"{"id": null}"#, "missing-field", "needs the field \"id\""),
            (#"{"id": "+1"}"#, "invalid-id", "without sign"),
            (#"{"id": "0001"}"#, "invalid-id", "leading zeros"),
            (#"{"id": "0"}"#, "invalid-id", "from 1"),
            (#"{"id": "1", "code": 70000}"#, "invalid-field", "code must be a whole number from 0 to 65535, not 70000"),
            (#"{"id": "1", "code": -1}"#, "invalid-field", "not -1"),
            (#"{"id": "1", "code": 1.5}"#, "invalid-field", "not 1.5"),
            (#"{"id": "1", "timeoutSeconds": "60"}"#, "invalid-field", "timeoutSeconds"),
            (#"{"id": "1", "flags": "linked"}"#, "invalid-field", "flags"),
            (#"{"id": "1", "flags": ["sticky"]}"#, "unknown-flag", "flags[0]"),
            (#"{"id": "1", "colour": "red"}"#, "unknown-field", "colour"),
            (#"{"id": "1001", "id": "1002"}"#, "duplicate-field", "\"id\" more than once"),
            (#"{"id": "1", "reference": ""}"#, "invalid-reference", "must not be empty"),
            (#"{"id": "1", "reference": "a\nb"}"#, "invalid-reference", "U+000A"),
            (#"{"id": "1", "debitAccount": " a"}"#, "invalid-account-key", "blank"),
            (#"{"id": "1", "debitAccount": "a\u0000"}"#, "invalid-account-key", "U+0000"),
            (#"{"id": "1", "debitAccount": "\#(String(repeating: "k", count: 65))"}"#, "invalid-account-key", "65"),
            (#"{"amount": "1"}"#, "missing-field", "id"),
            (#"[]"#, "invalid-field", "JSON object"),
            (#"{"id": "1", "amount": 1.5"#, "malformed-json", "not valid JSON"),
            (#"{"id": "1"} trailing"#, "malformed-json", "not valid JSON"),
            (String(repeating: "[", count: 60_000), "malformed-json", "deeper than 64 levels"),
            (deepAmount, "malformed-json", "deeper than 64 levels"),
        ]
        for (text, kind, words) in refused {
            do {
                _ = try TransferDraft.parse(Array(text.utf8))
                Issue.record("\(text.prefix(80)) was accepted")
            } catch {
                #expect(Self.kind(error) == kind, "\(text.prefix(80)): \(error)")
                #expect("\(error)".contains(words), "\(text.prefix(80)): \(error)")
            }
        }
        let batch = try BatchRequest.parse(Array(#"{"transfers": [{"id": "1"}, {"id": "2"}]}"#.utf8), maximumEvents: 8)
        #expect(batch.transfers.map(\.id) == [1, 2])
        let batchRefused: [(String, String, String)] = [
            (#"{"transfers": [{"id": "1"}, {"id": "2", "amount": 0.1}]}"#, "invalid-amount", "transfers[1].amount"),
            (#"{"transfers": [{"id": "1"}, {"id": "2", "x": 1}]}"#, "unknown-field", "transfers[1].x"),
            (#"{"transfers": [{"id": "1"}, {"id": "2", "code": 1.5}]}"#, "invalid-field", "transfers[1].code"),
            (#"{"transfers": [{"id": "1"}, 7]}"#, "invalid-field", "transfers[1]"),
            (#"{"transfers": []}"#, "invalid-batch-size", "not 0"),
            (#"{"transfers": [{"id": "1"}], "transfers": []}"#, "duplicate-field", "transfers"),
        ]
        for (text, kind, words) in batchRefused {
            do {
                _ = try BatchRequest.parse(Array(text.utf8), maximumEvents: 8)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(Self.kind(error) == kind, "\(text): \(error)")
                #expect("\(error)".contains(words) || (error as? Problem)?.detail.contains(words) == true, "\(text)")
            }
        }
        let nine = "{\"transfers\": [" + (1...9).map { "{\"id\": \"\($0)\"}" }.joined(separator: ",") + "]}"
        #expect(throws: Problem.self) { try BatchRequest.parse(Array(nine.utf8), maximumEvents: 8) }
    }

    @Test("hand-written answers are the JSON that JSONEncoder writes, strings of every kind included")
    func writer() throws {
        var random = SplitMix(seed: 7)
        let pieces = ["a", "\"", "\\", "/", "\n", "\r", "\t", "\u{01}", "\u{1F}", "é", "৳", "😀", " ", "{}"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...8, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            var json = JSONWriter()
            json.string(text)
            let decoded = try JSONSerialization.jsonObject(with: Data(json.bytes), options: [.fragmentsAllowed])
            #expect(decoded as? String == text)
        }
        let answer = BatchAnswer(results: [
            BatchItem(id: "1", result: "ok", code: 0, timestamp: 1_764_400_000_000_000_001),
            BatchItem(id: "2", result: "insufficientFunds", code: 15, timestamp: nil),
        ])
        let mine = Data(answer.json().bytes)
        let theirs = try JSONResponse.encoder.encode(answer)
        let left = try JSONSerialization.jsonObject(with: mine) as? NSDictionary
        let right = try JSONSerialization.jsonObject(with: theirs) as? NSDictionary
        #expect(left != nil && left == right)
    }
}
