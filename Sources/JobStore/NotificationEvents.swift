/// A ledger event a customer is to be told about, as the notification job records it when it
/// reads the log.
public struct NewNotificationEvent: Sendable, Equatable {
    /// `<subject sequence>:<event>`: the event's identity, whichever log record made it happen.
    public var key: String
    public var event: NotificationEvent
    /// The log sequence of the record that made it happen.
    public var ledgerSequence: Int64
    /// The reservation's hold, as text.
    public var holdId: String
    public var amountMinor: Int64
    public var currency: String
    /// When it happened and when the reservation's window closes(d), UTC (`UTCTime`).
    public var occurredAt: String
    public var windowEndsAt: String

    public init(
        key: String, event: NotificationEvent, ledgerSequence: Int64, holdId: String, amountMinor: Int64,
        currency: String, occurredAt: String, windowEndsAt: String
    ) {
        self.key = key
        self.event = event
        self.ledgerSequence = ledgerSequence
        self.holdId = holdId
        self.amountMinor = amountMinor
        self.currency = currency
        self.occurredAt = occurredAt
        self.windowEndsAt = windowEndsAt
    }
}

/// Where a recorded event stands.
public enum NotificationEventState: String, Sendable, CaseIterable {
    /// Its messages are not made yet: the reservation's details or the customer's contact are
    /// not stored yet (they are written after the hold is durable), so it is tried again.
    case waiting
    /// Its messages are queued (none when the customer opted out of every channel: `reason` says).
    case queued
    /// Given up: `reason` says why (no contact within the wait). Nothing was sent.
    case dead
}

/// A recorded event.
public struct StoredNotificationEvent: Sendable, Equatable {
    public var id: Int64
    public var event: NewNotificationEvent
    public var state: NotificationEventState
    public var tries: Int
    public var nextTryAt: String
    public var reason: String?
    public var createdAt: String
}

/// The notification job's reading of the ledger did not move its cursor: another reader moved it
/// first (two jobs at once), and nothing was recorded.
public struct NotificationCursorMoved: Error, CustomStringConvertible, Sendable {
    public let name: String
    public let expected: UInt64
    public var description: String {
        "the ledger cursor \(name) is no longer at \(expected): another reader moved it; nothing was recorded"
    }
}

