import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Testing

/// API keys and scopes through a live server.
@Suite("API keys")
struct AuthTests {
    static func headers(_ key: String) -> HTTPFields { [.authorization: key.isEmpty ? "" : "Bearer \(key)"] }

    @Test("no key or a wrong key is 401, a key without the route's scope is 403, the right scope passes")
    func scopes() async throws {
        try await TestServer.with { server in
            let client = server.client
            let (readKey, _) = try await server.keys.create(name: "reader", scopes: [.read])
            let (postKey, _) = try await server.keys.create(name: "booking", scopes: [.post])
            let transfer = APITests.json(
                #"{"id": "1", "debitAccount": "provider:bkash:clearing", "creditAccount": "provider:nagad:clearing", "#
                    + #""amount": "1.00"}"#)
            try await client.execute(uri: "/v1/transfers", method: .post, headers: Self.headers(""), body: transfer) {
                #expect($0.status == .unauthorized && $0.headers[.wwwAuthenticate] == "Bearer")
                let type = try APITests.problemType($0)
                #expect(type == "/problems/missing-api-key")
            }
            let wrong = String(postKey.dropLast()) + (postKey.hasSuffix("0") ? "1" : "0")
            for presented in [wrong, "khata_x", "Basic dXNlcjpwYXNz"] {
                try await client.execute(
                    uri: "/v1/transfers", method: .post, headers: [.authorization: "Bearer \(presented)"],
                    body: transfer
                ) {
                    #expect($0.status == .unauthorized)
                    let type = try APITests.problemType($0)
                    #expect(type == "/problems/invalid-api-key")
                }
            }
            try await client.execute(
                uri: "/v1/transfers", method: .post, headers: Self.headers(readKey), body: transfer
            ) {
                #expect($0.status == .forbidden)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/insufficient-scope")
            }
            // Nothing was posted by the refused requests.
            try await client.execute(uri: "/v1/transfers/1", method: .get, headers: Self.headers(readKey)) {
                #expect($0.status == .notFound)
            }
            try await client.execute(
                uri: "/v1/transfers", method: .post, headers: Self.headers(postKey), body: transfer
            ) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/v1/transfers/1", method: .get, headers: Self.headers(readKey)) {
                #expect($0.status == .ok)
            }
            // Accounts are an admin's; refunds are finance's.
            let account = APITests.json(#"{"key": "merchant:SVC-1", "currency": "BDT"}"#)
            try await client.execute(uri: "/v1/accounts", method: .post, headers: Self.headers(postKey), body: account)
            {
                #expect($0.status == .forbidden)
            }
            let refund = APITests.json(#"{"id": "2", "transferId": "1"}"#)
            try await client.execute(uri: "/v1/refunds", method: .post, headers: Self.headers(postKey), body: refund) {
                #expect($0.status == .forbidden)
            }
            // Health needs no key.
            try await client.execute(uri: "/health", method: .get, headers: Self.headers("")) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("a revoked key stops working once the cache has let it go (immediately with no cache)")
    func revocation() async throws {
        try await TestServer.with(keyCacheMilliseconds: 0) { server in
            let (key, info) = try await server.keys.create(name: "reader", scopes: [.read])
            try await server.client.execute(
                uri: "/v1/accounts/provider:bkash:clearing", method: .get, headers: Self.headers(key)
            ) {
                #expect($0.status == .ok)
            }
            let revoked = try await server.keys.revoke(id: info.id)
            #expect(revoked)
            try await server.client.execute(
                uri: "/v1/accounts/provider:bkash:clearing", method: .get, headers: Self.headers(key)
            ) {
                #expect($0.status == .unauthorized)
            }
        }
    }
}

/// Health and metrics through a live server.
@Suite("Health and metrics")
struct MetricsTests {
    @Test("/metrics counts requests by route template and status, and shows the ledger's state")
    func metrics() async throws {
        try await TestServer.with { server in
            let client = server.client
            let transfer = APITests.json(
                #"{"id": "9", "debitAccount": "provider:bkash:clearing", "creditAccount": "provider:nagad:clearing", "#
                    + #""amount": "1.00"}"#)
            try await client.execute(uri: "/v1/transfers", method: .post, body: transfer) {
                #expect($0.status == .created)
            }
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/transfers/9", method: .get) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/v1/transfers/10", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: ""]) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(
                    text.contains(#"khata_http_requests_total{route="/v1/transfers",method="POST",status="201"} 1"#))
                #expect(
                    text.contains(#"khata_http_requests_total{route="/v1/transfers/{id}",method="GET",status="200"} 2"#)
                )
                #expect(
                    text.contains(#"khata_http_requests_total{route="/v1/transfers/{id}",method="GET",status="404"} 1"#)
                )
                #expect(text.contains("khata_http_request_duration_seconds_bucket{"))
                #expect(text.contains("khata_ledger_committed_sequence "))
                #expect(text.contains("khata_ledger_queue_depth 0"))
                #expect(text.contains("khata_ledger_group_records_count "))
            }
        }
    }
}
