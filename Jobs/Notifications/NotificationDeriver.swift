import Bookings
import JobStore
import LedgerAccess
import LedgerCore
import Scheduler

/// What one pass of the deriver did.
public struct DerivationOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Log records read, and the sequence read through.
    public var recordsRead: UInt64 = 0
    public var through: UInt64 = 0
    /// Booking events found, and how many of them were new (not recorded before).
    public var eventsFound = 0
    public var eventsRecorded = 0
    /// Events whose messages were queued, and the messages.
    public var eventsQueued = 0
    public var messagesQueued = 0
    /// Events still waiting for the reservation's details or the customer's contact.
    public var eventsWaiting = 0
    /// Events given up (dead letters), nothing sent.
    public var eventsDead = 0
    /// How long the pass waited on the job store (its reads and writes), in nanoseconds: the
    /// rest is reading the ledger and making the messages.
    public var storeNanoseconds: UInt64 = 0

    public init() {}

    public var description: String {
        "read \(recordsRead) log records through \(through): \(eventsFound) booking events (\(eventsRecorded) new); "
            + "\(eventsQueued) events queued \(messagesQueued) messages, \(eventsWaiting) waiting, "
            + "\(eventsDead) dead"
    }
}

/// Turns committed ledger events into queued messages, in two durable steps:
///
/// 1. **Reading the log.** From its cursor in the job store, in log order, it reads what
///    happened to reservations (`LedgerAccess.bookingEvents`) and records the events and the
///    cursor's new position in one transaction. A crash before it leaves the cursor where it was
///    (the stretch is read again); after it, everything read is recorded. An event's key is its
///    identity (`<subject sequence>:<event>`), so reading a stretch twice records nothing twice.
///    A cursor that does not exist yet starts at the end of the log (a ledger with history
///    does not tell its customers about the past) unless `startSequence` says where.
/// 2. **Making the messages.** Each recorded event waits until its reservation's details and
///    its customer's contact are stored (they are written after the hold is durable), then
///    becomes one message per channel the customer is reached on, queued with the event marked
///    done in one transaction. An event still without them after `contactWaitSeconds` is a dead
///    letter with the reason; none is dropped silently.
public struct NotificationDeriver: Sendable {
    public let ledger: any LedgerAccess
    public let database: JobDatabase
    public let templates: MessageTemplates
    /// The cursor's name in the job store.
    public var cursorName = "notifications"
    /// How long an event waits for its reservation's details and contact before it is dead.
    public var contactWaitSeconds = 900
    /// Log records read per call to the ledger.
    public var recordsPerRead = 10_000
    /// Events made into messages per pass.
    public var eventsPerPass = 10_000

    public init(ledger: any LedgerAccess, database: JobDatabase, templates: MessageTemplates) {
        self.ledger = ledger
        self.database = database
        self.templates = templates
    }

    /// One pass at `now` (nanoseconds since the Unix epoch): reads the log to its end, then makes
    /// the messages of the events that are due. `startSequence` places a cursor that does not
    /// exist yet (0 for the beginning of the log).
    public func run(now: UInt64, startSequence: UInt64? = nil, shouldStop: @Sendable () -> Bool = { false })
        async throws -> DerivationOutcome
    {
        var outcome = DerivationOutcome()
        try await read(now: now, startSequence: startSequence, shouldStop: shouldStop, into: &outcome)
        try await makeMessages(now: now, shouldStop: shouldStop, into: &outcome)
        return outcome
    }

