import Foundation
import JobStore
import TestSupport
import Testing

/// The notification work queue on both backends: idempotent queueing, claims with deadlines,
/// fenced outcomes, dead letters, and workers that never take the same delivery at once.
@Suite("Notification queue")
struct NotificationQueueTests {
    static let second: UInt64 = 1_000_000_000
    static let start: UInt64 = 1_795_000_000 * second

    static func message(_ number: Int, channel: NotificationChannel = .sms) -> NewNotification {
        NewNotification(
            idempotencyKey: "\(number):hold-created:\(channel.rawValue)", ledgerSequence: Int64(number),
            event: "hold-created", customerId: "customer-\(number % 7)", channel: channel,
            recipient: "+88017\(String(format: "%08d", number))", language: number % 2 == 0 ? .bn : .en,
            body: "আপনার বুকিং \(number) সংরক্ষিত")
    }

    @Test("queueing is idempotent by key, and a claim takes due deliveries oldest first", arguments: Backend.available)
    func enqueueAndClaim(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let queue = NotificationQueue(database: try scratch.open())
        #expect(try await queue.enqueue([Self.message(1), Self.message(2), Self.message(1)], at: Self.start) == 2)
        #expect(try await queue.enqueue([Self.message(2), Self.message(3)], at: Self.start + Self.second) == 1)
        var blank = Self.message(9)
        blank.recipient = " "
        await #expect {
            try await queue.enqueue([Self.message(8), blank], at: Self.start)
        } throws: { error in
            let refused = error as? NotificationError
            return refused?.field == "recipient" && refused?.idempotencyKey == blank.idempotencyKey
        }
        #expect(try await queue.delivery(idempotencyKey: Self.message(8).idempotencyKey) == nil)

        // Not yet due: message 3 was queued a second later.
        let first = try await queue.claim(worker: "w1", limit: 10, leaseSeconds: 60, at: Self.start)
        #expect(first.map(\.message.ledgerSequence) == [1, 2])
        #expect(first.allSatisfy { $0.state == .sending && $0.attemptCount == 1 && $0.claimedBy == "w1" })
        #expect(first[0].message == Self.message(1))

