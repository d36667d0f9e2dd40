/// The ledger events a customer hears about, each about one reservation.
public enum NotificationEvent: String, CaseIterable, Sendable {
    /// A reservation was made (its hold committed): pay within its window.
    case reservationCreated = "reservation_created"
    /// The payment arrived (the hold captured): the booking is confirmed.
    case paymentConfirmed = "payment_confirmed"
    /// The reservation was cancelled (the hold released).
    case cancelled
    /// The window passed without a payment (the hold expired).
    case expired
    /// Some or all of a confirmed booking's payment was refunded.
    case refunded
}

/// A channel a notification goes out on.
public enum NotificationChannel: String, Sendable, CaseIterable {
    case sms, whatsapp, email, webhook

    /// The channels a customer is reached on, which they may prefer or opt out of (a webhook is
    /// the platform's own, not theirs).
    public static let personal: [NotificationChannel] = [.sms, .whatsapp, .email]

    /// The personal channel named `name`; nil for any other name, `webhook` included.
    public init?(personal name: String) {
        guard let channel = NotificationChannel(rawValue: name), Self.personal.contains(channel) else { return nil }
        self = channel
    }
}

/// Where a delivery stands. `sending` is a claim with a deadline: a worker that dies while sending
/// leaves it to be claimed again once `claimedUntil` passes, so delivery is at least once.
public enum DeliveryState: String, Sendable, CaseIterable {
    case pending, sending
    /// Taken by a provider that reports delivery later (its status callback moves it on).
    case accepted
    /// Delivered: the provider said so, or the transport delivers itself (a webhook, the outbox).
    case delivered
    /// The provider reported that it could not deliver it.
    case failed
    /// Out of attempts, or refused for good: waits for a person (`requeue`).
    case dead
    /// Dropped unsent: what it said stopped being true first (a reminder to pay for a
    /// reservation already confirmed, cancelled or expired).
    case expired
}

/// A notification to queue: one message on one channel for one committed ledger event.
public struct NewNotification: Sendable, Equatable {
    /// Unique per message, e.g. `<ledger sequence>:<event>:<channel>`: queueing it again is a
    /// no-op, and transports pass it on so that the far side can drop a repeat.
    public var idempotencyKey: String
    public var ledgerSequence: Int64
    public var event: String
    public var customerId: String
    public var channel: NotificationChannel
    public var recipient: String
    public var language: ContactLanguage
    /// An email's subject; nil for other channels.
    public var subject: String?
    public var body: String
    /// The reservation's hold it concerns (as text), if it concerns one.
    public var holdId: String?
    /// The ledger event it was made for (`NotificationEvents`), if it was.
    public var eventId: Int64?
    /// Until when it still means something (UTC, `UTCTime`); nil for always. Not sent after.
    public var validUntil: String?

    /// The recipient as people see it (pages, answers, the command line): a phone number
    /// masked, an address as it is.
    public var shownRecipient: String {
        recipient.hasPrefix("+") ? PhoneNumbers.masked(recipient) : recipient
    }

    public init(
        idempotencyKey: String, ledgerSequence: Int64, event: String, customerId: String,
        channel: NotificationChannel, recipient: String, language: ContactLanguage, subject: String? = nil,
        body: String, holdId: String? = nil, eventId: Int64? = nil, validUntil: String? = nil
    ) {
        self.idempotencyKey = idempotencyKey
        self.ledgerSequence = ledgerSequence
        self.event = event
        self.customerId = customerId
        self.channel = channel
        self.recipient = recipient
        self.language = language
        self.subject = subject
        self.body = body
        self.holdId = holdId
        self.eventId = eventId
        self.validUntil = validUntil
    }
}

/// A queued notification and its delivery status.
public struct NotificationDelivery: Sendable, Equatable {
    public var id: Int64
    public var message: NewNotification
    public var state: DeliveryState
    /// Attempts started, counting a claim that is sending now.
    public var attemptCount: Int
    public var nextAttemptAt: String
    public var claimedBy: String?
    public var claimedUntil: String?
    public var providerMessageId: String?
    public var lastError: String?
}

