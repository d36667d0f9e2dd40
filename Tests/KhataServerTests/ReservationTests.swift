import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The booking flow through a live server: reservation, confirmation, cancellation, expiry.
@Suite("Reservations")
struct ReservationTests {
    static func reservation(
        booking: String = "BK-1001", amount: String = "1500.00", provider: String = "BKASH", extra: String = ""
    ) -> ByteBuffer {
        APITests.json(
            #"{"bookingId": "\#(booking)", "customerId": "CUS-7", "serviceId": "SVC-456", "amount": "\#(amount)", "#
                + #""currency": "BDT", "provider": "\#(provider)", "customerPhone": "01770000618", "#
                + #""customerEmail": "rahim@example.com"\#(extra)}"#)
    }

    static func merchant(_ client: any TestClientProtocol) async throws {
        try await client.execute(
            uri: "/v1/accounts", method: .post, body: APITests.json(#"{"key": "merchant:SVC-456", "currency": "BDT"}"#)
        ) { #expect($0.status == .created) }
    }

    /// Creates a reservation and answers its body.
    static func reserve(_ client: any TestClientProtocol, _ body: ByteBuffer) async throws -> [String: Any] {
        try await client.execute(uri: "/v1/reservations", method: .post, body: body) { response in
            #expect(response.status == .created)
            return try APITests.object(response)
        }
    }

    static func confirm(_ id: String, _ transaction: String, amount: String? = nil) -> ByteBuffer {
        let amountField = amount.map { #", "amount": "\#($0)""# } ?? ""
        return APITests.json(#"{"providerTransactionId": "\#(transaction)"\#(amountField)}"#)
    }

    @Test("reservation to confirmation: held, retried, captured once, and the merchant credited")
    func confirmation() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await Self.merchant(client)
            let created = try await Self.reserve(client, Self.reservation())
            let id = try #require(created["id"] as? String)
            #expect(created["state"] as? String == "PAYMENT_PENDING")
            let reference = try #require(created["paymentReference"] as? String)
            #expect(reference.hasPrefix("KH") && reference.count <= 32)
            #expect(created["paymentWindowSeconds"] as? Int == 1_800)
            #expect(created["expiresAt"] as? String == "2025-11-29T07:36:40.000Z")
            // The retry answers the same reservation; other details for the booking are refused.
            try await client.execute(uri: "/v1/reservations", method: .post, body: Self.reservation()) { response in
                #expect(response.status == .ok)
                let again = try APITests.object(response)
                #expect(again["id"] as? String == id && again["paymentReference"] as? String == reference)
            }
            try await client.execute(uri: "/v1/reservations", method: .post, body: Self.reservation(amount: "1600")) {
                let type = try APITests.problemType($0)
                #expect($0.status == .conflict && type == "/problems/reservation-exists-with-different-fields")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPending"] as? String == "1500.00")
            }
            let confirmURI = "/v1/reservations/\(id)/confirm"
            for _ in 0..<2 {
                try await client.execute(uri: confirmURI, method: .post, body: Self.confirm(id, "8A44HBA3JK")) {
                    response in
                    #expect(response.status == .ok)
                    let body = try APITests.object(response)
                    #expect(body["state"] as? String == "BOOKING_CONFIRMED")
                    #expect(body["providerTransactionId"] as? String == "8A44HBA3JK")
                }
            }
            try await client.execute(uri: confirmURI, method: .post, body: Self.confirm(id, "9B55")) { response in
                #expect(response.status == .conflict)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/reservation-conflict")
            }
            try await client.execute(uri: "/v1/reservations/\(id)/cancel", method: .post) { response in
                #expect(response.status == .conflict)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/reservation-confirmed")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPosted"] as? String == "1500.00")
                #expect(account["creditsPending"] as? String == "0.00")
            }
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) { response in
                let body = try APITests.object(response)
                let refused = try #require(body["refusedConfirmations"] as? [[String: Any]])
                #expect(refused.map { $0["providerTransactionId"] as? String } == ["9B55"])
                #expect(refused.first?["outcome"] as? String == "conflict")
            }
            // The hold is a transfer like any other.
            try await client.execute(uri: "/v1/transfers/\(id)", method: .get) { response in
                let hold = try APITests.object(response)
                #expect(hold["reference"] as? String == reference && hold["state"] as? String == "PENDING_POSTED")
            }
        }
    }

    @Test("reservation to expiry: the window passes, the reservation reads EXPIRED, a late confirmation is refused")
    func expiry() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await Self.merchant(client)
            let created = try await Self.reserve(client, Self.reservation(extra: #", "paymentWindowSeconds": 600"#))
            let id = try #require(created["id"] as? String)
            server.clock.advance(seconds: 599)
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) {
                let body = try APITests.object($0)
                #expect(body["state"] as? String == "PAYMENT_PENDING")
            }
            server.clock.advance(seconds: 2)
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) {
                let body = try APITests.object($0)
                #expect(body["state"] as? String == "EXPIRED")
            }
            try await client.execute(
                uri: "/v1/reservations/\(id)/confirm", method: .post, body: Self.confirm(id, "LATE1", amount: "1500")
            ) { response in
                #expect(response.status == .conflict)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/reservation-expired")
            }
            try await client.execute(uri: "/v1/reservations/\(id)", method: .get) { response in
                let body = try APITests.object(response)
                #expect(body["state"] as? String == "EXPIRED")
                let refused = try #require(body["refusedConfirmations"] as? [[String: Any]])
                #expect(refused.count == 1)
                #expect(refused.first?["outcome"] as? String == "expired")
                #expect(refused.first?["providerTransactionId"] as? String == "LATE1")
                #expect(refused.first?["amount"] as? String == "1500.00")
                #expect(refused.first?["source"] as? String == "api")
            }
            // Nothing was captured.
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPosted"] as? String == "0.00")
            }
        }
    }

    @Test("cancellation releases the hold; a confirmation after it is refused and recorded")
    func cancellation() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await Self.merchant(client)
            let created = try await Self.reserve(client, Self.reservation())
            let id = try #require(created["id"] as? String)
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/reservations/\(id)/cancel", method: .post) { response in
                    #expect(response.status == .ok)
                    let body = try APITests.object(response)
                    #expect(body["state"] as? String == "CANCELLED" && body["cancelledAt"] is String)
                }
            }
            try await client.execute(
                uri: "/v1/reservations/\(id)/confirm", method: .post, body: Self.confirm(id, "8A44HBA3JK")
            ) { response in
                #expect(response.status == .conflict)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/reservation-cancelled")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPending"] as? String == "0.00" && account["creditsPosted"] as? String == "0.00")
            }
        }
    }

    @Test("a confirmation for another amount is refused and recorded; the right amount then confirms")
    func amountMismatch() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await Self.merchant(client)
            let id = try #require(try await Self.reserve(client, Self.reservation())["id"] as? String)
            let uri = "/v1/reservations/\(id)/confirm"
            try await client.execute(uri: uri, method: .post, body: Self.confirm(id, "T1", amount: "1400.00")) {
                #expect($0.status == .unprocessableContent)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/reservation-amount-mismatch")
            }
            try await client.execute(uri: uri, method: .post, body: Self.confirm(id, "T1", amount: "1500")) {
                let body = try APITests.object($0)
                #expect(body["state"] as? String == "BOOKING_CONFIRMED")
                let refused = try #require(body["refusedConfirmations"] as? [[String: Any]])
                #expect(refused.map { $0["outcome"] as? String } == ["amount-mismatch"])
            }
        }
    }

    @Test("bad reservations get their own problem and create nothing")
    func invalid() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await Self.merchant(client)
            let cases: [(ByteBuffer, HTTPResponse.Status, String)] = [
                (Self.reservation(provider: "PAYPAL"), .badRequest, "unknown-provider"),
                (Self.reservation(amount: "0"), .badRequest, "invalid-amount"),
                (Self.reservation(amount: "12.345"), .badRequest, "invalid-amount"),
                (Self.reservation(extra: #", "paymentWindowSeconds": 5"#), .badRequest, "invalid-payment-window"),
                (Self.reservation(extra: #", "coupon": "X""#), .badRequest, "unknown-field"),
                (Self.reservation(booking: ""), .badRequest, "invalid-field"),
                (
                    APITests.json(
                        #"{"bookingId": "B", "customerId": "C", "serviceId": "SVC-456", "amount": "1", "#
                            + #""currency": "BDT", "provider": "NAGAD", "customerPhone": "call me", "#
                            + #""customerEmail": "a@b.c"}"#), .badRequest, "invalid-phone"
                ),
                (
                    APITests.json(
                        #"{"bookingId": "B", "customerId": "C", "serviceId": "SVC-456", "amount": "1", "#
                            + #""currency": "BDT", "provider": "NAGAD", "customerPhone": "01770000618", "#
                            + #""customerEmail": "nobody"}"#), .badRequest, "invalid-email"
                ),
                (
                    APITests.json(
                        #"{"bookingId": "B", "customerId": "C", "serviceId": "SVC-999", "amount": "1", "#
                            + #""currency": "BDT", "provider": "NAGAD", "customerPhone": "01770000618", "#
                            + #""customerEmail": "a@b.c"}"#), .notFound, "account-not-found"
                ),
            ]
            for (body, status, kind) in cases {
                try await client.execute(uri: "/v1/reservations", method: .post, body: body) { response in
                    #expect(response.status == status, "\(kind)")
                    let type = try APITests.problemType(response)
                    #expect(type == "/problems/\(kind)")
                }
            }
            try await client.execute(uri: "/v1/reservations/12345", method: .get) {
                #expect($0.status == .notFound)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/reservation-not-found")
            }
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPending"] as? String == "0.00")
            }
        }
    }
}
