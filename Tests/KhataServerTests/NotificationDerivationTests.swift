import Bookings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONInput
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import Notifications
import TestSupport
import Testing

/// Notifications derived from the committed log: each thing that happened to a reservation is
/// found once (retried and refused requests are in the log too), alike in process and over HTTP,
/// and becomes messages once its customer's contact is stored, or a dead letter with the reason.
@Suite("Notifications derived from the ledger")
struct NotificationDerivationTests {
    /// A day of one customer's reservations through the API: BK-1 made (and its request
    /// retried), confirmed (twice), refunded in part; BK-2 made and cancelled; BK-3 made with a
    /// one-minute window, let expire (expired twice), then confirmed too late (refused).
    static func playDay(_ server: TestServer) async throws {
        let client = server.client
        try await ReservationTests.merchant(client)
        let first = try await ReservationTests.reserve(client, ReservationTests.reservation(booking: "BK-1"))
        let firstId = try #require(first["id"] as? String)
        try await client.execute(
            uri: "/v1/reservations", method: .post, body: ReservationTests.reservation(booking: "BK-1")
        ) { #expect($0.status == .ok) }
        for _ in 0..<2 {
            try await client.execute(
                uri: "/v1/reservations/\(firstId)/confirm", method: .post,
                body: ReservationTests.confirm(firstId, "T-1")
            ) { #expect($0.status == .ok) }
        }
        let capture = BookingIds(bookingId: "BK-1").confirmId
        try await client.execute(
            uri: "/v1/refunds", method: .post,
            body: APITests.json(#"{"id": "9001", "transferId": "\#(capture)", "amount": "250.00"}"#)
        ) { #expect($0.status == .created) }
        let second = try await ReservationTests.reserve(
            client, ReservationTests.reservation(booking: "BK-2", amount: "800.00"))
        let secondId = try #require(second["id"] as? String)
        try await client.execute(uri: "/v1/reservations/\(secondId)/cancel", method: .post) {
            #expect($0.status == .ok)
        }
        let third = try await ReservationTests.reserve(
            client, ReservationTests.reservation(booking: "BK-3", extra: #", "paymentWindowSeconds": 60"#))
        let thirdId = try #require(third["id"] as? String)
        server.clock.advance(seconds: 61)
        let holdId = try #require(TextRules.id(thirdId))
        let local = LocalLedger(ledger: server.ledger)
        #expect(try await local.expire([holdId]).map(\.code) == [.ok])
        #expect(try await local.expire([holdId]).map(\.code) == [.pendingExpired])
        try await client.execute(
            uri: "/v1/reservations/\(thirdId)/confirm", method: .post, body: ReservationTests.confirm(thirdId, "T-3")
        ) { #expect($0.status != .ok) }
    }

    @Test("each happening once, in log order, retries and refusals left out; the same over HTTP and in pages")
    func bookingEvents() async throws {
        try await TestServer.with { server in
            try await Self.playDay(server)
            let local = LocalLedger(ledger: server.ledger)
            let remote = try RemoteLedger(url: "http://127.0.0.1:\(server.port)", apiKey: server.client.key)
            do {
                let whole = try await local.bookingEvents(after: 0, limit: 100_000)
                #expect(whole.through == server.ledger.visibleSequence && whole.logEnd == whole.through)
                let holds = ["BK-1", "BK-2", "BK-3"].map { BookingIds(bookingId: $0).holdId }
                let expected: [(NotificationEvent, UInt128, UInt64)] = [
                    (.reservationCreated, holds[0], 150_000), (.paymentConfirmed, holds[0], 150_000),
                    (.refunded, holds[0], 25_000), (.reservationCreated, holds[1], 80_000),
                    (.cancelled, holds[1], 80_000), (.reservationCreated, holds[2], 150_000),
                    (.expired, holds[2], 150_000),
                ]
                #expect(whole.events.map(\.kind) == expected.map(\.0))
                #expect(whole.events.map(\.holdId) == expected.map(\.1))
                #expect(whole.events.map(\.amountMinor) == expected.map(\.2))
                #expect(Set(whole.events.map(\.key)).count == whole.events.count)
                #expect(whole.events.allSatisfy { $0.currency == "BDT" && $0.sequence > 0 })
                // An expiry's identity is its hold's.
                #expect(whole.events.last?.subjectSequence == whole.events[5].subjectSequence)
                #expect(try await remote.bookingEvents(after: 0, limit: 100_000) == whole)
                #expect(try await remote.logEnd() == whole.logEnd)
                // Read a few records at a time, the pages add up to the whole.
                var after: UInt64 = 0
                var paged: [BookingEvent] = []
                while true {
                    let page = try await remote.bookingEvents(after: after, limit: 3)
                    guard page.through > after else { break }
                    #expect(page.through - after <= 3)
                    paged += page.events
                    after = page.through
                }
                // An expiry is named by every expiry record of its hold: a later page may name it
                // again, with the same key, which the job store records once.
                var keys: Set<String> = []
                #expect(paged.filter { keys.insert($0.key).inserted } == whole.events)
                #expect(try await local.bookingEvents(after: whole.through, limit: 10).events.isEmpty)
            } catch {
                try await remote.shutdown()
                throw error
            }
            try await remote.shutdown()
            for query in ["after=-1", "after=x", "limit=0", "limit=100001", "after=99999999999999999999"] {
                try await server.client.execute(uri: "/v1/ledger/booking-events?\(query)", method: .get) {
                    #expect($0.status == .badRequest, "\(query)")
                }
            }
        }
    }

    @Test(
        "messages once per event and channel, a reminder to pay dropped once settled, the cursor crash-safe",
        arguments: Backend.available)
    func derivation(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(jobDatabase: database) { server in
            try await Self.playDay(server)
            let deriver = NotificationDeriver(
                ledger: LocalLedger(ledger: server.ledger), database: server.database,
                templates: try MessageTemplates())
            let first = try await deriver.run(now: server.clock.now, startSequence: 0)
            #expect(first.eventsFound == 7 && first.eventsRecorded == 7 && first.eventsQueued == 7)
            // The customer has a phone and an email, and prefers nothing: SMS, and email as the receipt.
            #expect(first.messagesQueued == 14 && first.eventsWaiting == 0 && first.eventsDead == 0)
            let again = try await deriver.run(now: server.clock.now)
            #expect(again.eventsRecorded == 0 && again.messagesQueued == 0 && again.recordsRead == 0)

            let queue = NotificationQueue(database: server.database)
            let events = NotificationEvents(database: server.database)
            let hold1 = String(BookingIds(bookingId: "BK-1").holdId)
            let recorded = try await events.events(holdId: hold1)
            #expect(recorded.map(\.event.event) == [.reservationCreated, .paymentConfirmed, .refunded])
            let refund = try #require(recorded.last)
            let sms = try #require(try await queue.delivery(idempotencyKey: refund.event.key + ":sms"))
            #expect(sms.message.recipient == "+8801770000618" && sms.message.language == .bn)
            #expect(sms.message.body.contains("BK-1") && sms.message.body.contains("৳250.00"), "\(sms.message.body)")
            let email = try #require(try await queue.delivery(idempotencyKey: refund.event.key + ":email"))
            #expect(email.message.recipient == "rahim@example.com" && email.message.subject?.isEmpty == false)
            #expect(email.state == .pending && email.message.eventId == refund.id)

            // The reminders to pay of the cancelled and the expired reservation are dropped, with why;
            // the confirmed one's too; none is left to be sent late.
            for booking in ["BK-1", "BK-2", "BK-3"] {
                let made = try #require(
                    try await events.events(holdId: String(BookingIds(bookingId: booking).holdId)).first)
                #expect(made.event.event == .reservationCreated)
                let reminder = try #require(try await queue.delivery(idempotencyKey: made.event.key + ":sms"))
                #expect(reminder.state == .expired && reminder.lastError?.contains("before it was sent") == true)
                #expect(reminder.message.validUntil == made.event.windowEndsAt)
            }

            // Another reader that moved the cursor first: nothing is recorded twice or lost.
            let position = try #require(try await events.cursor("notifications"))
            await #expect(throws: NotificationCursorMoved.self) {
                try await events.record(
                    [], cursor: "notifications", from: position - 1, through: position + 5,
                    nanoseconds: server.clock.now)
            }
            #expect(try await events.cursor("notifications") == position)

            // A new reader starts at the end of the log: the past is not told again.
            var fresh = deriver
            fresh.cursorName = "fresh"
            let late = try await fresh.run(now: server.clock.now)
            #expect(late.eventsFound == 0 && late.through == server.ledger.visibleSequence)
        }
    }

    @Test("an event without its reservation's details waits, then is a dead letter saying why")
    func missingContact() async throws {
        try await TestServer.with { server in
            try await ReservationTests.merchant(server.client)
            let deriver = NotificationDeriver(
                ledger: LocalLedger(ledger: server.ledger), database: server.database,
                templates: try MessageTemplates())
            #expect(try await deriver.run(now: server.clock.now).through == server.ledger.visibleSequence)
            // A hold made on the ledger alone: no reservation record, no contact.
            let clearing = try #require(server.ledger.account(key: "provider:bkash:clearing"))
            let merchant = try #require(server.ledger.account(key: "merchant:SVC-456"))
            let hold = NewTransfer(
                id: 77, debitAccountId: clearing.id, creditAccountId: merchant.id, amountMinor: 5_000,
                timeoutSeconds: 1_800, code: BusinessCode.bookingPayment, flags: .pending)
            #expect(try await server.ledger.submit([.createTransfer(hold)]).map(\.code) == [.ok])
            let waiting = try await deriver.run(now: server.clock.now)
            #expect(waiting.eventsRecorded == 1 && waiting.eventsWaiting == 1 && waiting.messagesQueued == 0)
            let events = NotificationEvents(database: server.database)
            let stored = try #require(try await events.events(holdId: "77").first)
            #expect(stored.state == .waiting && stored.reason == "no reservation details are stored for hold 77")
            // Not yet due again: nothing happens; due again within the wait: it waits more.
            #expect(try await deriver.run(now: server.clock.now).eventsWaiting == 0)
            server.clock.advance(seconds: 120)
            #expect(try await deriver.run(now: server.clock.now).eventsWaiting == 1)
            server.clock.advance(seconds: 900)
            let dead = try await deriver.run(now: server.clock.now)
            #expect(dead.eventsDead == 1)
            let given = try #require(try await events.event(id: stored.id))
            #expect(given.state == .dead && given.reason?.contains("after waiting 900 s") == true)
            #expect(try await events.countsByState() == [.dead: 1])
        }
    }
}
