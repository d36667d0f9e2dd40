import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ledger
import Testing

/// The routes a worker on another machine reaches the ledger owner through: due holds, expiring
/// them, a reservation by payment reference, and the accounts a page at a time.
@Suite("Ledger owner routes")
struct LedgerOwnerRoutesTests {
    static func get(_ client: any TestClientProtocol, _ uri: String, expect status: HTTPResponse.Status = .ok)
        async throws -> [String: Any]
    {
        try await client.execute(uri: uri, method: .get) { response in
            #expect(response.status == status, "\(uri): \(String(buffer: response.body))")
            return try APITests.object(response)
        }
    }

    static func expire(_ client: any TestClientProtocol, _ body: String, expect status: HTTPResponse.Status = .ok)
        async throws -> [String: Any]
    {
        try await client.execute(uri: "/v1/holds/expire", method: .post, body: APITests.json(body)) { response in
            #expect(response.status == status, "\(body): \(String(buffer: response.body))")
            return try APITests.object(response)
        }
    }

    @Test("a closed payment window lists the hold as due; expiring it reads EXPIRED, once")
    func dueAndExpire() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let created = try await ReservationTests.reserve(
                client, ReservationTests.reservation(extra: #", "paymentWindowSeconds": 60"#))
            let id = try #require(created["id"] as? String)
            #expect(try await Self.get(client, "/v1/holds/due")["ids"] as? [String] == [])
            server.clock.advance(seconds: 61)
            #expect(try await Self.get(client, "/v1/holds/due")["ids"] as? [String] == [id])
            // A time before the window closed lists nothing; one after it, the hold.
            let early = server.clock.now - 30 * 1_000_000_000
            #expect(try await Self.get(client, "/v1/holds/due?atNanoseconds=\(early)")["ids"] as? [String] == [])
            let results = try await Self.expire(client, #"{"ids": ["\#(id)"]}"#)["results"] as? [[String: Any]]
            #expect(results?.first?["result"] as? String == "ok")
            let reservation = try await Self.get(client, "/v1/reservations/\(id)")
            #expect(reservation["state"] as? String == "EXPIRED")
            #expect(try await Self.get(client, "/v1/holds/due")["ids"] as? [String] == [])
            let again = try await Self.expire(client, #"{"ids": ["\#(id)"]}"#)["results"] as? [[String: Any]]
            #expect(again?.first?["result"] as? String == "pendingExpired")
        }
    }

    @Test("expiry requests are read strictly: empty, too many, bad ids, bad times and limits are 400")
    func expireRefusals() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let client = server.client
            let tooMany = "{\"ids\": [" + (1...8_191).map { "\"\($0)\"" }.joined(separator: ",") + "]}"
            let cases = [
                (#"{"ids": []}"#, "invalid-batch-size"), (tooMany, "invalid-batch-size"),
                (#"{"ids": ["01"]}"#, "invalid-id"), (#"{"ids": [1.5]}"#, "invalid-field"),
                (#"{"ids": "1"}"#, "invalid-field"), (#"{"holds": ["1"]}"#, "unknown-field"),
                (#"{}"#, "missing-field"),
            ]
            for (body, kind) in cases {
                let problem = try await Self.expire(client, body, expect: .badRequest)
                #expect(problem["type"] as? String == "/problems/\(kind)", "\(body.prefix(40))")
            }
            // The largest expiry is one batch: 8,190 ids, each with its result.
            let largest = "{\"ids\": [" + (1...8_190).map { "\"\($0)\"" }.joined(separator: ",") + "]}"
            let answered = try await Self.expire(client, largest)["results"] as? [[String: Any]]
            #expect(answered?.count == 8_190)
            #expect(try await Self.get(client, "/v1/holds/due?limit=8190")["ids"] as? [String] == [])
            #expect(try await Self.get(client, "/v1/holds/due?limit=1")["ids"] as? [String] == [])
            for query in ["atNanoseconds=-1", "atNanoseconds=1e9", "limit=0", "limit=8191", "limit=x"] {
                let problem = try await Self.get(client, "/v1/holds/due?\(query)", expect: .badRequest)
                #expect(problem["status"] as? Int == 400, "\(query)")
            }
        }
    }

    @Test("hostile expiries and queries are refused with a named problem and change nothing")
    func hostileInput() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let client = server.client
            let sequence = server.ledger.committedSequence
            let deep = "{\"ids\": " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}"
            let cases = [
                (deep, "malformed-json"), (#"{"ids": ["1"], "ids": ["2"]}"#, "duplicate-field"),
                (#"{"ids": [1e3]}"#, "invalid-field"), (#"{"ids": [-1]}"#, "invalid-field"),
                (#"{"ids": ["1\u0000"]}"#, "invalid-id"), (#"{"ids": ["0x10"]}"#, "invalid-id"),
                (#"{"ids": ["340282366920938463463374607431768211456"]}"#, "invalid-id"),
                (#"{"ids": ["1"]"#, "malformed-json"), ("[]", "invalid-field"),
            ]
            for (body, kind) in cases {
                let problem = try await Self.expire(client, body, expect: .badRequest)
                #expect(problem["type"] as? String == "/problems/\(kind)", "\(body.prefix(40))")
                #expect((problem["detail"] as? String)?.isEmpty == false)
            }
            #expect(server.ledger.committedSequence == sequence, "a refused expiry changed the ledger")
            // A hold that does not exist is a result, not an error; the batch is still one batch.
            let results = try await Self.expire(client, #"{"ids": ["424242"]}"#)["results"] as? [[String: Any]]
            #expect(results?.first?["result"] as? String == "pendingTransferNotFound")
            for query in [
                "/v1/holds/due?atNanoseconds=18446744073709551616", "/v1/holds/due?atNanoseconds=%2B5",
                "/v1/holds/due?limit=1.5", "/v1/accounts?after=99999999999999999999999", "/v1/accounts?after=-1",
                "/v1/accounts?limit=1001",
            ] {
                let problem = try await Self.get(client, query, expect: .badRequest)
                #expect((problem["detail"] as? String)?.isEmpty == false, "\(query)")
            }
            // Past the last account: an empty last page, no cursor.
            let past = try await Self.get(client, "/v1/accounts?after=1000000")
            #expect((past["accounts"] as? [Any])?.isEmpty == true && past["next"] == nil)
            // A reference with control characters or of any length finds nothing, and says so.
            for reference in ["KH%00%01", String(repeating: "K", count: 5_000)] {
                let problem = try await Self.get(
                    client, "/v1/reservations?paymentReference=\(reference)", expect: .notFound)
                #expect(problem["type"] as? String == "/problems/reservation-not-found")
            }
        }
    }

    @Test("a payment reference finds its reservation; an unknown one is 404, a missing one 400")
    func byPaymentReference() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let created = try await ReservationTests.reserve(client, ReservationTests.reservation())
            let reference = try #require(created["paymentReference"] as? String)
            let found = try await Self.get(client, "/v1/reservations?paymentReference=\(reference)")
            #expect(found["id"] as? String == created["id"] as? String)
            let unknown = try await Self.get(
                client, "/v1/reservations?paymentReference=KH0000000000000000", expect: .notFound)
            #expect(unknown["type"] as? String == "/problems/reservation-not-found")
            let missing = try await Self.get(client, "/v1/reservations", expect: .badRequest)
            #expect(missing["type"] as? String == "/problems/missing-field")
        }
    }

    @Test("accounts are listed in creation order a page at a time, the clearing accounts first")
    func accountPages() async throws {
        try await TestServer.with { server in
            let client = server.client
            for index in 1...5 {
                try await client.execute(
                    uri: "/v1/accounts", method: .post,
                    body: APITests.json(#"{"key": "merchant:SVC-\#(index)", "currency": "BDT"}"#)
                ) { #expect($0.status == .created) }
            }
            var keys: [String] = []
            var cursor: String? = ""
            while let after = cursor {
                let query = after.isEmpty ? "?limit=3" : "?limit=3&after=\(after)"
                let page = try await Self.get(client, "/v1/accounts\(query)")
                keys += (page["accounts"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
                cursor = page["next"] as? String
            }
            #expect(
                keys == [
                    "provider:bkash:clearing", "provider:nagad:clearing", "provider:sslcommerz:clearing",
                    "merchant:SVC-1", "merchant:SVC-2", "merchant:SVC-3", "merchant:SVC-4", "merchant:SVC-5",
                ])
            let bad = try await Self.get(client, "/v1/accounts?after=x", expect: .badRequest)
            #expect(bad["type"] as? String == "/problems/invalid-cursor")
        }
    }
}
