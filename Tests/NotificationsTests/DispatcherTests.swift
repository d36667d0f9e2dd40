import AsyncHTTPClient
import Foundation
import JobStore
import Notifications
import Synchronization
import TestSupport
import Testing

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(1_795_996_800_000_000_000)
    var now: UInt64 { nanoseconds.load(ordering: .sequentiallyConsistent) }
    func advance(seconds: UInt64) { nanoseconds.add(seconds * 1_000_000_000, ordering: .sequentiallyConsistent) }
    /// Moves the clock to `instant` unless it is past it.
    func advance(to instant: UInt64) { nanoseconds.max(instant, ordering: .sequentiallyConsistent) }
    var read: @Sendable () -> UInt64 { { self.now } }
}

/// The dispatcher against a real HTTP server on 127.0.0.1 acting as a Twilio-compatible SMS
/// provider that fails on purpose: 500s, 429 with `Retry-After`, answers that never come, dropped
/// connections, refusals.
@Suite("Notification dispatch over HTTP")
struct DispatcherTests {
    static func message(_ key: String, channel: NotificationChannel = .sms, validUntil: String? = nil)
        -> NewNotification
    {
        NewNotification(
            idempotencyKey: key, ledgerSequence: 1, event: "payment_confirmed", customerId: "CUS-7", channel: channel,
            recipient: channel == .email ? "rahim@example.com" : "+8801770000618", language: .en,
            subject: channel == .email ? "Booking BK-1 is confirmed" : nil,
            body: "Booking BK-1 is confirmed. Paid ৳1,500.00.", validUntil: validUntil)
    }

    static func twilio(_ client: HTTPClient, _ provider: FlakyProvider, timeoutSeconds: Int64 = 1) -> TwilioTransport {
        TwilioTransport(
            client: client, baseURL: provider.baseURL, accountId: "AC123", authToken: "secret-token",
            smsFrom: "+15005550006", whatsappFrom: "+15005550007",
            statusCallbackURL: "https://khata.example/v1/notifications/callbacks/twilio",
            timeoutSeconds: timeoutSeconds)
    }

