import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import KhataCrypto
import Testing

/// Provider webhooks through a live server: signatures, the timestamp window, replays.
@Suite("Webhooks")
struct WebhookTests {
    /// A delivery signed as a provider signs it: HMAC-SHA256 over `TIMESTAMP.BODY`.
    static func signed(_ body: String, secret: String, timestamp: UInt64) -> (HTTPFields, ByteBuffer) {
        let signature = Crypto.hmacSHA256(key: Array(secret.utf8), message: Array("\(timestamp).\(body)".utf8))
        let headers: HTTPFields = [
            HTTPField.Name("X-Khata-Timestamp")!: String(timestamp),
            HTTPField.Name("X-Khata-Signature")!: "sha256=" + Crypto.hex(signature),
            .authorization: "",
        ]
        return (headers, ByteBuffer(string: body))
    }

    static func payment(_ reference: String, transaction: String, amount: String = "1500.00") -> String {
        #"{"paymentReference": "\#(reference)", "providerTransactionId": "\#(transaction)", "#
            + #""amount": "\#(amount)", "status": "COMPLETED"}"#
    }

    static func answer(_ response: TestResponse) throws -> [String: Any] { try APITests.object(response) }

    @Test("a valid webhook confirms once; its replay answers the first outcome; forgeries and stale ones are refused")
    func signatures() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let created = try await ReservationTests.reserve(client, ReservationTests.reservation())
            let id = try #require(created["id"] as? String)
            let reference = try #require(created["paymentReference"] as? String)
            let secret = TestServer.webhookSecrets["bkash"]!
            let now = server.clock.now / 1_000_000_000
            let body = Self.payment(reference, transaction: "8A44HBA3JK")

            let (forged, forgedBody) = Self.signed(body, secret: "not-the-secret-0123456789", timestamp: now)
            try await client.execute(uri: "/v1/webhooks/bkash", method: .post, headers: forged, body: forgedBody) {
                #expect($0.status == .unauthorized)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/invalid-signature")
            }
            let (stale, staleBody) = Self.signed(body, secret: secret, timestamp: now - 301)
            try await client.execute(uri: "/v1/webhooks/bkash", method: .post, headers: stale, body: staleBody) {
                #expect($0.status == .unauthorized)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/stale-webhook")
            }
            // A body changed after signing fails the signature.
            let (valid, _) = Self.signed(body, secret: secret, timestamp: now - 30)
            let tampered = ByteBuffer(string: Self.payment(reference, transaction: "8A44HBA3JK", amount: "1.00"))
            try await client.execute(uri: "/v1/webhooks/bkash", method: .post, headers: valid, body: tampered) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/webhooks/bkash", method: .post, headers: [.authorization: ""],
                body: ByteBuffer(string: body)
            ) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) {
                let state = try APITests.object($0)["state"] as? String
                #expect(state == "PAYMENT_PENDING")
            }
            for duplicate in [false, true] {
                try await client.execute(
                    uri: "/v1/webhooks/bkash", method: .post, headers: valid, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .ok)
                    let answer = try Self.answer(response)
                    #expect(answer["outcome"] as? String == "confirmed")
                    #expect(answer["duplicate"] as? Bool == duplicate)
                    #expect(answer["reservationId"] as? String == id)
                }
            }
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) {
                let reservation = try APITests.object($0)
                #expect(reservation["state"] as? String == "BOOKING_CONFIRMED")
                #expect(reservation["providerTransactionId"] as? String == "8A44HBA3JK")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) {
                let posted = try APITests.object($0)["creditsPosted"] as? String
                #expect(posted == "1500.00")
            }
        }
    }

    @Test("after the window, a paid webhook is refused, recorded for reconciliation, and answered 200")
    func lateAndUnknown() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let created = try await ReservationTests.reserve(
                client, ReservationTests.reservation(provider: "NAGAD", extra: #", "paymentWindowSeconds": 60"#))
            let id = try #require(created["id"] as? String)
            let reference = try #require(created["paymentReference"] as? String)
            server.clock.advance(seconds: 61)
            let now = server.clock.now / 1_000_000_000
            let secret = TestServer.webhookSecrets["nagad"]!
            let deliveries: [(String, String)] = [
                (Self.payment(reference, transaction: "NG-1"), "expired"),
                (Self.payment("KHNOSUCHREFERENCE", transaction: "NG-2"), "unknown-reference"),
                (
                    Self.payment(reference, transaction: "NG-3").replacingOccurrences(of: "COMPLETED", with: "FAILED"),
                    "ignored-failed"
                ),
            ]
            for (body, outcome) in deliveries {
                let (headers, buffer) = Self.signed(body, secret: secret, timestamp: now)
                try await client.execute(uri: "/v1/webhooks/nagad", method: .post, headers: headers, body: buffer) {
                    #expect($0.status == .ok)
                    let answer = try Self.answer($0)
                    #expect(answer["outcome"] as? String == outcome)
                }
            }
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) {
                let reservation = try APITests.object($0)
                #expect(reservation["state"] as? String == "EXPIRED")
                let refused = reservation["refusedConfirmations"] as? [[String: Any]] ?? []
                #expect(refused.map { $0["source"] as? String } == ["webhook"])
                #expect(refused.map { $0["providerTransactionId"] as? String } == ["NG-1"])
            }
            // A provider without a secret, and one that does not exist.
            let (headers, buffer) = Self.signed("{}", secret: secret, timestamp: now)
            try await client.execute(uri: "/v1/webhooks/sslcommerz", method: .post, headers: headers, body: buffer) {
                #expect($0.status == .notFound)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/webhook-not-configured")
            }
            try await client.execute(uri: "/v1/webhooks/paypal", method: .post, headers: headers, body: buffer) {
                #expect($0.status == .notFound)
            }
        }
    }
}
