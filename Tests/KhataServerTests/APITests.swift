import Foundation
import Hummingbird
import JobStore
import HummingbirdTesting
import KhataServer
import Ledger
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

/// The API through a real server on 127.0.0.1 (HummingbirdTesting's live mode), over a real
/// ledger in a scratch directory.
@Suite("HTTP API")
struct APITests {
    static func withServer(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await TestServer.with { server in try await body(server.client) }
    }

    static func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    static func problemType(_ response: TestResponse) throws -> String? {
        #expect(response.headers[.contentType] == "application/problem+json")
        return try object(response)["type"] as? String
    }

    @Test("health answers with the ledger's committed sequence")
    func health() async throws {
        try await Self.withServer { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let read1 = try Self.object(response)
                #expect(read1["status"] as? String == "ok")
            }
        }
    }

    @Test("accounts are created once, read back by key, and a retry answers 200 with the same account")
    func accounts() async throws {
        try await Self.withServer { client in
            let body = #"{"key": "merchant:SVC-456", "currency": "BDT", "flags": ["debitsMustNotExceedCredits"]}"#
            try await client.execute(uri: "/v1/accounts", method: .post, body: Self.json(body)) { response in
                #expect(response.status == .created)
                let account = try Self.object(response)
                #expect(account["key"] as? String == "merchant:SVC-456")
                #expect(account["available"] as? String == "0.00")
            }
            try await client.execute(uri: "/v1/accounts", method: .post, body: Self.json(body)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                #expect(response.status == .ok)
                let read2 = try Self.object(response)
                #expect(read2["currency"] as? String == "BDT")
            }
            try await client.execute(uri: "/v1/accounts/nobody", method: .get) { response in
                #expect(response.status == .notFound)
                let read3 = try Self.problemType(response)
                #expect(read3 == "/problems/account-not-found")
            }
        }
    }

    @Test("a hold, its capture and the balances, with amounts as decimal strings")
    func holdAndCapture() async throws {
        try await Self.withServer { client in
            for key in ["provider:bkash:clearing", "merchant:SVC-456"] {
                try await client.execute(
                    uri: "/v1/accounts", method: .post, body: Self.json(#"{"key": "\#(key)", "currency": "BDT"}"#)
                ) { #expect($0.status == (key.hasPrefix("provider:") ? .ok : .created)) }
            }
            let hold = #"""
                {"id": "1001", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456",
                 "amount": "1,234.50", "timeoutSeconds": 1800, "reference": "PAY-1001", "flags": ["pending"]}
                """#
            try await client.execute(uri: "/v1/transfers", method: .post, body: Self.json(hold)) { response in
                #expect(response.status == .created)
                let transfer = try Self.object(response)
                #expect(transfer["state"] as? String == "PENDING")
                #expect(transfer["amount"] as? String == "1234.50")
                #expect((transfer["expiresAt"] as? String).flatMap(UTCTime.nanoseconds) != nil)
            }
            // The same request again is a retry: 200 and the same transfer.
            try await client.execute(uri: "/v1/transfers", method: .post, body: Self.json(hold)) { response in
                #expect(response.status == .ok)
            }
            let capture = #"{"id": "1002", "pendingId": "1001", "amount": 1000, "flags": ["postPending"]}"#
            try await client.execute(uri: "/v1/transfers", method: .post, body: Self.json(capture)) { response in
                #expect(response.status == .created)
                let read4 = try Self.object(response)
                #expect(read4["amount"] as? String == "1000.00")
            }
            try await client.execute(uri: "/v1/transfers/1001", method: .get) { response in
                let read5 = try Self.object(response)
                #expect(read5["state"] as? String == "PENDING_POSTED")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try Self.object(response)
                #expect(account["creditsPosted"] as? String == "1000.00")
                #expect(account["creditsPending"] as? String == "0.00")
            }
        }
    }

    @Test("bad requests get their own problem types and change nothing")
    func problems() async throws {
        try await Self.withServer { client in
            try await client.execute(
                uri: "/v1/accounts", method: .post, body: Self.json(#"{"key": "a", "currency": "BDT"}"#)
            ) { #expect($0.status == .created) }
            try await client.execute(
                uri: "/v1/accounts", method: .post, body: Self.json(#"{"key": "b", "currency": "BDT"}"#)
            ) { #expect($0.status == .created) }
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("{not json", .badRequest, "/problems/malformed-json"),
                (#"{"key": "c", "currency": "BDT", "colour": "red"}"#, .badRequest, "/problems/unknown-field"),
                (#"{"key": "c", "currency": "XXQ"}"#, .badRequest, "/problems/unknown-currency"),
                (#"{"currency": "BDT"}"#, .badRequest, "/problems/missing-field"),
                (String(repeating: " ", count: 5_000) + "{}", .contentTooLarge, "/problems/body-too-large"),
            ]
            for (body, status, type) in cases {
                try await client.execute(uri: "/v1/accounts", method: .post, body: Self.json(body)) { response in
                    #expect(response.status == status, "\(type)")
                    let read6 = try Self.problemType(response)
                    #expect(read6 == type)
                }
            }
            let transfers: [(String, HTTPResponse.Status, String)] = [
                (
                    #"{"id": "7", "debitAccount": "a", "creditAccount": "b", "amount": 1.5}"#, .badRequest,
                    "/problems/invalid-amount"
                ),
                (
                    #"{"id": "7", "debitAccount": "a", "creditAccount": "b", "amount": "-5"}"#, .badRequest,
                    "/problems/invalid-amount"
                ),
                (
                    #"{"id": "0", "debitAccount": "a", "creditAccount": "b", "amount": "5"}"#, .badRequest,
                    "/problems/invalid-id"
                ),
                (
                    #"{"id": "7", "debitAccount": "a", "creditAccount": "zzz", "amount": "5"}"#, .notFound,
                    "/problems/account-not-found"
                ),
                (
                    #"{"id": "7", "debitAccount": "a", "creditAccount": "a", "amount": "5"}"#, .unprocessableContent,
                    "/problems/accounts-must-be-different"
                ),
            ]
            for (body, status, type) in transfers {
                try await client.execute(uri: "/v1/transfers", method: .post, body: Self.json(body)) { response in
                    #expect(response.status == status, "\(type)")
                    let read7 = try Self.problemType(response)
                    #expect(read7 == type)
                }
            }
            // Nothing above changed the books.
            try await client.execute(uri: "/v1/transfers/7", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/accounts/a", method: .get) { response in
                let read8 = try Self.object(response)
                #expect(read8["debitsPosted"] as? String == "0.00")
            }
        }
    }
}
