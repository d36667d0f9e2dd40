import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Batches, refunds, history pages and correlation ids through a live server.
@Suite("HTTP API flows")
struct APIFlowTests {
    static func setUp(_ client: any TestClientProtocol) async throws {
        for key in ["provider:bkash:clearing", "merchant:SVC-456"] {
            try await client.execute(
                uri: "/v1/accounts", method: .post, body: APITests.json(#"{"key": "\#(key)", "currency": "BDT"}"#)
            ) { #expect($0.status == (key.hasPrefix("provider:") ? .ok : .created)) }
        }
    }

    static func transfer(_ id: Int, amount: String) -> String {
        #"{"id": "\#(id)", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
            + #""amount": "\#(amount)"}"#
    }

    @Test("a batch answers a result per event, and a linked chain fails as a whole")
    func batch() async throws {
        try await APITests.withServer { client in
            try await Self.setUp(client)
            let chainStart =
                #"{"id": "3", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
                + #""amount": "1", "flags": ["linked"]}"#
            let events = [
                Self.transfer(1, amount: "10.00"), Self.transfer(1, amount: "10.00"), chainStart,
                #"{"id": "4", "debitAccount": "merchant:SVC-456", "creditAccount": "merchant:SVC-456", "amount": "1"}"#,
            ]
            let body = #"{"transfers": [\#(events.joined(separator: ", "))]}"#
            try await client.execute(uri: "/v1/transfers/batch", method: .post, body: APITests.json(body)) { response in
                #expect(response.status == .ok)
                let answer = try APITests.object(response)
                let results = try #require(answer["results"] as? [[String: Any]])
                #expect(
                    results.map { $0["result"] as? String } == [
                        "ok", "exists", "linkedEventFailed", "accountsMustBeDifferent",
                    ])
            }
            try await client.execute(uri: "/v1/transfers/3", method: .get) { #expect($0.status == .notFound) }
            let invalid = #"{"transfers": [\#(Self.transfer(5, amount: "1")), \#(Self.transfer(6, amount: "x"))]}"#
            try await client.execute(uri: "/v1/transfers/batch", method: .post, body: APITests.json(invalid)) {
                response in
                #expect(response.status == .badRequest)
                let problem = try APITests.object(response)
                #expect((problem["detail"] as? String)?.contains("transfers[1].amount") == true)
            }
            // The malformed batch applied nothing, not even its valid first event.
            try await client.execute(uri: "/v1/transfers/5", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("refunds: partial, then the rest, then nothing more")
    func refunds() async throws {
        try await APITests.withServer { client in
            try await Self.setUp(client)
            try await client.execute(
                uri: "/v1/transfers", method: .post, body: APITests.json(Self.transfer(1, amount: "500.00"))
            ) { #expect($0.status == .created) }
            try await client.execute(
                uri: "/v1/refunds", method: .post,
                body: APITests.json(#"{"id": "2", "transferId": "1", "amount": "200.00"}"#)
            ) { response in
                #expect(response.status == .created)
                let refund = try APITests.object(response)
                #expect(refund["debitAccount"] as? String == "merchant:SVC-456")
                #expect(refund["amount"] as? String == "200.00")
            }
            try await client.execute(
                uri: "/v1/refunds", method: .post, body: APITests.json(#"{"id": "3", "transferId": "1"}"#)
            ) { response in
                let refund = try APITests.object(response)
                #expect(refund["amount"] as? String == "300.00")
            }
            try await client.execute(
                uri: "/v1/refunds", method: .post,
                body: APITests.json(#"{"id": "4", "transferId": "1", "amount": "0.01"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                let read1 = try APITests.problemType(response)
                #expect(read1 == "/problems/refund-exceeds-original")
            }
            try await client.execute(uri: "/v1/transfers/1", method: .get) { response in
                let original = try APITests.object(response)
                #expect(original["refunded"] as? String == "500.00")
            }
        }
    }

    @Test("history pages follow the cursor to the end")
    func history() async throws {
        try await APITests.withServer { client in
            try await Self.setUp(client)
            let events = (1...25).map { Self.transfer($0, amount: "1.00") }.joined(separator: ", ")
            try await client.execute(
                uri: "/v1/transfers/batch", method: .post, body: APITests.json(#"{"transfers": [\#(events)]}"#)
            ) { #expect($0.status == .ok) }
            var ids: [String] = []
            var cursor: String?
            repeat {
                let uri = "/v1/accounts/merchant:SVC-456/history?limit=10" + (cursor.map { "&after=\($0)" } ?? "")
                cursor = try await client.execute(uri: uri, method: .get) { response in
                    let page = try APITests.object(response)
                    let transfers = try #require(page["transfers"] as? [[String: Any]])
                    ids += transfers.compactMap { $0["id"] as? String }
                    return page["next"] as? String
                }
            } while cursor != nil
            #expect(ids == (1...25).map(String.init))
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456/history?limit=0", method: .get) { response in
                let read2 = try APITests.problemType(response)
                #expect(read2 == "/problems/invalid-limit")
            }
        }
    }

    @Test("every answer carries the request's correlation id, or a new one")
    func correlationIds() async throws {
        try await APITests.withServer { client in
            let name = HTTPField.Name("X-Request-Id")!
            try await client.execute(uri: "/health", method: .get, headers: [name: "req-42"]) { response in
                #expect(response.headers[name] == "req-42")
            }
            try await client.execute(uri: "/v1/accounts/none", method: .get, headers: [name: "req-43"]) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[name] == "req-43")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(UUID(uuidString: response.headers[name] ?? "") != nil)
            }
        }
    }
}

/// The answer to a new single-phase transfer is written without reading it back.
@Suite("Transfer answers")
struct TransferAnswerTests {
    @Test("the 201 of a new transfer is the same JSON as reading the transfer afterwards")
    func sameAsReadBack() async throws {
        try await TestServer.with { server in
            let body =
                #"{"id": "41", "debitAccount": "provider:bkash:clearing", "creditAccount": "provider:nagad:clearing", "#
                + #""amount": "12.5", "code": 9, "reference": "R\"1"}"#
            let created = try await server.client.execute(
                uri: "/v1/transfers", method: .post, body: APITests.json(body)
            ) {
                response in
                #expect(response.status == .created)
                return Data(response.body.readableBytesView)
            }
            let read = try await server.client.execute(uri: "/v1/transfers/41", method: .get) {
                Data($0.body.readableBytesView)
            }
            let left = try JSONSerialization.jsonObject(with: created) as? NSDictionary
            let right = try JSONSerialization.jsonObject(with: read) as? NSDictionary
            #expect(left != nil && left == right)
        }
    }
}
