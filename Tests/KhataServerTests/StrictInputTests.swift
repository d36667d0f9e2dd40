import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Ledger
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One strict reading of every input, through a live server: each case is a request the API used
/// to accept or answer wrongly, with the status, problem type and words it must answer now, and
/// nothing in the ledger changed by it.
@Suite("Strict input")
struct StrictInputTests {
    struct Case: Sendable {
        let method: HTTPRequest.Method
        let uri: String
        let body: String?
        let status: HTTPResponse.Status
        let type: String
        let words: String
    }

    static let transfer =
        #"{"id": "5", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
    static let refund = #"{"id": "7", "transferId": "1", "#

    static func reservation(_ amount: String) -> String {
        String(buffer: ReservationTests.reservation(booking: "BK-F", amount: "A"))
            .replacingOccurrences(of: #""amount": "A""#, with: #""amount": \#(amount)"#)
    }

    static var cases: [Case] {
        let key65 = String(repeating: "k", count: 65)
        return [
            // 4. Floats are refused everywhere, and "1e17" says what is wrong with it.
            Case(
                method: .post, uri: "/v1/reservations", body: reservation("99.99999999999999999"),
                status: .badRequest, type: "invalid-amount", words: "JSON number"),
            Case(
                method: .post, uri: "/v1/reservations", body: reservation("5.0"), status: .badRequest,
                type: "invalid-amount", words: "fraction or an exponent"),
            Case(
                method: .post, uri: "/v1/reservations", body: reservation("5e0"), status: .badRequest,
                type: "invalid-amount", words: "5e0"),
            Case(
                method: .post, uri: "/v1/refunds", body: refund + #""amount": 500.0}"#, status: .badRequest,
                type: "invalid-amount", words: "500.0"),
            Case(
                method: .post, uri: "/v1/reservations", body: reservation(#""1e17""#), status: .badRequest,
                type: "invalid-amount", words: "\"e\" is not allowed"),
            // 5. Limits are 400s naming the limit.
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": "\#(key65)", "currency": "BDT"}"#,
                status: .badRequest, type: "invalid-account-key", words: "at most 64 bytes"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "reference": "\#(key65)"}"#,
                status: .badRequest, type: "invalid-reference", words: "at most 32 bytes"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "code": 65536}"#,
                status: .badRequest, type: "invalid-field", words: "0 to 65535"),
            // 7. One spelling of ids, of amounts and of texts.
            Case(
                method: .get, uri: "/v1/transfers/+1", body: nil, status: .badRequest, type: "invalid-id",
                words: "without sign"),
            Case(
                method: .get, uri: "/v1/transfers/0001", body: nil, status: .badRequest, type: "invalid-id",
                words: "leading zeros"),
            Case(
                method: .get, uri: "/v1/transfers/" + String(repeating: "0", count: 43) + "1", body: nil,
                status: .badRequest, type: "invalid-id", words: "leading zeros"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": " 10"}"#, status: .badRequest,
                type: "invalid-amount", words: "a blank"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": "1\u00A0000"}"#,
                status: .badRequest, type: "invalid-amount", words: "U+00A0"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": "BDT 10"}"#, status: .badRequest,
                type: "invalid-amount", words: "\"B\" is not allowed"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": "৳ 10"}"#, status: .badRequest,
                type: "invalid-amount", words: "a blank"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "reference": ""}"#,
                status: .badRequest, type: "invalid-reference", words: "must not be empty"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "reference": "a\u0007b"}"#,
                status: .badRequest, type: "invalid-reference", words: "U+0007"),
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": "a\u0000b", "currency": "BDT"}"#,
                status: .badRequest, type: "invalid-account-key", words: "U+0000"),
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": "a\nb", "currency": "BDT"}"#,
                status: .badRequest, type: "invalid-account-key", words: "U+000A"),
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": " merchant:X ", "currency": "BDT"}"#,
                status: .badRequest, type: "invalid-account-key", words: "blank"),
            // 8. Repeated keys are refused; null is absent.
            Case(
                method: .post, uri: "/v1/transfers", body: #"{"id": "1001", "id": "1002"}"#, status: .badRequest,
                type: "duplicate-field", words: "more than once"),
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": null, "currency": "BDT"}"#,
                status: .badRequest, type: "missing-field", words: "key"),
            // 9. Types and ranges are invalid-field, and a batch names the event.
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "code": 70000}"#,
                status: .badRequest, type: "invalid-field", words: "not 70000"),
            Case(
                method: .post, uri: "/v1/transfers", body: transfer + #""amount": 1, "code": -1}"#,
                status: .badRequest, type: "invalid-field", words: "not -1"),
            Case(
                method: .post, uri: "/v1/accounts", body: #"{"key": "x", "currency": "BDT", "code": 1.5}"#,
                status: .badRequest, type: "invalid-field", words: "not 1.5"),
            Case(
                method: .post, uri: "/v1/transfers/batch",
                body: #"{"transfers": [{"id": "1"}, {"id": "2", "amount": 1.5}]}"#, status: .badRequest,
                type: "invalid-amount", words: "transfers[1].amount"),
            Case(
                method: .post, uri: "/v1/transfers/batch", body: #"{"transfers": [{"id": "1"}, {"id": "2", "x": 1}]}"#,
                status: .badRequest, type: "unknown-field", words: "transfers[1].x"),
            // 10. Unmatched routes and wrong methods are problems.
            Case(
                method: .get, uri: "/v1/nothing", body: nil, status: .notFound, type: "route-not-found",
                words: "GET /v1/nothing"),
            Case(
                method: .delete, uri: "/v1/transfers/1", body: nil, status: .methodNotAllowed,
                type: "method-not-allowed", words: "takes GET"),
            // 11. A webhook's status is bounded; an empty one is refused (see the webhook case below).
        ]
    }

    @Test("each formerly accepted or mis-answered input gets its own status, type and words, and changes nothing")
    func catalogue() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let sequence = server.ledger.committedSequence
            for item in Self.cases {
                try await client.execute(
                    uri: item.uri, method: item.method, body: item.body.map { ByteBuffer(string: $0) }
                ) { response in
                    let label = "\(item.method) \(item.uri) \(item.body ?? "")"
                    #expect(response.status == item.status, "\(label)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(label)")
                    let problem = try APITests.object(response)
                    #expect(problem["type"] as? String == "/problems/\(item.type)", "\(label): \(problem)")
                    #expect((problem["detail"] as? String)?.contains(item.words) == true, "\(label): \(problem)")
                    if item.status == .methodNotAllowed { #expect(response.headers[.allow] == "GET") }
                }
            }
            #expect(server.ledger.committedSequence == sequence, "a refused request changed the ledger")
        }
    }

    @Test("headers over the limit are 431 header-too-large as a problem document, and the server stays up")
    func oversizedHeader() async throws {
        try await TestServer.with { server in
            // A raw socket: the server answers and closes while a polite client would still be
            // writing the rest of its request.
            let request =
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
                + String(repeating: "x", count: 100_000) + "\r\n\r\n"
            let answer = try RawHTTP.exchange(port: server.port, Array(request.utf8))
            #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(200))")
            #expect(answer.contains("application/problem+json") && answer.contains("header-too-large"))
            let garbage = try RawHTTP.exchange(port: server.port, Array("NOT HTTP AT ALL\r\n\r\n".utf8))
            #expect(garbage.hasPrefix("HTTP/1.1 400") && garbage.contains("malformed-http"), "\(garbage.prefix(200))")
            try await server.client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("path segments are percent-decoded: keys with a colon, a space or Bangla text can be read")
    func percentDecoding() async throws {
        try await TestServer.with { server in
            for key in ["merchant:SVC-1", "merchant:SVC 2", "ব্যবসায়ী:ঢাকা"] {
                _ = try await CurrencyTests.post(
                    server.client, "/v1/accounts", #"{"key": "\#(key)", "currency": "BDT"}"#, expect: .created)
                let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                try await server.client.execute(uri: "/v1/accounts/\(encoded)", method: .get) { response in
                    #expect(response.status == .ok, "\(encoded)")
                    let account = try APITests.object(response)
                    #expect(account["key"] as? String == key)
                }
                try await server.client.execute(uri: "/v1/accounts/\(encoded)/history", method: .get) { response in
                    #expect(response.status == .ok, "\(encoded)")
                }
            }
            try await server.client.execute(uri: "/v1/accounts/bad%E0%A6", method: .get) { response in
                #expect(response.status == .badRequest)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/invalid-path")
            }
        }
    }

    @Test("a webhook's status must be 1 to 32 letters, so its echo in ignored-… is bounded")
    func webhookStatus() async throws {
        try await TestServer.with { server in
            for (status, expected) in [
                ("", HTTPResponse.Status.badRequest), (String(repeating: "X", count: 33), .badRequest),
                ("FAILED", .ok),
            ] {
                let body =
                    #"{"paymentReference": "KH1", "providerTransactionId": "T-\#(status.count)", "#
                    + #""amount": "1.00", "status": "\#(status)"}"#
                let (headers, buffer) = WebhookTests.signed(
                    body, secret: TestServer.webhookSecrets["bkash"]!, timestamp: server.clock.now / 1_000_000_000)
                try await server.client.execute(
                    uri: "/v1/webhooks/bkash", method: .post, headers: headers, body: buffer
                ) {
                    response in
                    #expect(response.status == expected, "\(status)")
                    if expected == .ok {
                        let answer = try APITests.object(response)
                        #expect(answer["outcome"] as? String == "ignored-failed")
                    }
                }
            }
        }
    }
}

/// One request over a plain socket, for requests no HTTP client would send.
enum RawHTTP {
    struct Failure: Error { let what: String }

    /// Sends `bytes` to 127.0.0.1:`port` and answers everything the server wrote until it closed.
    static func exchange(port: Int, _ bytes: [UInt8]) throws -> String {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw Failure(what: "socket") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw Failure(what: "connect") }
        var sent = 0
        while sent < bytes.count {
            // A write refused because the server already answered and closed ends the sending.
            let count = bytes[sent...].withUnsafeBytes { send(socketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break }
            sent += count
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