/// The events the notification job read from the ledger, and where in the log it has read to (a
/// cursor per reader name). Recording a stretch of events and moving the cursor past it is one
/// transaction, so that a crash anywhere neither loses an event nor records one twice (and an
/// event's key is unique besides).
public struct NotificationEvents: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// The log sequence the cursor `name` has read through, nil before its first read.
    public func cursor(_ name: String) async throws -> UInt64? {
        try await database.perform { connection in
            try connection.query("SELECT position FROM ledger_cursors WHERE name = ?", [.text(name)]).first?.first?
                .integer.map { UInt64($0) }
        }
    }

    /// Sets the cursor `name` to `position` unless it has one; answers where it stands.
    public func startCursor(_ name: String, at position: UInt64, nanoseconds: UInt64) async throws -> UInt64 {
        precondition(position <= UInt64(Int64.max), "a log sequence fits 63 bits")
        return try await database.perform { connection in
            try connection.transaction {
                try connection.run(
                    """
                    INSERT INTO ledger_cursors (name, position, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO NOTHING
                    """,
                    [.text(name), .integer(Int64(position)), .text(UTCTime.text(nanoseconds: nanoseconds))])
                // Safe: the row was inserted above if it was missing.
                let stored = try connection.query("SELECT position FROM ledger_cursors WHERE name = ?", [.text(name)])
                return UInt64(stored.first?.first?.integer ?? 0)
            }
        }
    }

    /// Records `events` (skipping any whose key is recorded) and moves the cursor `name` from
    /// `from` to `through`, in one transaction. Throws `NotificationCursorMoved`, recording
    /// nothing, when the cursor is not at `from`. Answers how many events were new.
    @discardableResult
    public func record(
        _ events: [NewNotificationEvent], cursor name: String, from: UInt64, through: UInt64, nanoseconds: UInt64
    ) async throws -> Int {
        precondition(through >= from && through <= UInt64(Int64.max), "a cursor moves forward within 63 bits")
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.transaction {
                let moved = try connection.run(
                    "UPDATE ledger_cursors SET position = ?, updated_at = ? WHERE name = ? AND position = ?",
                    [.integer(Int64(through)), .text(now), .text(name), .integer(Int64(from))])
                guard moved == 1 else { throw NotificationCursorMoved(name: name, expected: from) }
                var inserted = 0
                // Many rows to a statement: one round trip to PostgreSQL for each hundred events.
                for start in stride(from: 0, to: events.count, by: 100) {
                    let chunk = events[start..<min(start + 100, events.count)]
                    var values: [SQLValue] = []
                    values.reserveCapacity(chunk.count * 11)
                    for event in chunk {
                        values += [
                            .text(event.key), .text(event.event.rawValue), .integer(event.ledgerSequence),
                            .text(event.holdId), .integer(event.amountMinor), .text(event.currency),
                            .text(event.occurredAt), .text(event.windowEndsAt), .text(now), .text(now), .text(now),
                        ]
                    }
                    let row = "(?, ?, ?, ?, ?, ?, ?, ?, 'waiting', 0, ?, ?, ?)"
                    inserted += try connection.run(
                        """
                        INSERT INTO notification_events (event_key, event, ledger_sequence, hold_id, amount_minor,
                            currency, occurred_at, window_ends_at, state, tries, next_try_at, created_at, updated_at)
                        VALUES \(Array(repeating: row, count: chunk.count).joined(separator: ", "))
                        ON CONFLICT (event_key) DO NOTHING
                        """, values)
                }
                return inserted
            }
        }
    }

    /// Up to `limit` waiting events due at `nanoseconds`, in log order.
    public func due(limit: Int, nanoseconds: UInt64) async throws -> [StoredNotificationEvent] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT \(Self.columns) FROM notification_events
                WHERE state = 'waiting' AND next_try_at <= ? ORDER BY ledger_sequence, id LIMIT ?
                """, [.text(UTCTime.text(nanoseconds: nanoseconds)), .integer(Int64(limit))]
            ).map(Self.event)
        }
    }

    /// The event with this id.
    public func event(id: Int64) async throws -> StoredNotificationEvent? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM notification_events WHERE id = ?", [.integer(id)])
                .first.map(Self.event)
        }
    }

    /// The events recorded for a reservation's hold, in log order.
    public func events(holdId: String) async throws -> [StoredNotificationEvent] {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM notification_events WHERE hold_id = ? ORDER BY ledger_sequence, id",
                [.text(holdId)]
            ).map(Self.event)
        }
    }

    /// Queues the messages of waiting event `id` and marks it queued, with `note` (why there are
    /// none, when there are none), in one transaction; an event no longer waiting changes
    /// nothing (answers false). A reminder to pay that is still pending for the same hold is
    /// dropped as `expired` once the reservation is confirmed, cancelled or expired, or once its
    /// own validity has passed, so that it is never sent late.
    @discardableResult
    public func queue(id: Int64, messages: [NewNotification], note: String?, nanoseconds: UInt64) async throws -> Bool {
        try await queue([EventMessages(eventId: id, messages: messages, note: note)], nanoseconds: nanoseconds)
            .contains(id)
    }

    /// Queues several waiting events' messages (each as `queue(id:…)` does) in one transaction,
    /// with a few statements for them all: the events moved by one update per note, their
    /// messages inserted many to a statement, the reminders their holds make stale dropped by
    /// one update. Answers the ids of the events queued (an event no longer waiting is left).
    public func queue(_ batch: [EventMessages], nanoseconds: UInt64) async throws -> Set<Int64> {
        for item in batch { try NotificationQueue.check(item.messages) }
        guard !batch.isEmpty else { return [] }
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.transaction {
                var queued: Set<Int64> = []
                var holds: Set<String> = []
                let byNote = Dictionary(grouping: batch) { $0.note ?? "" }
                for (note, items) in byNote {
                    for start in stride(from: 0, to: items.count, by: 500) {
                        let chunk = items[start..<min(start + 500, items.count)]
                        let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                        let moved = try connection.query(
                            """
                            UPDATE notification_events SET state = 'queued', tries = tries + 1, reason = ?,
                                updated_at = ?
                            WHERE state = 'waiting' AND id IN (\(marks))
                            RETURNING id, hold_id
                            """, [note.isEmpty ? .null : .text(note), .text(now)] + chunk.map { .integer($0.eventId) })
                        for row in moved {
                            if let id = row[0].integer { queued.insert(id) }
                            if let hold = row[1].text { holds.insert(hold) }
                        }
                    }
                }
                let messages = batch.filter { queued.contains($0.eventId) }.flatMap(\.messages)
                _ = try NotificationQueue.insert(messages, connection, at: nanoseconds)
                try Self.expireReminders(holds: Array(holds), connection, now: now)
                return queued
            }
        }
    }

    /// Drops the still-pending reminders to pay of `holds` whose reservation is settled one way
    /// or another, or whose validity has passed, recording why on each. The holds' index finds
    /// them: the state is compared as an expression so that SQLite cannot choose the due index
    /// instead, which would read every pending delivery.
    static func expireReminders(holds: [String], _ connection: any DatabaseConnection, now: String) throws {
        for start in stride(from: 0, to: holds.count, by: 500) {
            let chunk = holds[start..<min(start + 500, holds.count)]
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            try connection.run(
                """
                UPDATE notification_deliveries SET state = 'expired', updated_at = ?,
                    last_error = CASE WHEN valid_until IS NOT NULL AND valid_until <= ?
                        THEN 'the payment window closed before it was sent'
                        ELSE 'the reservation was confirmed, cancelled or expired before it was sent' END
                WHERE hold_id IN (\(marks)) AND event = 'reservation_created' AND state || '' = 'pending'
                    AND ((valid_until IS NOT NULL AND valid_until <= ?) OR EXISTS (
                        SELECT 1 FROM notification_events e WHERE e.hold_id = notification_deliveries.hold_id
                            AND e.event IN ('payment_confirmed', 'cancelled', 'expired')))
                """, [.text(now), .text(now)] + chunk.map(SQLValue.text) + [.text(now)])
        }
    }

    /// Tries waiting event `id` again at `untilNanoseconds`, noting why it waits.
    public func postpone(id: Int64, reason: String, untilNanoseconds: UInt64, nanoseconds: UInt64) async throws {
        try await database.perform { connection in
            try connection.run(
                """
                UPDATE notification_events SET tries = tries + 1, next_try_at = ?, reason = ?, updated_at = ?
                WHERE id = ? AND state = 'waiting'
                """,
                [
                    .text(UTCTime.text(nanoseconds: untilNanoseconds)), .text(reason),
                    .text(UTCTime.text(nanoseconds: nanoseconds)), .integer(id),
                ])
        }
    }

    /// Gives up waiting event `id`, with why: a dead letter a person can see (nothing was sent).
    public func deadLetter(id: Int64, reason: String, nanoseconds: UInt64) async throws {
        try await database.perform { connection in
            try connection.run(
                """
                UPDATE notification_events SET state = 'dead', tries = tries + 1, reason = ?, updated_at = ?
                WHERE id = ? AND state = 'waiting'
                """, [.text(reason), .text(UTCTime.text(nanoseconds: nanoseconds)), .integer(id)])
        }
    }

    /// The events given up, newest first, at most `limit`.
    public func dead(limit: Int) async throws -> [StoredNotificationEvent] {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.columns) FROM notification_events WHERE state = 'dead' ORDER BY id DESC LIMIT ?",
                [.integer(Int64(limit))]
            ).map(Self.event)
        }
    }

    /// How many events are in each state.
    public func countsByState() async throws -> [NotificationEventState: Int] {
        let rows = try await database.perform { connection in
            try connection.query("SELECT state, COUNT(*) FROM notification_events GROUP BY state")
        }
        var counts: [NotificationEventState: Int] = [:]
        for row in rows {
            if let state = row[0].text.flatMap(NotificationEventState.init(rawValue:)) {
                counts[state] = Int(row[1].integer ?? 0)
            }
        }
        return counts
    }

    static let columns = """
        id, event_key, event, ledger_sequence, hold_id, amount_minor, currency, occurred_at, window_ends_at, state,
            tries, next_try_at, reason, created_at
        """

    static func event(_ row: [SQLValue]) -> StoredNotificationEvent {
        StoredNotificationEvent(
            id: row[0].integer ?? 0,
            event: NewNotificationEvent(
                key: row[1].text ?? "", event: NotificationEvent(rawValue: row[2].text ?? "") ?? .reservationCreated,
                ledgerSequence: row[3].integer ?? 0, holdId: row[4].text ?? "", amountMinor: row[5].integer ?? 0,
                currency: row[6].text ?? "", occurredAt: row[7].text ?? "", windowEndsAt: row[8].text ?? ""),
            state: NotificationEventState(rawValue: row[9].text ?? "") ?? .waiting, tries: Int(row[10].integer ?? 0),
            nextTryAt: row[11].text ?? "", reason: row[12].text, createdAt: row[13].text ?? "")
    }
}

/// A waiting event's messages, made and ready to queue, with a note when there are none.
public struct EventMessages: Sendable {
    public var eventId: Int64
    public var messages: [NewNotification]
    public var note: String?

    public init(eventId: Int64, messages: [NewNotification], note: String?) {
        self.eventId = eventId
        self.messages = messages
        self.note = note
    }
}