        let second = try await queue.claim(worker: "w2", limit: 10, leaseSeconds: 60, at: Self.start + Self.second)
        #expect(second.map(\.message.ledgerSequence) == [3])
        #expect(
            try await queue.claim(worker: "w2", limit: 10, leaseSeconds: 60, at: Self.start + 59 * Self.second)
                .isEmpty)

        // w1 went silent: once its claim runs out, the deliveries are claimed again (at least once).
        let again = try await queue.claim(worker: "w3", limit: 10, leaseSeconds: 60, at: Self.start + 60 * Self.second)
        #expect(again.map(\.message.ledgerSequence) == [1, 2])
        #expect(again.allSatisfy { $0.attemptCount == 2 && $0.claimedBy == "w3" })
        #expect(try await queue.countsByState() == [.sending: 3])
    }

    @Test(
        "outcomes: delivered is final, a retry waits, a stale claim cannot move it, dead waits for a person",
        arguments: Backend.available)
    func outcomes(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let queue = NotificationQueue(database: try scratch.open())
        try await queue.enqueue((1...3).map { Self.message($0) }, at: Self.start)
        let claimed = try await queue.claim(worker: "w1", limit: 3, leaseSeconds: 30, at: Self.start)
        let (one, two, three) = (claimed[0].id, claimed[1].id, claimed[2].id)
        let t = Self.start + Self.second

        #expect(
            try await queue.record(
                id: one, worker: "w1", attempt: 1, outcome: .delivered(providerMessageId: "SM1"), httpStatus: 201,
                startedAtNanoseconds: Self.start, endedAtNanoseconds: t))
        let retryAt = Self.start + 10 * Self.second
        #expect(
            try await queue.record(
                id: two, worker: "w1", attempt: 1, outcome: .retry(error: "HTTP 503", atNanoseconds: retryAt),
                httpStatus: 503, startedAtNanoseconds: Self.start, endedAtNanoseconds: t))
        #expect(
            try await queue.record(
                id: three, worker: "w1", attempt: 1, outcome: .dead(error: "HTTP 400: invalid number"),
                httpStatus: 400, startedAtNanoseconds: Self.start, endedAtNanoseconds: t))

        let delivered = try #require(try await queue.delivery(id: one))
        #expect(delivered.state == .delivered && delivered.providerMessageId == "SM1" && delivered.claimedBy == nil)
        let waiting = try #require(try await queue.delivery(id: two))
        #expect(waiting.state == .pending && waiting.lastError == "HTTP 503")
        #expect(waiting.nextAttemptAt == UTCTime.text(nanoseconds: retryAt))
        #expect(try await queue.delivery(id: three)?.state == .dead)

        // Not due before its time; then w2 takes attempt 2, and w1's late report of attempt 1
        // (its claim long gone) is kept as an attempt but does not move the delivery.
        #expect(try await queue.claim(worker: "w2", limit: 5, leaseSeconds: 30, at: retryAt - 1).isEmpty)
        let retried = try await queue.claim(worker: "w2", limit: 5, leaseSeconds: 30, at: retryAt)
        #expect(retried.map(\.id) == [two] && retried[0].attemptCount == 2)
        #expect(
            !(try await queue.record(
                id: two, worker: "w1", attempt: 1, outcome: .dead(error: "late"), httpStatus: nil,
                startedAtNanoseconds: t, endedAtNanoseconds: retryAt)))
        #expect(try await queue.delivery(id: two)?.state == .sending)
        #expect(
            try await queue.record(
                id: two, worker: "w2", attempt: 2, outcome: .delivered(providerMessageId: nil), httpStatus: 200,
                startedAtNanoseconds: retryAt, endedAtNanoseconds: retryAt + Self.second))
        let attempts = try await queue.attempts(deliveryId: two)
        #expect(attempts.map(\.outcome) == ["retry", "delivered"] && attempts.map(\.attempt) == [1, 2])
        #expect(attempts[0].httpStatus == 503 && attempts[0].error == "HTTP 503" && attempts[1].worker == "w2")

        // A person requeues the dead letter; only a dead delivery can be requeued.
        #expect(!(try await queue.requeue(id: one, at: retryAt)))
        #expect(try await queue.requeue(id: three, at: retryAt))
        let requeued = try await queue.claim(worker: "w3", limit: 5, leaseSeconds: 30, at: retryAt)
        #expect(requeued.map(\.id) == [three] && requeued[0].attemptCount == 2)
        #expect(try await queue.countsByState() == [.delivered: 2, .sending: 1])
    }

    @Test(
        "two workers (separate databases, as on two machines) drain 600 deliveries, each exactly once",
        arguments: Backend.available)
    func workersShareTheQueue(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let first = try scratch.open()
        let second = try scratch.open()
        try await NotificationQueue(database: first).enqueue((1...600).map { Self.message($0) }, at: Self.start)
        let taken = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, database) in [first, second, first, second].enumerated() {
                group.addTask {
                    let queue = NotificationQueue(database: database)
                    var mine: [Int64] = []
                    while true {
                        let batch = try await queue.claim(
                            worker: "w\(index)", limit: 7, leaseSeconds: 600, at: Self.start)
                        if batch.isEmpty { return mine }
                        mine += batch.map(\.message.ledgerSequence)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let all = taken.flatMap { $0 }
        #expect(all.count == 600)
        #expect(Set(all) == Set((1...600).map(Int64.init)))
    }

    @Test(
        "PostgreSQL: a claim skips rows another transaction has locked instead of waiting for them",
        .enabled(if: Backend.available.contains(.postgres), "needs the PostgreSQL the test command starts"))
    func skipLocked() async throws {
        let scratch = try Backend.postgres.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        let queue = NotificationQueue(database: database)
        try await queue.enqueue((1...5).map { Self.message($0) }, at: Self.start)
        let other = try PostgresConnection(url: try #require(scratch.url))
        try other.execute("BEGIN")
        let locked = try other.query(
            "SELECT ledger_sequence FROM notification_deliveries ORDER BY id LIMIT 2 FOR UPDATE")
        #expect(locked.map { $0[0] } == [.integer(1), .integer(2)])
        let claimed = try await queue.claim(worker: "w", limit: 10, leaseSeconds: 60, at: Self.start)
        #expect(claimed.map(\.message.ledgerSequence) == [3, 4, 5])
        try other.execute("ROLLBACK")
        let rest = try await queue.claim(worker: "w", limit: 10, leaseSeconds: 60, at: Self.start)
        #expect(rest.map(\.message.ledgerSequence) == [1, 2])
    }

    @Test("retries back off exponentially with jitter inside [half, all] of the step, capped, then give up")
    func retryPolicy() {
        let policy = RetryPolicy(baseDelayMilliseconds: 1_000, maxDelayMilliseconds: 60_000, maxAttempts: 8)
        var generator = SplitMix(seed: 42)
        for attempt in 1..<8 {
            let ceiling = min(60_000, 1_000 << (attempt - 1))
            for _ in 0..<200 {
                guard
                    case .retry(_, let at) = policy.afterFailure(
                        attempt: attempt, error: "timeout", retryable: true, nowNanoseconds: Self.start,
                        using: &generator)
                else {
                    Issue.record("attempt \(attempt) should be retried")
                    return
                }
                let delayMilliseconds = Int((at - Self.start) / 1_000_000)
                #expect((ceiling / 2...ceiling).contains(delayMilliseconds))
            }
        }
        #expect(
            policy.afterFailure(attempt: 8, error: "timeout", retryable: true, nowNanoseconds: 0, using: &generator)
                == .dead(error: "gave up after 8 attempts: timeout"))
        #expect(
            policy.afterFailure(attempt: 1, error: "HTTP 400", retryable: false, nowNanoseconds: 0, using: &generator)
                == .dead(error: "HTTP 400"))
    }
}
