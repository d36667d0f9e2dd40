import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import KhataCrypto
import NIOCore
import Testing

/// The notification routes through a live server: the queue as an admin reads it (recipients
/// masked), a dead letter sent again, and the SMS provider's signed delivery reports.
@Suite("Notification routes")
struct NotificationRoutesTests {
    static let callbackURL = "https://khata.example/v1/notifications/callbacks/twilio"
    static let token = "twilio-token-1"

    /// What Twilio sends: the URL and every field, name then value, in name order, HMAC-SHA1
    /// under the token, in Base64.
    static func signature(_ fields: [(String, String)], token: String = token, url: String = callbackURL) -> String {
        let text = url + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        return Data(Crypto.hmacSHA1(key: Array(token.utf8), message: Array(text.utf8))).base64EncodedString()
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ByteBuffer(
            string: fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
                .joined(separator: "&"))
    }

    static func message(_ key: String, customer: String = "CUS-7") -> NewNotification {
        NewNotification(
            idempotencyKey: key, ledgerSequence: 9, event: "payment_confirmed", customerId: customer, channel: .sms,
            recipient: "+8801770000618", language: .bn, body: "বুকিং BK-1 নিশ্চিত")
    }

    @Test("an admin reads the queue by state and customer, pages through it, and retries a dead letter")
    func listAndRetry() async throws {
        try await TestServer.with { server in
            let queue = NotificationQueue(database: server.database)
            try await queue.enqueue(
                (1...5).map { Self.message("k\($0)") } + [Self.message("other", customer: "CUS-8")],
                at: server.clock.now)
            let claimed = try await queue.claim(worker: "w", limit: 1, leaseSeconds: 60, at: server.clock.now)
            let dead = try #require(claimed.first)
            try await queue.record(
                id: dead.id, worker: "w", attempt: 1, outcome: .dead(error: "HTTP 400 from the provider"),
                httpStatus: 400, startedAtNanoseconds: server.clock.now, endedAtNanoseconds: server.clock.now)

            var ids: [String] = []
            var uri: String? = "/v1/notifications?customerId=CUS-7&limit=2"
            while let page = uri {
                let object = try await server.client.execute(uri: page, method: .get) { response in
                    #expect(response.status == .ok)
                    return try APITests.object(response)
                }
                let items = try #require(object["notifications"] as? [[String: Any]])
                #expect(items.count <= 2)
                #expect(items.allSatisfy { $0["recipient"] as? String == "+880177****618" })
                ids += items.compactMap { $0["id"] as? String }
                uri = (object["next"] as? String).map { "/v1/notifications?customerId=CUS-7&limit=2&before=\($0)" }
            }
            #expect(ids.count == 5 && ids == ids.sorted { Int($0)! > Int($1)! })
            let deadOnly = try await server.client.execute(uri: "/v1/notifications?state=dead", method: .get) {
                try APITests.object($0)
            }
            let deadItems = try #require(deadOnly["notifications"] as? [[String: Any]])
            #expect(deadItems.count == 1 && deadItems.first?["lastError"] as? String == "HTTP 400 from the provider")

            for query in ["state=lost", "limit=0", "limit=1001", "before=-3", "before=x", "customerId="] {
                try await server.client.execute(uri: "/v1/notifications?\(query)", method: .get) {
                    #expect($0.status == .badRequest, "\(query)")
                }
            }
            let retried = try await server.client.execute(uri: "/v1/notifications/\(dead.id)/retry", method: .post) {
                response in
                #expect(response.status == .ok)
                return try APITests.object(response)
            }
            #expect(retried["state"] as? String == "pending")
            try await server.client.execute(uri: "/v1/notifications/\(dead.id)/retry", method: .post) {
                #expect($0.status == .conflict)
            }
            try await server.client.execute(uri: "/v1/notifications/999999/retry", method: .post) {
                #expect($0.status == .notFound)
            }
            try await server.client.execute(uri: "/v1/notifications/0/retry", method: .post) {
                #expect($0.status == .badRequest)
            }
            // A key without admin sees nothing.
            let (reader, _) = try await server.keys.create(name: "Reader", scopes: [.read, .finance])
            try await server.client.execute(
                uri: "/v1/notifications", method: .get, headers: [.authorization: "Bearer \(reader)"]
            ) { #expect($0.status == .forbidden) }
        }
    }

    @Test("the provider's signed reports move a message to delivered or failed; a forged one changes nothing")
    func twilioCallbacks() async throws {
        try await TestServer.with(twilioAuthToken: Self.token, twilioCallbackURL: Self.callbackURL) { server in
            let queue = NotificationQueue(database: server.database)
            try await queue.enqueue([Self.message("a"), Self.message("b")], at: server.clock.now)
            for (index, delivery) in try await queue.claim(
                worker: "w", limit: 2, leaseSeconds: 60, at: server.clock.now
            ).enumerated() {
                try await queue.record(
                    id: delivery.id, worker: "w", attempt: 1, outcome: .accepted(providerMessageId: "SM\(index)"),
                    httpStatus: 201, startedAtNanoseconds: server.clock.now, endedAtNanoseconds: server.clock.now)
            }
            func report(_ fields: [(String, String)], signature: String? = nil) async throws -> (
                HTTPResponse.Status, [String: Any]
            ) {
                var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                headers[HTTPField.Name("X-Twilio-Signature")!] = signature ?? Self.signature(fields)
                return try await server.client.execute(
                    uri: "/v1/notifications/callbacks/twilio", method: .post, headers: headers, body: Self.form(fields)
                ) { response in (response.status, (try? APITests.object(response)) ?? [:]) }
            }
            let sent = [("MessageSid", "SM0"), ("MessageStatus", "sent"), ("AccountSid", "AC1")]
            #expect(try await report(sent).1["recorded"] as? Bool == false)
            #expect(try await queue.delivery(idempotencyKey: "a")?.state == .accepted)
            let delivered = [("MessageSid", "SM0"), ("MessageStatus", "delivered"), ("To", "+8801770000618")]
            let (status, answer) = try await report(delivered)
            #expect(status == .ok && answer["recorded"] as? Bool == true && answer["state"] as? String == "delivered")
            #expect(try await queue.delivery(idempotencyKey: "a")?.state == .delivered)
            // A failure report for a delivered message does not undo it.
            _ = try await report([("MessageSid", "SM0"), ("MessageStatus", "failed")])
            #expect(try await queue.delivery(idempotencyKey: "a")?.state == .delivered)
            let failed = [("MessageSid", "SM1"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
            #expect(try await report(failed).1["state"] as? String == "failed")
            let b = try #require(try await queue.delivery(idempotencyKey: "b"))
            #expect(b.state == .failed && b.lastError == "the provider reported undelivered (error 30003)")
            // Forged: another token, another URL, a changed field, no signature at all.
            let forged = [("MessageSid", "SM1"), ("MessageStatus", "delivered")]
            for signature in [
                Self.signature(forged, token: "guess"), Self.signature(forged, url: "https://elsewhere.example/x"),
                Self.signature([("MessageSid", "SM1"), ("MessageStatus", "failed")]), "", "not base64 !",
            ] {
                #expect(try await report(forged, signature: signature).0 == .forbidden)
            }
            #expect(try await queue.delivery(idempotencyKey: "b")?.state == .failed)
            #expect(try await report([("MessageStatus", "delivered")]).0 == .badRequest)
            // Read strictly even when signed: a field sent twice, or a control character, is
            // refused as a form and changes nothing.
            let twice = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("MessageStatus", "failed")]
            let (twiceStatus, twiceAnswer) = try await report(twice)
            #expect(twiceStatus == .badRequest && twiceAnswer["type"] as? String == "/problems/invalid-form")
            let control = [("MessageSid", "SM1"), ("MessageStatus", "delivered\u{07}")]
            #expect(try await report(control).0 == .badRequest)
            #expect(try await queue.delivery(idempotencyKey: "b")?.state == .failed)
            #expect(
                try await report([("MessageSid", "SM-nobody"), ("MessageStatus", "delivered")]).1["recorded"] as? Bool
                    == false)
        }
        // Without the token and URL configured, reports are not taken.
        try await TestServer.with { server in
            try await server.client.execute(
                uri: "/v1/notifications/callbacks/twilio", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.form([("MessageSid", "SM0")])
            ) { #expect($0.status == .serviceUnavailable) }
        }
    }

    @Test("the messages page: admins see states and dead letters (numbers masked, text escaped) and retry one")
    func messagesPage() async throws {
        try await TestServer.with { server in
            typealias R = ReviewPagesTests
            let queue = NotificationQueue(database: server.database)
            try await queue.enqueue([Self.message("ok"), Self.message("bad")], at: server.clock.now)
            let claimed = try await queue.claim(worker: "w", limit: 2, leaseSeconds: 60, at: server.clock.now)
            let bad = try #require(claimed.first { $0.message.idempotencyKey == "bad" })
            try await queue.record(
                id: bad.id, worker: "w", attempt: 1, outcome: .dead(error: "HTTP 400: <script>alert(1)</script>"),
                httpStatus: 400, startedAtNanoseconds: server.clock.now, endedAtNanoseconds: server.clock.now)
            let (admin, _) = try await server.keys.create(name: "Ops", scopes: [.admin])
            let (cookie, csrf) = try await R.signIn(server, key: admin)
            let page = try await R.request(server, "/ui/notifications", cookie: cookie)
            #expect(page.status == .ok && page.text.contains("href=\"/ui/notifications\">Notifications</a>"))
            #expect(page.text.contains("<code>bad</code>") && page.text.contains("+880177****618"))
            #expect(!page.text.contains("+8801770000618") && !page.text.contains("<script>alert"))
            #expect(page.text.contains("HTTP 400: &lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(page.text.contains("action=\"/ui/notifications/\(bad.id)/retry\""))
            let sending = try await R.request(server, "/ui/notifications?state=sending", cookie: cookie)
            #expect(sending.text.contains("<code>ok</code>") && !sending.text.contains("/retry\""))
            let wrongState = try await R.request(server, "/ui/notifications?state=lost", cookie: cookie)
            #expect(wrongState.status == .badRequest && wrongState.text.contains("is not a state"))

            let forged = try await R.request(
                server, "/ui/notifications/\(bad.id)/retry", method: .post, cookie: cookie, form: "csrf=nope")
            #expect(forged.status == .forbidden)
            #expect(try await queue.delivery(id: bad.id)?.state == .dead)
            let retried = try await R.request(
                server, "/ui/notifications/\(bad.id)/retry", method: .post, cookie: cookie, form: "csrf=\(csrf)")
            #expect(retried.status == .seeOther && retried.location == "/ui/notifications?state=dead&done=retry")
            #expect(try await queue.delivery(id: bad.id)?.state == .pending)
            let again = try await R.request(
                server, "/ui/notifications/\(bad.id)/retry", method: .post, cookie: cookie, form: "csrf=\(csrf)")
            #expect(again.status == .conflict && again.text.contains("only a dead or failed message"))

            // A finance key reviews mismatches but does not see customers' messages.
            let (finance, _) = try await server.keys.create(name: "Farida", scopes: [.finance])
            let (financeCookie, financeCsrf) = try await R.signIn(server, key: finance)
            let refused = try await R.request(server, "/ui/notifications", cookie: financeCookie)
            #expect(refused.status == .forbidden && refused.text.contains("admin scope"))
            let runs = try await R.request(server, "/ui/runs", cookie: financeCookie)
            #expect(!runs.text.contains("/ui/notifications"))
            let refusedRetry = try await R.request(
                server, "/ui/notifications/\(bad.id)/retry", method: .post, cookie: financeCookie,
                form: "csrf=\(financeCsrf)")
            #expect(refusedRetry.status == .forbidden)
        }
    }
}