    /// Step 1: the log, from the cursor to its end.
    func read(now: UInt64, startSequence: UInt64?, shouldStop: () -> Bool, into outcome: inout DerivationOutcome)
        async throws
    {
        let events = NotificationEvents(database: database)
        var cursor: UInt64
        if let stored = try await events.cursor(cursorName) {
            cursor = stored
        } else {
            let start: UInt64
            if let startSequence { start = startSequence } else { start = try await ledger.logEnd() }
            cursor = try await events.startCursor(cursorName, at: start, nanoseconds: now)
        }
        outcome.through = cursor
        while !shouldStop() {
            let page = try await ledger.bookingEvents(after: cursor, limit: recordsPerRead)
            guard page.through > cursor else { break }
            let found = page.events.map(Self.recorded)
            outcome.eventsRecorded += try await inStore(&outcome) {
                try await events.record(
                    found, cursor: cursorName, from: cursor, through: page.through, nanoseconds: now)
            }
            outcome.eventsFound += found.count
            outcome.recordsRead += page.through - cursor
            cursor = page.through
            outcome.through = cursor
        }
    }

    /// Step 2: the messages of the waiting events that are due, a chunk at a time: the chunk's
    /// reservations and contacts are read with one query each, and its messages queued in one
    /// transaction, so that making messages costs the store a few statements per chunk.
    func makeMessages(now: UInt64, shouldStop: () -> Bool, into outcome: inout DerivationOutcome) async throws {
        let events = NotificationEvents(database: database)
        let due = try await inStore(&outcome) { try await events.due(limit: eventsPerPass, nanoseconds: now) }
        for start in stride(from: 0, to: due.count, by: Self.eventsPerChunk) {
            if shouldStop() { break }
            try await makeMessages(
                of: due[start..<min(start + Self.eventsPerChunk, due.count)], now: now, into: &outcome)
        }
    }

    /// Waiting events whose messages are made together.
    public static let eventsPerChunk = 500

    private func makeMessages(
        of chunk: ArraySlice<StoredNotificationEvent>, now: UInt64, into outcome: inout DerivationOutcome
    ) async throws {
        let events = NotificationEvents(database: database)
        let (records, contacts) = try await inStore(&outcome) {
            let records = try await ReservationRecords(database: database).reservations(
                holdIds: chunk.compactMap { TextRules.id($0.event.holdId) })
            return (
                records, try await Contacts(database: database).contacts(customerIds: records.values.map(\.customerId))
            )
        }
        var ready: [EventMessages] = []
        for stored in chunk {
            let event = stored.event
            let record = TextRules.id(event.holdId).flatMap { records[$0] }
            let contact = record.flatMap { contacts[$0.customerId] }
            guard let record, let contact else {
                let missing =
                    record == nil
                    ? "no reservation details are stored for hold \(event.holdId)"
                    : "no contact is stored for customer \(record?.customerId ?? "")"
                let age = now.subtractingReportingOverflow(UTCTime.nanoseconds(stored.createdAt) ?? now).partialValue
                if age >= UInt64(contactWaitSeconds) * 1_000_000_000 {
                    try await inStore(&outcome) {
                        try await events.deadLetter(
                            id: stored.id, reason: "\(missing) after waiting \(contactWaitSeconds) s", nanoseconds: now)
                    }
                    outcome.eventsDead += 1
                } else {
                    // Soon at first (the details follow the hold within moments), then less often.
                    let delaySeconds = UInt64(min(60, 1 << min(stored.tries, 6)))
                    try await inStore(&outcome) {
                        try await events.postpone(
                            id: stored.id, reason: missing, untilNanoseconds: now + delaySeconds * 1_000_000_000,
                            nanoseconds: now)
                    }
                    outcome.eventsWaiting += 1
                }
                continue
            }
            let messages = Self.channels(for: contact).compactMap { channel in
                message(stored, record: record, contact: contact, channel: channel)
            }
            let note = messages.isEmpty ? "the customer is opted out of every channel they have an address for" : nil
            ready.append(EventMessages(eventId: stored.id, messages: messages, note: note))
        }
        let queued = try await inStore(&outcome) { try await events.queue(ready, nanoseconds: now) }
        for item in ready where queued.contains(item.eventId) {
            outcome.eventsQueued += 1
            outcome.messagesQueued += item.messages.count
        }
    }

