import ArgumentParser
import AsyncHTTPClient
import Bookings
import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import LedgerStorage
import Logging
import NIOCore
import Notifications
import Synchronization

/// `khata bench notify`: sending queued messages to a local HTTP sink, and reading the ledger's
/// log for what to send.
struct NotifyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Dispatch messages to a local SMS sink (messages/s); read a ledger's log for them (records/s).",
        discussion: """
            Dispatch: queues --messages SMS messages in a scratch job store (SQLite, or PostgreSQL \
            with --database-url), starts a Twilio-shaped HTTP sink on 127.0.0.1 in this process \
            (it answers 201 with a message id), and times the dispatcher sending them all with \
            --in-flight requests at once, each attempt recorded; on PostgreSQL also two \
            dispatchers sharing the queue, with their combined rate, checking that the sink saw \
            every message once. Deriving: makes a ledger of --reservations reservations (holds, \
            half of them captured), then times a full verification of its log (what khata check \
            reads), reading it for booking events (the notification job's first step, state \
            lookups included), recording those events in the job store, and a whole derivation \
            pass as the dispatch-notifications job runs it (each event made into an SMS and an \
            email for one of 1,000 customers, and queued), with the share of it spent waiting on \
            the job store. Figures are medians.
            """)

    @OptionGroup var store: BenchStoreOptions

    @Option(help: "Messages queued and sent per run.")
    var messages = 20_000

    @Option(help: "Requests in flight per dispatcher.")
    var inFlight = 64

    @Option(help: "Reservations in the ledger whose log is read (0: skip).")
    var reservations = 100_000

    @Option(help: "Runs; figures are medians.")
    var runs = 3

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard (1...10_000_000).contains(messages) else { throw ValidationError("--messages must be 1...10,000,000") }
        guard (1...1_024).contains(inFlight) else { throw ValidationError("--in-flight must be 1...1024") }
        guard (0...10_000_000).contains(reservations) else {
            throw ValidationError("--reservations must be 0...10,000,000")
        }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        let directory = try output.scratchDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (database, schema) = try await store.open(in: directory)
        defer { schema?.drop() }
        let backend = schema == nil ? "SQLite" : "PostgreSQL"
        let sink = SMSSink()
        let client = notificationHTTPClient(maximumInFlight: inFlight * 2)
        var result: [String: Any] = ["backend": backend.lowercased(), "messages": messages, "inFlight": inFlight]
        do {
            let (one, two) = try await sink.serving { port -> (Double, Double?) in
                let transport = TwilioTransport(
                    client: client, baseURL: "http://127.0.0.1:\(port)", accountId: "ACBENCH", authToken: "bench",
                    smsFrom: "+15005550006", whatsappFrom: nil, statusCallbackURL: nil, timeoutSeconds: 30)
                var single: [Double] = []
                var pair: [Double] = []
                for run in 0..<runs {
                    single.append(try await dispatch(database, transport, sink, prefix: "r\(run)", dispatchers: 1))
                    if schema != nil {
                        pair.append(try await dispatch(database, transport, sink, prefix: "p\(run)", dispatchers: 2))
                    }
                }
                return (
                    Double(messages) / ImportBenchCommand.median(single),
                    pair.isEmpty ? nil : Double(messages) / ImportBenchCommand.median(pair)
                )
            }
            result["dispatchPerSecond"] = one.rounded()
            var line =
                "dispatch (\(backend), \(inFlight) in flight), median of \(runs): "
                + "\(LedgerSession.grouped(Int(one))) messages/s"
            if let two {
                result["twoDispatchersPerSecond"] = two.rounded()
                line += "; two dispatchers sharing the queue: \(LedgerSession.grouped(Int(two))) messages/s"
            }
            if !output.json { print(line) }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        if reservations > 0 {
            let figures = try await derivation(directory: directory, database: database)
            result.merge(figures) { _, new in new }
            if !output.json {
                // Safe: derivation() sets these.
                let check = figures["checkRecordsPerSecond"] as! Double
                let read = figures["readRecordsPerSecond"] as! Double
                let scan = figures["scanRecordsPerSecond"] as! Double
                let record = figures["recordEventsPerSecond"] as! Double
                let derive = figures["deriveEventsPerSecond"] as! Double
                let storeShare = figures["deriveStoreShare"] as! Double
                print(
                    "log of \(LedgerSession.grouped(figures["logRecords"] as! Int)) records: verified as khata check "
                        + "does \(LedgerSession.grouped(Int(check)))/s; scanned for booking records "
                        + "\(LedgerSession.grouped(Int(scan)))/s (\(String(format: "%.2f", scan / check))× check); "
                        + "read for booking events with their outcomes from the state "
                        + "\(LedgerSession.grouped(Int(read)))/s (\(String(format: "%.2f", read / check))× check); "
                        + "\(LedgerSession.grouped(figures["events"] as! Int)) events recorded "
                        + "\(LedgerSession.grouped(Int(record)))/s; derived as the job does (read, recorded, "
                        + "two messages each made and queued) \(LedgerSession.grouped(Int(derive))) events/s, "
                        + "\(LedgerSession.grouped(Int(2 * derive))) messages/s, "
                        + "\(Int((storeShare * 100).rounded()))% of it waiting on the job store")
            }
        }
        if output.json { print(LedgerSession.jsonLine(result)) }
    }

    /// Queues the messages, sends them with `dispatchers` dispatchers at once, checks that every
    /// one reached the sink once and is accepted; answers the seconds the sending took.
    private func dispatch(
        _ database: JobDatabase, _ transport: TwilioTransport, _ sink: SMSSink, prefix: String, dispatchers: Int
    ) async throws -> Double {
        let queue = NotificationQueue(database: database)
        let now = Ledger.wallClockNanoseconds()
        for start in stride(from: 0, to: messages, by: 5_000) {
            try await queue.enqueue(
                (start..<min(start + 5_000, messages)).map { number in
                    NewNotification(
                        idempotencyKey: "\(prefix):\(number):payment_confirmed:sms", ledgerSequence: Int64(number + 1),
                        event: "payment_confirmed", customerId: "CUS-\(number)", channel: .sms,
                        recipient: "+8801770000618", language: .bn,
                        body: "বুকিং BK-\(number) নিশ্চিত হয়েছে। পেমেন্ট ৳1,500.00 পাওয়া গেছে।")
                }, at: now)
        }
        let before = sink.count(prefix: prefix)
        let start = DispatchTime.now().uptimeNanoseconds
        let outcomes = try await withThrowingTaskGroup(of: DispatchOutcome.self) { group in
            for number in 0..<dispatchers {
                var dispatcher = NotificationDispatcher(
                    database: database, transports: [.sms: transport], worker: "bench-\(number)",
                    clock: Ledger.wallClockNanoseconds)
                dispatcher.maximumInFlight = inFlight
                group.addTask { try await dispatcher.run() }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let accepted = outcomes.reduce(0) { $0 + $1.accepted }
        let seen = sink.count(prefix: prefix) - before
        guard accepted == messages, seen == messages, sink.repeats == 0 else {
            throw CommandFailure(
                "\(accepted) of \(messages) messages accepted, the sink saw \(seen) (\(sink.repeats) repeats)")
        }
        return seconds
    }

    /// The log's figures: verified, read for booking events, and the events recorded.
    private func derivation(directory: String, database: JobDatabase) async throws -> [String: Any] {
        let ledgerDirectory = directory + "/ledger"
        var configuration = LedgerConfiguration()
        configuration.storage.segmentSizeBytes = 64 << 20
        let ledger = try Ledger.open(directory: ledgerDirectory, configuration: configuration)
        do {
            try await Self.fill(ledger, reservations: reservations)
        } catch {
            ledger.close()
            throw error
        }
        let logRecords = Int(ledger.visibleSequence)
        var check: [Double] = []
        var scan: [Double] = []
        var read: [Double] = []
        var record: [Double] = []
        var derive: [Double] = []
        var storeQueue: [Double] = []
        var eventCount = 0
        try await Self.storeReservations(count: reservations, database)
        for run in 0..<runs {
            var start = DispatchTime.now().uptimeNanoseconds
            _ = try StoreVerifier.verify(directory: ledgerDirectory)
            check.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            // The scan alone: every committed event read back and the booking ones picked out.
            start = DispatchTime.now().uptimeNanoseconds
            var scanned: UInt64 = 0
            var candidates = 0
            while true {
                let (events, through) = try ledger.committedEvents(after: scanned, limit: 10_000)
                guard through > scanned else { break }
                for logged in events {
                    switch logged.event {
                    case .createTransfer(let transfer):
                        if transfer.code == BusinessCode.bookingPayment || transfer.flags.contains(.refund) {
                            candidates += 1
                        }
                    case .expirePending: candidates += 1
                    case .createAccount: break
                    }
                }
                scanned = through
            }
            scan.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard candidates == reservations + (reservations + 1) / 2 else {
                throw CommandFailure("the scan found \(candidates) booking records")
            }
            start = DispatchTime.now().uptimeNanoseconds
            var after: UInt64 = 0
            var found: [BookingEvent] = []
            while true {
                let page = try BookingEvents.read(from: ledger, after: after, limit: 10_000)
                guard page.through > after else { break }
                found += page.events
                after = page.through
            }
            read.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            eventCount = found.count
            let events = NotificationEvents(database: database)
            let cursor = "bench-\(run)"
            var position = try await events.startCursor(cursor, at: 0, nanoseconds: Ledger.wallClockNanoseconds())
            start = DispatchTime.now().uptimeNanoseconds
            for chunk in stride(from: 0, to: found.count, by: 5_000) {
                let slice = found[chunk..<min(chunk + 5_000, found.count)]
                let through = slice.last?.sequence ?? position
                try await events.record(
                    slice.map { event in
                        var stored = NewNotificationEvent(
                            key: event.key, event: event.kind, ledgerSequence: Int64(event.sequence),
                            holdId: String(event.holdId), amountMinor: Int64(event.amountMinor),
                            currency: event.currency,
                            occurredAt: UTCTime.text(nanoseconds: event.occurredAtNanoseconds),
                            windowEndsAt: UTCTime.text(nanoseconds: event.windowEndsAtNanoseconds))
                        // Each run records its own copies: the keys are unique in the store.
                        stored.key = "\(run):" + stored.key
                        return stored
                    }, cursor: cursor, from: position, through: through, nanoseconds: Ledger.wallClockNanoseconds())
                position = through
            }
            record.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            let (pass, store) = try await Self.derive(ledger, database, run: run, expected: found.count)
            derive.append(pass)
            storeQueue.append(store)
        }
        ledger.close()
        let records = Double(logRecords)
        return [
            "logRecords": logRecords, "events": eventCount,
            "checkRecordsPerSecond": records / ImportBenchCommand.median(check),
            "scanRecordsPerSecond": records / ImportBenchCommand.median(scan),
            "readRecordsPerSecond": records / ImportBenchCommand.median(read),
            "recordEventsPerSecond": Double(eventCount) / ImportBenchCommand.median(record),
            "deriveEventsPerSecond": Double(eventCount) / ImportBenchCommand.median(derive),
            "deriveMessagesPerSecond": Double(2 * eventCount) / ImportBenchCommand.median(derive),
            "deriveStoreShare": ImportBenchCommand.median(zip(storeQueue, derive).map { $0 / $1 }),
        ]
    }

    /// The reservations of `fill`'s holds as the API stores them, for 1,000 customers with a
    /// phone and an email each (so each event makes two messages).
    static func storeReservations(count: Int, _ database: JobDatabase) async throws {
        let now = UTCTime.text(nanoseconds: Ledger.wallClockNanoseconds())
        try await database.perform { connection in
            _ = try connection.bulkInsert(
                table: "reservations",
                columns: [
                    "booking_id", "hold_id", "payment_reference", "customer_id", "service_id", "provider", "currency",
                    "amount_minor", "customer_phone", "customer_email", "payment_window_seconds", "created_at",
                ], count: count
            ) { index, values in
                values += [
                    .text("BK-\(index + 1)"), .text(String(index + 1)), .text("PAY-\(index + 1)"),
                    .text("C-\(index % 1_000)"), .text("SVC-1"), .text("bkash"), .text("BDT"), .integer(150_000),
                    .text("+8801711\(String(100_000 + index % 1_000))"), .text("c\(index % 1_000)@example.com"),
                    .integer(1_800), .text(now),
                ]
            }
        }
        let contacts = Contacts(database: database)
        for customer in 0..<min(count, 1_000) {
            _ = try await contacts.save(
                Contact(
                    customerId: "C-\(customer)", phone: "+8801711\(100_000 + customer)",
                    email: "c\(customer)@example.com", language: customer % 2 == 0 ? .bn : .en),
                at: Ledger.wallClockNanoseconds())
        }
    }

    /// One derivation pass over the whole log into an empty queue, as the job runs it: booking
    /// events read and recorded, then their messages made (templates rendered for each
    /// customer's channels and language) and queued.
    /// Answers its seconds, and the seconds of them it waited on the job store.
    static func derive(_ ledger: Ledger, _ database: JobDatabase, run: Int, expected: Int) async throws -> (
        pass: Double, store: Double
    ) {
        let tables = ["notification_attempts", "notification_deliveries", "notification_events"]
        try await database.perform { connection in
            // PostgreSQL checks each deleted event against the deliveries' unindexed reference to
            // it, row by row; TRUNCATE empties the three at once.
            if database.dialect == .postgres {
                _ = try connection.run("TRUNCATE " + tables.joined(separator: ", "), [])
                return
            }
            try connection.transaction {
                for table in tables { _ = try connection.run("DELETE FROM \(table)", []) }
            }
        }
        var deriver = NotificationDeriver(
            ledger: LocalLedger(ledger: ledger), database: database, templates: try MessageTemplates())
        deriver.cursorName = "derive-\(run)"
        deriver.eventsPerPass = expected
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try await deriver.run(now: Ledger.wallClockNanoseconds(), startSequence: 0)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard outcome.eventsQueued == expected, outcome.messagesQueued == 2 * expected else {
            throw CommandFailure(
                "the derivation queued \(outcome.eventsQueued) events and \(outcome.messagesQueued) messages "
                    + "of \(expected) events")
        }
        return (seconds, Double(outcome.storeNanoseconds) / 1e9)
    }

    /// `count` reservations' holds (code booking payment, 30-minute windows), every other one
    /// captured, in batches of 1,000.
    static func fill(_ ledger: Ledger, reservations count: Int) async throws {
        let clearing = NewAccount.derivedId(forKey: "provider:bkash:clearing")
        let merchant = NewAccount.derivedId(forKey: "merchant:SVC-1")
        _ = try await ledger.submit([
            .createAccount(NewAccount(id: clearing, key: "provider:bkash:clearing", currency: .bdt)),
            .createAccount(NewAccount(id: merchant, key: "merchant:SVC-1", currency: .bdt)),
        ])
        for start in stride(from: 0, to: count, by: 1_000) {
            let range = start..<min(start + 1_000, count)
            let holds = range.map { number in
                Event.createTransfer(
                    NewTransfer(
                        id: UInt128(number + 1), debitAccountId: clearing, creditAccountId: merchant,
                        amountMinor: 150_000, timeoutSeconds: 1_800, code: BusinessCode.bookingPayment, flags: .pending)
                )
            }
            let captures = range.filter { $0 % 2 == 0 }.map { number in
                Event.createTransfer(
                    NewTransfer(
                        id: UInt128(10_000_000 + number + 1), debitAccountId: 0, creditAccountId: 0, amountMinor: 0,
                        pendingId: UInt128(number + 1), code: BusinessCode.bookingPayment, flags: .postPending))
            }
            let results = try await ledger.submit(holds) + (try await ledger.submit(captures))
            guard results.allSatisfy({ $0.code == .ok }) else {
                throw CommandFailure("the bench ledger refused a transfer: \(results.first { $0.code != .ok }!.code)")
            }
        }
    }
}

/// A Twilio-shaped SMS API on 127.0.0.1 for the benchmark: it answers every message 201 with an
/// id, and counts what it saw by idempotency key.
final class SMSSink: Sendable {
    private let seen = Mutex<[String: Int]>([:])

    /// Messages seen whose key starts with `prefix`.
    func count(prefix: String) -> Int { seen.withLock { $0.keys.count { $0.hasPrefix(prefix) } } }

    /// Keys seen more than once.
    var repeats: Int { seen.withLock { $0.values.count { $0 > 1 } } }

    /// Serves while `body` runs, handing it the port.
    func serving<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let router = Router()
        let tokenField = HTTPField.Name("I-Twilio-Idempotency-Token")!
        router.post("/2010-04-01/Accounts/{account}/Messages.json") { [self] request, _ -> Response in
            let key = request.headers[tokenField] ?? ""
            seen.withLock { $0[key, default: 0] += 1 }
            var buffer = ByteBuffer()
            buffer.writeString("{\"sid\": \"SM\(key.utf8.count)\", \"status\": \"queued\"}")
            return Response(
                status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
        }
        return try await LocalHTTPServer.serving(router, name: "the SMS sink", body)
    }
}