    @Test(
        "failures on purpose: retried on 5xx, 429 (after Retry-After), silence and drops; 4xx dead; limit dead",
        arguments: Backend.available)
    func failures(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        // What the provider does with the n-th request for each key.
        let plans: [String: [FlakyProvider.Action]] = [
            "flaky": [
                .answer(status: 500, body: "oops"), .answer(status: 429, headers: [("Retry-After", "30")]), .drop,
                .hang, .answer(status: 201, body: #"{"sid": "SM-flaky"}"#),
            ],
            "bad": [.answer(status: 400, body: #"{"message": "The 'To' number is not valid"}"#)],
            "down": Array(repeating: .answer(status: 503), count: 10),
        ]
        let seen = Mutex<[String: Int]>([:])
        let provider = try FlakyProvider { request in
            let key = request.headers["i-twilio-idempotency-token"] ?? ""
            let count = seen.withLock { counts in
                counts[key, default: 0] += 1
                return counts[key]!
            }
            guard let plan = plans[key] else {
                return .answer(status: 201, body: #"{"sid": "SM-\#(key)"}"#)
            }
            return plan[min(count, plan.count) - 1]
        }
        defer { provider.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let clock = TestClock()
        let queue = NotificationQueue(database: database)
        try await queue.enqueue(
            ["ok", "flaky", "bad", "down"].map { Self.message($0) }
                + [Self.message("late", validUntil: UTCTime.text(nanoseconds: clock.now))], at: clock.now)
        var dispatcher = NotificationDispatcher(
            database: database, transports: [.sms: Self.twilio(client, provider)], worker: "d1", clock: clock.read)
        dispatcher.policy = RetryPolicy(baseDelayMilliseconds: 1_000, maxDelayMilliseconds: 60_000, maxAttempts: 6)
        do {
            let first = try await dispatcher.run()
            #expect(first.claimed == 5 && first.accepted == 1 && first.dead == 1 && first.expired == 1)
            #expect(first.retried == 2)
            let ok = try #require(try await queue.delivery(idempotencyKey: "ok"))
            #expect(ok.state == .accepted && ok.providerMessageId == "SM-ok")
            let okAttempt = try #require(try await queue.attempts(deliveryId: ok.id).first)
            #expect(
                okAttempt.outcome == "accepted" && okAttempt.httpStatus == 201 && okAttempt.latencyMilliseconds != nil)
            let bad = try #require(try await queue.delivery(idempotencyKey: "bad"))
            #expect(bad.state == .dead && bad.attemptCount == 1 && bad.lastError?.contains("HTTP 400") == true)
            let late = try #require(try await queue.delivery(idempotencyKey: "late"))
            #expect(late.state == .expired && late.lastError?.contains("before it was sent") == true)

            // The flaky one, step by step: each wait as the policy and the provider say.
            // Each wait is measured from when its attempt ended, as recorded (times are kept to
            // the millisecond): the attempt's own time, however long the machine took, is not in it.
            func nextAttempt(_ key: String) async throws -> (due: UInt64, wait: Int64) {
                let delivery = try #require(try await queue.delivery(idempotencyKey: key))
                #expect(delivery.state == .pending, "\(key): \(delivery.state)")
                let due = try #require(UTCTime.nanoseconds(delivery.nextAttemptAt))
                let ended = try #require(
                    try await queue.attempts(deliveryId: delivery.id).last.flatMap { UTCTime.nanoseconds($0.endedAt) })
                return (due, Int64(bitPattern: due &- ended) / 1_000_000)
            }
            // After the 500 (attempt 1): between half and all of 1 s.
            var next = try await nextAttempt("flaky")
            #expect((499...1_001).contains(next.wait), "\(next.wait) ms")
            clock.advance(to: next.due)
            #expect(try await dispatcher.run().retried >= 1)
            // After the 429: not before its Retry-After of 30 s.
            next = try await nextAttempt("flaky")
            #expect((29_999...30_001).contains(next.wait), "\(next.wait) ms")
            clock.advance(to: next.due)
            _ = try await dispatcher.run()
            // After the dropped connection (attempt 3): between 2 and 4 s.
            next = try await nextAttempt("flaky")
            #expect((1_999...4_001).contains(next.wait), "\(next.wait) ms")
            clock.advance(to: next.due)
            _ = try await dispatcher.run()
            // After the silence (attempt 4, the client's 1 s timeout): between 4 and 8 s.
            next = try await nextAttempt("flaky")
            #expect((3_999...8_001).contains(next.wait), "\(next.wait) ms")
            // Then it gets through, and the always-down one runs out of attempts.
            for _ in 0..<6 {
                clock.advance(seconds: 60)
                _ = try await dispatcher.run()
            }
            let flaky = try #require(try await queue.delivery(idempotencyKey: "flaky"))
            #expect(flaky.state == .accepted && flaky.providerMessageId == "SM-flaky")
            let attempts = try await queue.attempts(deliveryId: flaky.id)
            #expect(attempts.map(\.outcome) == ["retry", "retry", "retry", "retry", "accepted"])
            #expect(attempts.map(\.httpStatus) == [500, 429, nil, nil, 201])
            #expect(attempts[2].error?.contains("no answer from http://127.0.0.1") == true)
            let down = try #require(try await queue.delivery(idempotencyKey: "down"))
            #expect(down.state == .dead && down.attemptCount == 6)
            #expect(down.lastError?.hasPrefix("gave up after 6 attempts: HTTP 503") == true)
            #expect(try await queue.attempts(deliveryId: down.id).allSatisfy { $0.httpStatus == 503 })
            #expect(try await dispatcher.run().claimed == 0)

            // The provider's side: the real request shape, each key past a 2xx at most once, and
            // nothing for the message that had expired.
            let exchanges = provider.exchanges
            #expect(!exchanges.contains { $0.request.headers["i-twilio-idempotency-token"] == "late" })
            var successes: [String: Int] = [:]
            for exchange in exchanges where (200..<300).contains(exchange.status ?? 0) {
                successes[exchange.request.headers["i-twilio-idempotency-token"] ?? "", default: 0] += 1
            }
            #expect(successes == ["ok": 1, "flaky": 1])
            let sent = try #require(exchanges.first { $0.request.headers["i-twilio-idempotency-token"] == "ok" })
            #expect(sent.request.method == "POST" && sent.request.path == "/2010-04-01/Accounts/AC123/Messages.json")
            let basic = "Basic " + Data("AC123:secret-token".utf8).base64EncodedString()
            #expect(sent.request.headers["authorization"] == basic)
            #expect(sent.request.headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(
                sent.request.form == [
                    "To": "+8801770000618", "From": "+15005550006",
                    "Body": "Booking BK-1 is confirmed. Paid ৳1,500.00.",
                    "StatusCallback": "https://khata.example/v1/notifications/callbacks/twilio",
                ])
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test("WhatsApp, email, webhook and outbox: each transport's request, and its key")
    func transports() async throws {
        let scratch = try Backend.sqlite.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        let provider = try FlakyProvider { request in
            request.path.hasPrefix("/v3/mail/send")
                ? .answer(status: 202, headers: [("X-Message-Id", "SG-1")])
                : request.path == "/hook"
                    ? .answer(status: 204)
                    : .answer(status: 201, body: #"{"sid": "SM-wa"}"#)
        }
        defer { provider.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clock = TestClock()
        let queue = NotificationQueue(database: database)
        try await queue.enqueue(
            [
                Self.message("wa", channel: .whatsapp), Self.message("mail", channel: .email),
                Self.message("hook", channel: .webhook), Self.message("local"),
            ], at: clock.now)
        let outbox = try OutboxTransport(folder: folder)
        let dispatcher = NotificationDispatcher(
            database: database,
            transports: [
                .whatsapp: Self.twilio(client, provider),
                .email: SendGridTransport(
                    client: client, baseURL: provider.baseURL, apiKey: "SG.key", from: "tickets@khata.example",
                    timeoutSeconds: 5),
                .webhook: WebhookTransport(client: client, url: provider.baseURL + "/hook", timeoutSeconds: 5),
                .sms: outbox,
            ], worker: "d1", clock: clock.read)
        do {
            let outcome = try await dispatcher.run()
            #expect(outcome.accepted == 2 && outcome.delivered == 2)
            #expect(try await queue.delivery(idempotencyKey: "mail")?.providerMessageId == "SG-1")
            #expect(try await queue.delivery(idempotencyKey: "hook")?.state == .delivered)
            let byKey = Dictionary(
                provider.exchanges.map {
                    (
                        $0.request.headers["i-twilio-idempotency-token"] ?? $0.request.headers["idempotency-key"] ?? "",
                        $0
                    )
                }, uniquingKeysWith: { first, _ in first })
            let whatsapp = try #require(byKey["wa"])
            #expect(whatsapp.request.form["To"] == "whatsapp:+8801770000618")
            #expect(whatsapp.request.form["From"] == "whatsapp:+15005550007")
            let mail = try #require(byKey["mail"])
            #expect(mail.request.headers["authorization"] == "Bearer SG.key")
            let mailJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(mail.request.body)) as? [String: Any])
            #expect(mailJSON["subject"] as? String == "Booking BK-1 is confirmed")
            #expect((mailJSON["custom_args"] as? [String: String])?["idempotency_key"] == "mail")
            let hook = try #require(byKey["hook"])
            let hookJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(hook.request.body)) as? [String: Any])
            #expect(hookJSON["idempotencyKey"] as? String == "hook" && hookJSON["channel"] as? String == "webhook")
            let lines = try String(contentsOfFile: outbox.path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains(#""idempotencyKey":"local""#))
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test("two dispatchers sharing one queue never send a message twice", arguments: Backend.available)
    func twoDispatchers(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        let provider = try FlakyProvider { request in
            .answer(status: 201, body: #"{"sid": "SM-\#(request.headers["i-twilio-idempotency-token"] ?? "")"}"#)
        }
        defer { provider.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let clock = TestClock()
        let queue = NotificationQueue(database: database)
        try await queue.enqueue((0..<600).map { Self.message("m\($0)") }, at: clock.now)
        func dispatcher(_ name: String) -> NotificationDispatcher {
            var dispatcher = NotificationDispatcher(
                database: database, transports: [.sms: Self.twilio(client, provider, timeoutSeconds: 10)],
                worker: name, clock: clock.read)
            dispatcher.batchSize = 50
            dispatcher.maximumInFlight = 16
            return dispatcher
        }
        do {
            async let first = dispatcher("d1").run()
            async let second = dispatcher("d2").run()
            let (one, two) = try await (first, second)
            #expect(one.accepted + two.accepted == 600)
            let keys = provider.exchanges.compactMap { $0.request.headers["i-twilio-idempotency-token"] }
            #expect(keys.count == 600 && Set(keys).count == 600)
            #expect(try await queue.countsByState() == [.accepted: 600])
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
