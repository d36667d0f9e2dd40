import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import KhataCrypto
import Ledger
import TestSupport
import Testing

/// The API as a hostile client tries it: bodies built to crash a parser, every limit and one
/// past it, floats, repeated keys, control characters. Nothing may take the server down, and a
/// refused request changes nothing.
@Suite("Hostile requests")
struct HostileRequestTests {
    /// Bodies no route may fall over on.
    static func hostileBodies() -> [(String, [UInt8])] {
        var random = SplitMix(seed: 20_261_201)
        var bodies: [(String, [UInt8])] = [
            ("60,000 [", Array(repeating: UInt8(ascii: "["), count: 60_000)),
            ("20,000 nested objects", Array(String(repeating: #"{"a":"#, count: 20_000).utf8)),
            (
                "65 nested arrays in a field",
                Array(#"{"id": "1", "amount": "#.utf8) + Array(repeating: 91, count: 65)
                    + Array(repeating: 93, count: 65) + [125]
            ),
            (
                "a 600 KB string",
                Array(#"{"id": ""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 600_000) + [34, 125]
            ),
            ("invalid UTF-8", Array(#"{"id": "1", "reference": ""#.utf8) + [0xFF, 0xFE, 0x22, 0x7D]),
            ("NUL bytes", [0, 0, 0, 0]),
            ("repeated keys", Array(#"{"id": "1001", "id": "1002"}"#.utf8)),
            ("a float amount", Array(#"{"id": "1", "amount": 99.99999999999999999}"#.utf8)),
            ("an empty body", []),
        ]
        for index in 0..<4 {
            let count = Int.random(in: 1...2_000, using: &random)
            bodies.append(("random bytes \(index)", (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }))
        }
        return bodies
    }

    /// A webhook delivery signed with the provider's test secret, so that it reaches the parser.
    static func signedHeaders(_ body: [UInt8], now: UInt64) -> HTTPFields {
        let timestamp = now / 1_000_000_000
        let secret = Array(TestServer.webhookSecrets["bkash"]!.utf8)
        let signature = Crypto.hmacSHA256(key: secret, message: Array("\(timestamp).".utf8) + body)
        return [
            HTTPField.Name("X-Khata-Timestamp")!: String(timestamp),
            HTTPField.Name("X-Khata-Signature")!: "sha256=" + Crypto.hex(signature), .authorization: "",
        ]
    }

    @Test("deep, long and random bodies on every route are refused with a 4xx problem, and the server stays up")
    func noBodyTakesTheServerDown() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let reservation = try await ReservationTests.reserve(client, ReservationTests.reservation())
            let reservationId = try #require(reservation["id"] as? String)
            let routes: [String] = [
                "/v1/accounts", "/v1/transfers", "/v1/transfers/batch", "/v1/refunds", "/v1/reservations",
                "/v1/reservations/\(reservationId)/confirm", "/v1/webhooks/bkash",
            ]
            let sequence = server.ledger.committedSequence
            for route in routes {
                for (name, body) in Self.hostileBodies() {
                    let headers = route.contains("webhooks") ? Self.signedHeaders(body, now: server.clock.now) : [:]
                    try await client.execute(
                        uri: route, method: .post, headers: headers, body: ByteBuffer(bytes: body)
                    ) { response in
                        #expect((400..<500).contains(response.status.code), "\(route), \(name): \(response.status)")
                        #expect(response.headers[.contentType] == "application/problem+json", "\(route), \(name)")
                    }
                    try await client.execute(uri: "/health", method: .get) { response in
                        #expect(response.status == .ok, "after \(route), \(name)")
                    }
                }
            }
            #expect(server.ledger.committedSequence == sequence, "a refused body changed the ledger")
        }
    }

    @Test("the 60,000-bracket body answers malformed-json naming the nesting limit")
    func nestingLimit() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            for route in ["/v1/transfers", "/v1/transfers/batch", "/v1/accounts"] {
                try await server.client.execute(
                    uri: route, method: .post,
                    body: ByteBuffer(bytes: Array(repeating: UInt8(ascii: "["), count: 60_000))
                ) { response in
                    #expect(response.status == .badRequest)
                    let problem = try APITests.object(response)
                    #expect(problem["type"] as? String == "/problems/malformed-json")
                    #expect((problem["detail"] as? String)?.contains("deeper than 64 levels") == true)
                }
            }
        }
    }
}
