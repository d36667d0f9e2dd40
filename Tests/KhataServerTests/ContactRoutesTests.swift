import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import TestSupport
import Testing

@testable import KhataServer

/// `GET/PUT /v1/contacts/{customerId}`: a customer's details kept with numbers in E.164, their
/// language, preferred channel and opt-outs; refused input changes nothing; admin keys only.
@Suite("Contact routes")
struct ContactRoutesTests {
    static func put(_ server: TestServer, _ id: String, _ body: String, key: String? = nil) async throws
        -> (HTTPResponse.Status, [String: Any])
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await server.client.execute(
            uri: "/v1/contacts/\(id)", method: .put, headers: headers, body: ByteBuffer(string: body)
        ) { response in
            (
                response.status,
                (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                    ?? [:]
            )
        }
    }

    @Test(
        "kept in E.164 with the customer's choices, read back; refused input changes nothing",
        arguments: Backend.available)
    func contacts(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(jobDatabase: database) { server in
            let (status, kept) = try await Self.put(
                server, "cust-42",
                #"{"phone": "017-1234 5678", "whatsapp": "+8801812345678", "email": "rina@example.com.bd", "#
                    + #""language": "en", "preferredChannel": "whatsapp", "optedOutChannels": ["sms"]}"#)
            #expect(status == .ok && kept["phone"] as? String == "+8801712345678")
            #expect(
                kept["preferredChannel"] as? String == "whatsapp" && kept["optedOutChannels"] as? [String] == ["sms"])
            #expect(kept["optedOut"] as? Bool == false && kept["language"] as? String == "en")
            let read = try await server.client.execute(uri: "/v1/contacts/cust-42", method: .get) { response in
                (
                    response.status,
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                )
            }
            #expect(read.0 == .ok && read.1?["whatsapp"] as? String == "+8801812345678")
            let stored = try await Contacts(database: server.database).contact(customerId: "cust-42")
            #expect(stored?.accepts(.whatsapp) == true && stored?.accepts(.sms) == false)

            let refused: [(String, String)] = [
                (#"{"phone": "12345"}"#, "phone must begin with"),
                (#"{"phone": "01212345678"}"#, "Bangladeshi mobile"),
                (#"{"email": "rina.example.com"}"#, "email is not an email address"),
                (#"{"language": "fr"}"#, "language must be bn or en"),
                (#"{"preferredChannel": "webhook"}"#, "is not one of sms, whatsapp, email"),
                (#"{"optedOutChannels": ["sms", "fax"]}"#, "optedOutChannels[1]"),
                (#"{"optedOutChannels": ["sms", "sms", "email", "whatsapp"]}"#, "at most 3"),
                (#"{"optedOut": "yes"}"#, "optedOut must be true or false"),
                (#"{"phone": "01712345678", "phone": "01712345678"}"#, "more than once"),
                (#"{"fax": "1"}"#, "has no field \"fax\""),
                (#"["phone"]"#, "must be a JSON object"),
            ]
            for (body, words) in refused {
                let (status, problem) = try await Self.put(server, "cust-42", body)
                #expect(
                    status == .badRequest && (problem["detail"] as? String)?.contains(words) == true,
                    "\(body): \(problem)")
            }
            #expect(try await Contacts(database: server.database).contact(customerId: "cust-42") == stored)

            let missing = try await server.client.execute(uri: "/v1/contacts/nobody", method: .get) { $0.status }
            #expect(missing == .notFound)
            let (reader, _) = try await server.keys.create(name: "reader", scopes: [.read])
            #expect(try await Self.put(server, "cust-42", "{}", key: reader).0 == .forbidden)
        }
    }

    @Test("a reservation keeps its customer's contact in E.164; a later one leaves the opt-outs kept for them")
    func fromReservations() async throws {
        try await TestServer.with { server in
            try await ReservationTests.merchant(server.client)
            _ = try await ReservationTests.reserve(
                server.client,
                ReservationTests.reservation(extra: #", "language": "en", "preferredChannel": "email""#))
            let contacts = Contacts(database: server.database)
            var kept = try #require(try await contacts.contact(customerId: "CUS-7"))
            #expect(kept.phone == "+8801770000618" && kept.email == "rahim@example.com")
            #expect(kept.language == .en && kept.preferredChannel == .email && kept.optedOutChannels.isEmpty)

            // The customer opts out of SMS; their next booking (no language, no channel) keeps that.
            kept.optedOutChannels = [.sms]
            try await contacts.save(kept, at: server.clock.now)
            _ = try await ReservationTests.reserve(server.client, ReservationTests.reservation(booking: "BK-1002"))
            let after = try #require(try await contacts.contact(customerId: "CUS-7"))
            #expect(after.optedOutChannels == [.sms] && after.language == .en && after.preferredChannel == .email)

            // A channel or language that is not one is refused before anything is held.
            for (extra, words) in [
                (#", "preferredChannel": "fax""#, "preferredChannel"), (#", "language": "fr""#, "bn or en"),
            ] {
                try await server.client.execute(
                    uri: "/v1/reservations", method: .post,
                    body: ReservationTests.reservation(booking: "BK-1003", extra: extra)
                ) { response in
                    #expect(response.status == .badRequest && String(buffer: response.body).contains(words))
                }
            }
        }
    }
}
