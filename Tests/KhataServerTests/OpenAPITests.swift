import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KhataServer
import Testing

/// The served OpenAPI document against the running server.
@Suite("OpenAPI document")
struct OpenAPITests {
    static func document(_ client: any TestClientProtocol) async throws -> JSONNode {
        try await client.execute(uri: "/docs", method: .get, headers: [.authorization: ""]) { response in
            #expect(response.status == .ok && response.headers[.contentType] == "application/json")
            return try JSONNode.parse(Data(response.body.readableBytesView))
        }
    }

    /// Every (METHOD, path template) the document lists.
    static func operations(_ document: JSONNode) -> Set<String> {
        var operations: Set<String> = []
        for (path, item) in document["paths"]?.objectMembers ?? [:] {
            for method in (item.objectMembers ?? [:]).keys { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }

    @Test("the document lists exactly the routes the server has, and every $ref resolves")
    func routes() async throws {
        try await TestServer.with { server in
            let document = try await Self.document(server.client)
            #expect(document["openapi"]?.string == "3.1.0")
            let router = try KhataServer.router(
                ledger: server.ledger, database: server.database, configuration: ServerConfiguration())
            // The review pages (/ui/) are for browsers and stay out of the API's document.
            let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" }.filter { !$0.contains(" /ui") })
            #expect(served == Self.operations(document))
            #expect(router.routes.contains { $0.path.description == "/ui/runs/{id}" })
            var references: [String] = []
            func walk(_ node: JSONNode) {
                switch node {
                case .object(let members):
                    if let reference = members["$ref"]?.string { references.append(reference) }
                    members.values.forEach(walk)
                case .array(let elements): elements.forEach(walk)
                default: break
                }
            }
            walk(document)
            let validator = SchemaValidator(document: document)
            #expect(references.count > 20)
            for reference in references { #expect(validator.resolve(reference) != nil, "\(reference)") }
        }
    }

    @Test("every documented operation answers with a documented status and body")
    func everyOperationAnswers() async throws {
        try await TestServer.with { server in
            let document = try await Self.document(server.client)
            for operation in Self.operations(document).sorted() {
                let parts = operation.split(separator: " ")
                let method = HTTPRequest.Method(String(parts[0]))!
                let uri = String(parts[1]).replacingOccurrences(of: "{id}", with: "1")
                    .replacingOccurrences(of: "{key}", with: "provider:bkash:clearing")
                    .replacingOccurrences(of: "{provider}", with: "bkash").replacingOccurrences(
                        of: "{name}", with: "count"
                    ).replacingOccurrences(of: "{customerId}", with: "cust-1")
                let body = method == .post || method == .put ? ByteBuffer(string: "{}") : nil
                // The conformance check at the end of TestServer.with validates each answer.
                try await server.client.execute(uri: uri, method: method, body: body) { response in
                    #expect(
                        response.status != .notFound || response.headers[.contentType] == "application/problem+json")
                }
            }
        }
    }

    @Test("the validator catches what it should: wrong types, missing and unknown fields, patterns, enums")
    func validator() throws {
        let document = try JSONNode.parse(
            Data(
                #"""
                {"components": {"schemas": {"Thing": {"type": "object", "required": ["id", "state"],
                  "additionalProperties": false, "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"},
                  "state": {"type": "string", "enum": ["A", "B"]}, "n": {"type": "integer", "maximum": 3},
                  "list": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}}
                """#.utf8))
        let validator = SchemaValidator(document: document)
        let schema = try JSONNode.parse(Data(##"{"$ref": "#/components/schemas/Thing"}"##.utf8))
        func errors(_ json: String) throws -> Int {
            validator.errors(try JSONNode.parse(Data(json.utf8)), schema).count
        }
        #expect(try errors(#"{"id": "12", "state": "A", "n": 3, "list": [{"id": "1", "state": "B"}]}"#) == 0)
        #expect(try errors(#"{"id": "x1", "state": "A"}"#) == 1)
        #expect(try errors(#"{"id": "1", "state": "C"}"#) == 1)
        #expect(try errors(#"{"id": "1"}"#) == 1)
        #expect(try errors(#"{"id": "1", "state": "A", "extra": true}"#) == 1)
        #expect(try errors(#"{"id": "1", "state": "A", "n": 4}"#) == 1)
        #expect(try errors(#"{"id": "1", "state": "A", "n": "4"}"#) == 1)
        #expect(try errors(#"{"id": "1", "state": "A", "list": [{"id": 1, "state": "A"}]}"#) == 1)
        #expect(try errors(#"[]"#) == 1)
    }

    @Test("the id pattern takes exactly 1 to 2^128 - 1 in canonical decimal, at every digit of the largest")
    func idPattern() async throws {
        try await TestServer.with { server in
            let document = try await Self.document(server.client)
            let transfer = document["components"]?["schemas"]?["Transfer"]
            let pattern = try #require(transfer?["properties"]?["id"]?["pattern"]?.string)
            let expression = try NSRegularExpression(pattern: pattern)
            func matches(_ text: String) -> Bool {
                expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            }
            let largest = String(UInt128.max)
            var accepted = ["1", "9", "10", String(UInt64.max), String(repeating: "9", count: 38), largest]
            var refused = ["0", "01", "-1", "1.0", " 1", largest + "0", "340282366920938463463374607431768211456"]
            // Each digit of the largest one lower is an id; one higher (where there is one) is not.
            for (position, digit) in largest.enumerated() {
                let value = digit.wholeNumberValue!
                var text = Array(largest)
                if value > (position == 0 ? 1 : 0) {
                    text[position] = Character(String(value - 1))
                    accepted.append(String(text))
                }
                if value < 9 {
                    text[position] = Character(String(value + 1))
                    refused.append(String(text))
                }
            }
            accepted.append("340127944913620780056448426139608259564")
            #expect(accepted.filter { !matches($0) } == [])
            #expect(refused.filter { matches($0) } == [])
        }
    }
}