    /// The channels a customer hears on: the one they prefer (SMS unless they said otherwise),
    /// or the first other one they accept when they opted out of it; and email besides, as their
    /// receipt, when they have an address and did not opt out. Each only with an address.
    public static func channels(for contact: Contact) -> [NotificationChannel] {
        let usable = NotificationChannel.personal.filter { contact.accepts($0) && contact.address(for: $0) != nil }
        let preferred = contact.preferredChannel ?? .sms
        var chosen: [NotificationChannel] = []
        if usable.contains(preferred) {
            chosen.append(preferred)
        } else if let other = usable.first {
            chosen.append(other)
        }
        if usable.contains(.email) && !chosen.contains(.email) { chosen.append(.email) }
        return chosen
    }

    /// The message of `stored` on `channel`, or nil when the customer has no address there.
    func message(
        _ stored: StoredNotificationEvent, record: ReservationRecord, contact: Contact, channel: NotificationChannel
    ) -> NewNotification? {
        guard let recipient = contact.address(for: channel) else { return nil }
        let event = stored.event
        // Safe fallback: the currency was the reservation's, which the API accepted.
        let currency = Currency(code: record.currency) ?? Currency(code: "BDT")!
        let provider = Provider(pathName: record.provider)?.displayName ?? record.provider
        let values = MessageValues(
            bookingId: record.bookingId, paymentReference: record.paymentReference,
            amount: Amount(minorUnits: UInt64(clamping: record.amountMinor)).shown(in: currency),
            refundAmount: event.event == .refunded
                ? Amount(minorUnits: UInt64(clamping: event.amountMinor)).shown(in: currency) : "",
            provider: provider, deadline: Self.dhakaTime(event.windowEndsAt))
        let rendered = templates.render(event.event, channel, contact.language, values)
        return NewNotification(
            idempotencyKey: event.key + ":" + channel.rawValue, ledgerSequence: event.ledgerSequence,
            event: event.event.rawValue, customerId: record.customerId, channel: channel, recipient: recipient,
            language: contact.language, subject: rendered.subject, body: rendered.body, holdId: event.holdId,
            eventId: stored.id, validUntil: event.event == .reservationCreated ? event.windowEndsAt : nil)
    }

    /// A booking event as the job store records it.
    static func recorded(_ event: BookingEvent) -> NewNotificationEvent {
        NewNotificationEvent(
            key: event.key, event: event.kind, ledgerSequence: Int64(clamping: event.sequence),
            holdId: String(event.holdId), amountMinor: Int64(clamping: event.amountMinor), currency: event.currency,
            occurredAt: UTCTime.text(nanoseconds: event.occurredAtNanoseconds),
            windowEndsAt: UTCTime.text(nanoseconds: event.windowEndsAtNanoseconds))
    }

    /// A stored UTC time as the customer reads it: `2026-12-01 14:35` in Asia/Dhaka.
    static func dhakaTime(_ utc: String) -> String {
        guard let nanoseconds = UTCTime.nanoseconds(utc) else { return utc }
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let local = seconds + Int64(ScheduleZone.dhaka.offsetSeconds(atUnix: seconds))
        let day = CivilDate(daysSinceEpoch: Int(local / 86_400))
        let minuteOfDay = Int(local % 86_400) / 60
        let hours = minuteOfDay / 60
        let minutes = minuteOfDay % 60
        return "\(day) \(hours < 10 ? "0" : "")\(hours):\(minutes < 10 ? "0" : "")\(minutes)"
    }
}

/// Runs a call to the job store, adding how long it took to `outcome.storeNanoseconds`.
private func inStore<T>(_ outcome: inout DerivationOutcome, _ call: () async throws -> T) async throws -> T {
    let clock = ContinuousClock()
    let start = clock.now
    defer {
        let elapsed = start.duration(to: clock.now).components
        outcome.storeNanoseconds +=
            UInt64(max(0, elapsed.seconds)) * 1_000_000_000
            + UInt64(max(0, elapsed.attoseconds) / 1_000_000_000)
    }
    return try await call()
}