/// How one attempt ended.
public enum AttemptOutcome: Sendable, Equatable {
    case delivered(providerMessageId: String?)
    /// Taken by a provider that reports delivery later, by its status callback.
    case accepted(providerMessageId: String?)
    /// Not sent: it stopped meaning something first (its validity passed).
    case expired(reason: String)
    /// Failed; try again at the time given (nanoseconds since the Unix epoch).
    case retry(error: String, atNanoseconds: UInt64)
    /// Failed for good (refused, or out of attempts).
    case dead(error: String)

    var word: String {
        switch self {
        case .delivered: "delivered"
        case .accepted: "accepted"
        case .expired: "expired"
        case .retry: "retry"
        case .dead: "dead"
        }
    }
}

/// One attempt to record: which delivery, by whom, its number, how it ended, the HTTP status,
/// and when it started and ended (nanoseconds since the Unix epoch).
public struct AttemptRecord: Sendable, Equatable {
    public var id: Int64
    public var worker: String
    public var attempt: Int
    public var outcome: AttemptOutcome
    public var httpStatus: Int?
    public var startedAtNanoseconds: UInt64
    public var endedAtNanoseconds: UInt64

    public init(
        id: Int64, worker: String, attempt: Int, outcome: AttemptOutcome, httpStatus: Int?,
        startedAtNanoseconds: UInt64, endedAtNanoseconds: UInt64
    ) {
        self.id = id
        self.worker = worker
        self.attempt = attempt
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.startedAtNanoseconds = startedAtNanoseconds
        self.endedAtNanoseconds = endedAtNanoseconds
    }
}

/// A notification refused before it was queued: which message, which field, and why. Nothing
/// of the batch was queued.
public struct NotificationError: Error, Equatable, CustomStringConvertible, Sendable {
    public let idempotencyKey: String
    public let field: String
    public let reason: String

    public var description: String { "notification \"\(idempotencyKey)\": \(field) \(reason)" }
}

/// One recorded attempt.
public struct NotificationAttempt: Sendable, Equatable {
    public var attempt: Int
    public var worker: String
    public var startedAt: String
    public var endedAt: String
    /// How long the attempt took, start to end.
    public var latencyMilliseconds: Int?
    /// `delivered`, `accepted`, `retry`, `dead` or `expired`.
    public var outcome: String
    public var httpStatus: Int?
    public var error: String?
}

