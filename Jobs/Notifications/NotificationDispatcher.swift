import Dispatch
import JobStore

/// What one dispatch pass did.
public struct DispatchOutcome: Sendable, Equatable, CustomStringConvertible {
    public var claimed = 0
    /// Delivered (webhook, outbox) or accepted by a provider that reports later.
    public var delivered = 0
    public var accepted = 0
    /// Failed and due again later; given up (dead letters); dropped unsent because they no
    /// longer meant anything.
    public var retried = 0
    public var dead = 0
    public var expired = 0

    public init() {}

    public var description: String {
        "\(claimed) claimed: \(delivered) delivered, \(accepted) accepted, \(retried) to retry, \(dead) dead, "
            + "\(expired) expired unsent"
    }
}

/// Sends queued messages: claims due deliveries in batches (several dispatchers, on several
/// machines, take disjoint ones), sends up to `maximumInFlight` at once through the transport of
/// each message's channel, and records every attempt with its outcome, status and latency.
///
/// - A message past its validity is not sent: it is recorded `expired`.
/// - 2xx is delivered (or accepted, for a provider that reports later); 5xx, 408, 429 and no
///   answer are retried with exponential backoff and jitter (`RetryPolicy`), not before a
///   `Retry-After` the provider gave; any other 4xx is permanent; after the policy's attempts a
///   message is dead, waiting for a person.
/// - A dispatcher that dies mid-batch leaves its claims to run out; another then sends those
///   messages again with the same idempotency key. Only a message whose provider never answered
///   can so be sent twice, and the key lets the provider drop the repeat.
public struct NotificationDispatcher: Sendable {
    public let database: JobDatabase
    /// The transport of each channel; a channel without one leaves its messages dead with why.
    public let transports: [NotificationChannel: any NotificationTransport]
    public var policy = RetryPolicy()
    /// This dispatcher's name in claims and attempts.
    public var worker: String
    public var batchSize = 256
    public var maximumInFlight = 64
    /// How long a claim lasts: longer than any one send (the transports' timeout) with room.
    public var leaseSeconds = 120
    /// The clock claims and retries are timed by (nanoseconds since the Unix epoch).
    public var clock: @Sendable () -> UInt64

    public init(
        database: JobDatabase, transports: [NotificationChannel: any NotificationTransport], worker: String,
        clock: @escaping @Sendable () -> UInt64
    ) {
        self.database = database
        self.transports = transports
        self.worker = worker
        self.clock = clock
    }

    /// Sends what is due until nothing is, or `shouldStop` says so between batches.
    public func run(shouldStop: @Sendable () -> Bool = { false }) async throws -> DispatchOutcome {
        var outcome = DispatchOutcome()
        let queue = NotificationQueue(database: database)
        while !shouldStop() {
            let batch = try await queue.claim(
                worker: worker, limit: batchSize, leaseSeconds: leaseSeconds, at: clock())
            guard !batch.isEmpty else { break }
            outcome.claimed += batch.count
            try await send(batch, queue, into: &outcome)
        }
        return outcome
    }

    /// What a child task of a batch came to: an attempt ended, or ended attempts were recorded.
    private enum Step: Sendable {
        case sent(AttemptRecord)
        case recorded([AttemptRecord])
    }

    /// Sends `batch`, `maximumInFlight` at a time, and records the attempts as they end: one
    /// transaction at a time takes every attempt that ended while the previous one was being
    /// written (a group commit), so that the store is not one commit per message.
    private func send(_ batch: [NotificationDelivery], _ queue: NotificationQueue, into outcome: inout DispatchOutcome)
        async throws
    {
        try await withThrowingTaskGroup(of: Step.self) { group in
            var next = 0
            var ended: [AttemptRecord] = []
            var recording = false
            func startSend() {
                let delivery = batch[next]
                next += 1
                group.addTask { .sent(await attempt(delivery)) }
            }
            func startRecording() {
                let records = ended
                ended.removeAll()
                recording = true
                group.addTask {
                    try await queue.record(records)
                    return .recorded(records)
                }
            }
            while next < min(maximumInFlight, batch.count) { startSend() }
            while let step = try await group.next() {
                switch step {
                case .sent(let record):
                    ended.append(record)
                    if next < batch.count { startSend() }
                case .recorded(let records):
                    recording = false
                    for record in records {
                        switch record.outcome {
                        case .delivered: outcome.delivered += 1
                        case .accepted: outcome.accepted += 1
                        case .retry: outcome.retried += 1
                        case .dead: outcome.dead += 1
                        case .expired: outcome.expired += 1
                        }
                    }
                }
                if !recording && !ended.isEmpty { startRecording() }
            }
        }
    }

    /// One attempt at `delivery` (claimed by this worker): what to record of it.
    func attempt(_ delivery: NotificationDelivery) async -> AttemptRecord {
        let started = clock()
        let monotonicStart = DispatchTime.now().uptimeNanoseconds
        let result: SendResult
        if let validUntil = delivery.message.validUntil, let until = UTCTime.nanoseconds(validUntil), started >= until {
            return AttemptRecord(
                id: delivery.id, worker: worker, attempt: delivery.attemptCount,
                outcome: .expired(reason: "its validity ended at \(validUntil) before it was sent"), httpStatus: nil,
                startedAtNanoseconds: started, endedAtNanoseconds: started)
        }
        if let transport = transports[delivery.message.channel] {
            result = await transport.send(delivery)
        } else {
            result = .permanent(
                error: "no transport is configured for \(delivery.message.channel.rawValue)", httpStatus: nil)
        }
        // The latency is the wall of the send itself, whatever the clock claims are timed by.
        let ended = max(clock(), started + (DispatchTime.now().uptimeNanoseconds - monotonicStart))
        let outcome: AttemptOutcome
        switch result {
        case .delivered(let id, _): outcome = .delivered(providerMessageId: id)
        case .accepted(let id, _): outcome = .accepted(providerMessageId: id)
        case .permanent(let error, _): outcome = .dead(error: error)
        case .retry(let error, _, let retryAfterSeconds):
            var generator = SystemRandomNumberGenerator()
            let decided = policy.afterFailure(
                attempt: delivery.attemptCount, error: error, retryable: true, nowNanoseconds: ended,
                using: &generator)
            if case .retry(let error, let at) = decided, let retryAfterSeconds {
                outcome = .retry(error: error, atNanoseconds: max(at, ended + retryAfterSeconds * 1_000_000_000))
            } else {
                outcome = decided
            }
        }
        return AttemptRecord(
            id: delivery.id, worker: worker, attempt: delivery.attemptCount, outcome: outcome,
            httpStatus: result.httpStatus, startedAtNanoseconds: started, endedAtNanoseconds: ended)
    }
}