/// The notification work queue. Workers claim due deliveries in batches: on PostgreSQL with
/// `FOR UPDATE SKIP LOCKED`, so that workers on several machines take disjoint batches without
/// waiting on each other; on SQLite in one `BEGIN IMMEDIATE` transaction, which serializes them.
public struct NotificationQueue: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Queues `messages`, skipping any whose idempotency key is already queued. Answers how many
    /// were new. A message with an empty key, event, customer, recipient or body refuses the whole
    /// batch.
    @discardableResult
    public func enqueue(_ messages: [NewNotification], at nanoseconds: UInt64) async throws -> Int {
        try Self.check(messages)
        return try await database.perform { connection in
            try connection.transaction { try Self.insert(messages, connection, at: nanoseconds) }
        }
    }

    /// Refuses a batch with a message whose key, event, customer, recipient or body is empty.
    static func check(_ messages: [NewNotification]) throws(NotificationError) {
        for message in messages {
            let fields = [
                ("idempotencyKey", message.idempotencyKey), ("event", message.event),
                ("customerId", message.customerId), ("recipient", message.recipient), ("body", message.body),
            ]
            for (field, value) in fields where value.allSatisfy(\.isWhitespace) {
                throw NotificationError(idempotencyKey: message.idempotencyKey, field: field, reason: "is empty")
            }
        }
    }

    /// Inserts `messages` (already `check`ed) inside the caller's transaction, `rowsPerStatement`
    /// to a statement; answers how many were new (a key already queued is left as it is).
    static func insert(_ messages: [NewNotification], _ connection: any DatabaseConnection, at nanoseconds: UInt64)
        throws -> Int
    {
        let now = UTCTime.text(nanoseconds: nanoseconds)
        var inserted = 0
        for start in stride(from: 0, to: messages.count, by: rowsPerStatement) {
            let chunk = messages[start..<min(start + rowsPerStatement, messages.count)]
            var values: [SQLValue] = []
            values.reserveCapacity(chunk.count * 15)
            for message in chunk {
                values += [
                    .text(message.idempotencyKey), .integer(message.ledgerSequence), .text(message.event),
                    message.eventId.map(SQLValue.integer) ?? .null, message.holdId.map(SQLValue.text) ?? .null,
                    .text(message.customerId), .text(message.channel.rawValue), .text(message.recipient),
                    .text(message.language.rawValue), message.subject.map(SQLValue.text) ?? .null,
                    .text(message.body), .text(now), message.validUntil.map(SQLValue.text) ?? .null, .text(now),
                    .text(now),
                ]
            }
            let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
            inserted += try connection.run(
                """
                INSERT INTO notification_deliveries (idempotency_key, ledger_sequence, event, event_id, hold_id,
                    customer_id, channel, recipient, language, subject, body, state, next_attempt_at, valid_until,
                    created_at, updated_at)
                VALUES \(Array(repeating: row, count: chunk.count).joined(separator: ", "))
                ON CONFLICT (idempotency_key) DO NOTHING
                """, values)
        }
        return inserted
    }

    /// Claims up to `limit` deliveries that are due (pending and past their next attempt time, or
    /// sending under a claim that has run out) for `worker`, until `leaseSeconds` from now. Each
    /// claim starts an attempt. Oldest due first.
    public func claim(worker: String, limit: Int, leaseSeconds: Int, at nanoseconds: UInt64) async throws
        -> [NotificationDelivery]
    {
        precondition(limit > 0 && leaseSeconds > 0, "a claim takes at least one delivery for some time")
        let now = UTCTime.text(nanoseconds: nanoseconds)
        let until = UTCTime.text(nanoseconds: nanoseconds + UInt64(leaseSeconds) * 1_000_000_000)
        let parameters: [SQLValue] = [
            .text(worker), .text(until), .text(now), .text(now), .text(now), .integer(Int64(limit)),
        ]
        let claimed = try await database.perform { connection in
            try connection.transaction {
                try connection.query(
                    database.dialect == .postgres ? Self.claimPostgres : Self.claimSQLite, parameters)
            }
        }
        return claimed.map(Self.delivery).sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
    }

    /// A claim on SQLite, where one writer at a time needs no row locks.
    private static let claimSQLite = """
        UPDATE notification_deliveries
        SET state = 'sending', claimed_by = ?1, claimed_until = ?2, attempt_count = attempt_count + 1, updated_at = ?3
        WHERE id IN (
            SELECT id FROM notification_deliveries
            WHERE (state = 'pending' AND next_attempt_at <= ?4) OR (state = 'sending' AND claimed_until <= ?5)
            ORDER BY next_attempt_at, id LIMIT ?6)
        RETURNING \(columns)
        """

    /// A claim on PostgreSQL: rows locked with `SKIP LOCKED`, so that dispatchers sharing the
    /// queue take different messages. Claims whose lease ran out (a dispatcher that stopped) are
    /// taken first, then due ones in the due index's order, each read by its own index scan:
    /// one query with `OR` over both made PostgreSQL read and sort every due row per claim. The
    /// ids are matched through an array, so the update finds its rows by primary key.
    private static let claimPostgres = """
        WITH stale AS (
            SELECT id FROM notification_deliveries WHERE state = 'sending' AND claimed_until <= $5
            ORDER BY claimed_until, id LIMIT $6 FOR UPDATE SKIP LOCKED),
        due AS (
            SELECT id FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= $4
            ORDER BY next_attempt_at, id LIMIT $6 FOR UPDATE SKIP LOCKED)
        UPDATE notification_deliveries
        SET state = 'sending', claimed_by = $1, claimed_until = $2, attempt_count = attempt_count + 1, updated_at = $3
        WHERE id = ANY(ARRAY(SELECT id FROM stale UNION ALL SELECT id FROM due LIMIT $6))
        RETURNING \(columns)
        """

    /// Records how `worker`'s attempt number `attempt` at delivery `id` ended, and moves the
    /// delivery on. A delivery is final once delivered. A failure moves it only while the claim is
    /// still this attempt's: a worker whose claim ran out and was taken over records its attempt
    /// but leaves the delivery to the new holder. Answers whether the delivery moved.
    @discardableResult
    public func record(
        id: Int64, worker: String, attempt: Int, outcome: AttemptOutcome, httpStatus: Int?,
        startedAtNanoseconds: UInt64, endedAtNanoseconds: UInt64
    ) async throws -> Bool {
        try await record([
            AttemptRecord(
                id: id, worker: worker, attempt: attempt, outcome: outcome, httpStatus: httpStatus,
                startedAtNanoseconds: startedAtNanoseconds, endedAtNanoseconds: endedAtNanoseconds)
        ])[0]
    }

    /// Records several attempts (each as `record(id:…)` does) in one transaction: what a
    /// dispatcher with many messages in flight does, so that the store commits once for all the
    /// attempts that ended meanwhile. Answers, for each, whether its delivery moved.
    @discardableResult
    public func record(_ attempts: [AttemptRecord]) async throws -> [Bool] {
        guard !attempts.isEmpty else { return [] }
        return try await database.perform { connection in
            try connection.transaction {
                var moved: [Bool] = []
                moved.reserveCapacity(attempts.count)
                for start in stride(from: 0, to: attempts.count, by: Self.rowsPerStatement) {
                    moved += try Self.record(
                        attempts[start..<min(start + Self.rowsPerStatement, attempts.count)], connection)
                }
                return moved
            }
        }
    }

    /// Attempts written per statement: one statement of many rows costs one round trip to
    /// PostgreSQL where one per row would cost one each.
    static let rowsPerStatement = 100

    /// Records `attempts` with one multi-row insert and one multi-row update per kind of
    /// outcome, each move fenced as for one (`UPDATE … FROM (VALUES …)`, both stores).
    static func record(_ attempts: ArraySlice<AttemptRecord>, _ connection: any DatabaseConnection) throws -> [Bool] {
        func latency(_ attempt: AttemptRecord) -> Int64 {
            attempt.endedAtNanoseconds < attempt.startedAtNanoseconds
                ? 0 : Int64(clamping: (attempt.endedAtNanoseconds - attempt.startedAtNanoseconds) / 1_000_000)
        }
        var values: [SQLValue] = []
        values.reserveCapacity(attempts.count * 9)
        for attempt in attempts {
            let error: String? =
                switch attempt.outcome {
                case .delivered, .accepted: nil
                case .retry(let error, _), .dead(let error), .expired(let error): error
                }
            values += [
                .integer(attempt.id), .integer(Int64(attempt.attempt)), .text(attempt.worker),
                .text(UTCTime.text(nanoseconds: attempt.startedAtNanoseconds)),
                .text(UTCTime.text(nanoseconds: attempt.endedAtNanoseconds)), .integer(latency(attempt)),
                .text(attempt.outcome.word), attempt.httpStatus.map { .integer(Int64($0)) } ?? .null,
                error.map(SQLValue.text) ?? .null,
            ]
        }
        try connection.run(
            """
            INSERT INTO notification_attempts (delivery_id, attempt, worker, started_at, ended_at,
                latency_milliseconds, outcome, http_status, error)
            VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: attempts.count).joined(separator: ", "))
            ON CONFLICT (delivery_id, attempt) DO NOTHING
            """, values)
        // The moves, one statement per kind: v.column1 id, 2 attempt, 3 worker, 4 ended, 5 provider
        // message id, 6 error, 7 next attempt.
        var movedIds: Set<Int64> = []
        let kinds = Dictionary(grouping: attempts) { $0.outcome.word }
        for (word, group) in kinds {
            var rows: [SQLValue] = []
            for attempt in group {
                var providerId: String?
                var error: String?
                var next: String?
                switch attempt.outcome {
                case .delivered(let id), .accepted(let id): providerId = id
                case .expired(let reason): error = reason
                case .dead(let reason): error = reason
                case .retry(let reason, let at):
                    error = reason
                    next = UTCTime.text(nanoseconds: at)
                }
                rows += [
                    .integer(attempt.id), .integer(Int64(attempt.attempt)), .text(attempt.worker),
                    .text(UTCTime.text(nanoseconds: attempt.endedAtNanoseconds)),
                    providerId.map(SQLValue.text) ?? .null, error.map(SQLValue.text) ?? .null,
                    next.map(SQLValue.text) ?? .null,
                ]
            }
            let setting: String
            // A delivered message is final whoever holds it; every other move needs the claim.
            var fence = "d.state = 'sending' AND d.claimed_by = v.column3 AND d.attempt_count = v.column2"
            switch word {
            case "delivered":
                setting = "state = 'delivered', provider_message_id = v.column5"
                fence = "d.state <> 'delivered'"
            case "accepted": setting = "state = 'accepted', provider_message_id = v.column5"
            case "retry": setting = "state = 'pending', next_attempt_at = v.column7, last_error = v.column6"
            default: setting = "state = '\(word)', last_error = v.column6"
            }
            let row =
                "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
                + "CAST(? AS TEXT), CAST(? AS TEXT))"
            let moved = try connection.query(
                """
                UPDATE notification_deliveries AS d SET \(setting), claimed_by = NULL, claimed_until = NULL,
                    updated_at = v.column4
                FROM (VALUES \(Array(repeating: row, count: group.count).joined(separator: ", "))) AS v
                WHERE d.id = v.column1 AND \(fence)
                RETURNING id
                """, rows)
            for found in moved { if let id = found.first?.integer { movedIds.insert(id) } }
        }
        return attempts.map { movedIds.contains($0.id) }
    }

    /// A provider's report on a message it accepted (its status callback): `delivered` or
    /// `failed`, found by the provider's message id. A delivery already delivered stays so; a
    /// report for an id nobody sent answers nil. Answers the delivery as it now stands.
    @discardableResult
    public func providerReport(
        providerMessageId: String, delivered: Bool, detail: String?, at nanoseconds: UInt64
    ) async throws -> NotificationDelivery? {
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.transaction {
                try connection.run(
                    """
                    UPDATE notification_deliveries SET state = ?, last_error = ?, updated_at = ?
                    WHERE provider_message_id = ? AND state IN ('accepted', 'sending', 'failed')
                    """,
                    [
                        .text(delivered ? "delivered" : "failed"), detail.map(SQLValue.text) ?? .null, .text(now),
                        .text(providerMessageId),
                    ])
                return try connection.query(
                    "SELECT \(Self.columns) FROM notification_deliveries WHERE provider_message_id = ?",
                    [.text(providerMessageId)]
                ).first.map(Self.delivery)
            }
        }
    }

    /// Puts a dead delivery (or one its provider reported failed) back in the queue, due now,
    /// with its attempts kept: a person's decision after fixing the cause. It gets one more
    /// attempt (its count goes on), and is dead again if that one fails too. Answers whether it
    /// was dead or failed.
    @discardableResult
    public func requeue(id: Int64, at nanoseconds: UInt64) async throws -> Bool {
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.run(
                """
                UPDATE notification_deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ?
                WHERE id = ? AND state IN ('dead', 'failed')
                """, [.text(now), .text(now), .integer(id)]) == 1
        }
    }

    /// Deliveries newest first, after the cursor `before` (an id; nil for the newest), at most
    /// `limit`, of one state and one customer when given.
    public func deliveries(state: DeliveryState?, customerId: String?, before: Int64?, limit: Int) async throws
        -> [NotificationDelivery]
    {
        precondition(limit > 0, "a page of at least one")
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let state {
            conditions.append("state = ?")
            values.append(.text(state.rawValue))
        }
        if let customerId {
            conditions.append("customer_id = ?")
            values.append(.text(customerId))
        }
        if let before {
            conditions.append("id < ?")
            values.append(.integer(before))
        }
        values.append(.integer(Int64(limit)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let bound = values
        return try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM notification_deliveries \(filter) ORDER BY id DESC LIMIT ?", bound
            ).map(Self.delivery)
        }
    }

    public func delivery(id: Int64) async throws -> NotificationDelivery? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM notification_deliveries WHERE id = ?", [.integer(id)])
                .first.map(Self.delivery)
        }
    }

    public func delivery(idempotencyKey: String) async throws -> NotificationDelivery? {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM notification_deliveries WHERE idempotency_key = ?",
                [.text(idempotencyKey)]
            ).first.map(Self.delivery)
        }
    }

    /// The attempts at one delivery, first first.
    public func attempts(deliveryId: Int64) async throws -> [NotificationAttempt] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT attempt, worker, started_at, ended_at, outcome, http_status, error, latency_milliseconds
                FROM notification_attempts WHERE delivery_id = ? ORDER BY attempt
                """, [.integer(deliveryId)]
            ).map { row in
                NotificationAttempt(
                    attempt: Int(row[0].integer ?? 0), worker: row[1].text ?? "", startedAt: row[2].text ?? "",
                    endedAt: row[3].text ?? "", latencyMilliseconds: row[7].integer.map { Int($0) },
                    outcome: row[4].text ?? "", httpStatus: row[5].integer.map { Int($0) }, error: row[6].text)
            }
        }
    }

    /// How many deliveries are in each state.
    public func countsByState() async throws -> [DeliveryState: Int] {
        let rows = try await database.perform { connection in
            try connection.query("SELECT state, COUNT(*) FROM notification_deliveries GROUP BY state")
        }
        var counts: [DeliveryState: Int] = [:]
        for row in rows {
            if let state = row[0].text.flatMap(DeliveryState.init(rawValue:)) {
                counts[state] = Int(row[1].integer ?? 0)
            }
        }
        return counts
    }

    static let columns = """
        id, idempotency_key, ledger_sequence, event, customer_id, channel, recipient, language, body, state,
            attempt_count, next_attempt_at, claimed_by, claimed_until, provider_message_id, last_error, subject,
            hold_id, event_id, valid_until
        """

    static func delivery(_ row: [SQLValue]) -> NotificationDelivery {
        NotificationDelivery(
            id: row[0].integer ?? 0,
            message: NewNotification(
                idempotencyKey: row[1].text ?? "", ledgerSequence: row[2].integer ?? 0, event: row[3].text ?? "",
                customerId: row[4].text ?? "", channel: NotificationChannel(rawValue: row[5].text ?? "") ?? .sms,
                recipient: row[6].text ?? "", language: ContactLanguage(rawValue: row[7].text ?? "") ?? .bn,
                subject: row[16].text, body: row[8].text ?? "", holdId: row[17].text, eventId: row[18].integer,
                validUntil: row[19].text),
            state: DeliveryState(rawValue: row[9].text ?? "") ?? .pending, attemptCount: Int(row[10].integer ?? 0),
            nextAttemptAt: row[11].text ?? "", claimedBy: row[12].text, claimedUntil: row[13].text,
            providerMessageId: row[14].text, lastError: row[15].text)
    }
}

/// Retries with exponential backoff and jitter: attempt n waits between half and all of
/// `baseDelayMilliseconds × 2^(n-1)` (capped at `maxDelayMilliseconds`), so that deliveries that
/// failed together do not retry together; after `maxAttempts` a delivery is dead.
public struct RetryPolicy: Sendable, Equatable {
    public var baseDelayMilliseconds: UInt64
    public var maxDelayMilliseconds: UInt64
    public var maxAttempts: Int

    public init(baseDelayMilliseconds: UInt64 = 2_000, maxDelayMilliseconds: UInt64 = 3_600_000, maxAttempts: Int = 10)
    {
        precondition(baseDelayMilliseconds > 0 && maxDelayMilliseconds >= baseDelayMilliseconds && maxAttempts >= 1)
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.maxAttempts = maxAttempts
    }

    /// What to do after attempt `attempt` (1 for the first) failed with `error` at
    /// `nowNanoseconds`: retry later, or give up.
    public func afterFailure(
        attempt: Int, error: String, retryable: Bool, nowNanoseconds: UInt64,
        using generator: inout some RandomNumberGenerator
    ) -> AttemptOutcome {
        guard retryable, attempt < maxAttempts else {
            return .dead(error: retryable ? "gave up after \(attempt) attempts: \(error)" : error)
        }
        let (grown, overflowed) = baseDelayMilliseconds.multipliedReportingOverflow(by: 1 << min(attempt - 1, 40))
        let ceiling = overflowed ? maxDelayMilliseconds : min(maxDelayMilliseconds, grown)
        let delay = ceiling / 2 + UInt64.random(in: 0...(ceiling - ceiling / 2), using: &generator)
        return .retry(error: error, atNanoseconds: nowNanoseconds + delay * 1_000_000)
    }
}
