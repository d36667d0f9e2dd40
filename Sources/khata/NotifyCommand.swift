import ArgumentParser
import Foundation
import JobStore
import Ledger
import LedgerAccess
import Notifications

/// `khata notify`: customers' messages by hand.
struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Customers' messages: send what is due, show the queue, retry a dead letter.",
        discussion: """
            Messages are made from what happened to reservations in the ledger (made, confirmed, \
            cancelled, expired, refunded), read in order from a cursor in the job store, and sent \
            through the transport configured for each channel (notifications.sms, .whatsapp, \
            .email, .webhook: twilio, sendgrid, webhook or outbox). The dispatch-notifications job \
            does the same every minute under khata serve. See docs/JOBS.md.
            """,
        subcommands: [Dispatch.self, Status.self, Retry.self])

    /// `khata notify dispatch`: one pass, by hand.
    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the ledger's new events into messages and send every message that is due.",
            discussion: """
                Without --ledger-url it opens the data directory's ledger (stop khata serve first); \
                with it, it reads the ledger owner's API with the key of the setting ledger.apiKey \
                (scope read). A reader that has never run starts at the end of the ledger's log, so \
                customers are not told about the past, unless --from-sequence says where. Exit \
                status 0 when the pass ran, whatever it sent; 1 when it could not run.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The ledger owner's base URL; default: the setting ledger.url.", valueName: "url"))
        var ledgerUrl: String?

        @Option(
            help: ArgumentHelp("PEM certificates of the authorities to trust for the ledger URL.", valueName: "file"))
        var ledgerCa: String?

        @Flag(help: "Allow a plain http:// ledger URL to another machine (a network you trust).")
        var allowPlainHttp = false

        @Option(help: "Where a reader that has never run starts in the log (0: the beginning); default: its end.")
        var fromSequence: UInt64?

        @Option(
            help: """
                The instant to dispatch at: ISO 8601 or Unix seconds (for replays and tests); time runs \
                on from it. Claims whose lease ended before it are taken over.
                """)
        var now: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.notify")
            _ = try NotificationPass.templates(settings)
            let database = try await settings.openJobDatabase()
            let wall = Ledger.wallClockNanoseconds()
            let now = try self.now.map(ExpireCommand.parseInstant) ?? wall
            // The clock runs on from --now: claims and retries keep their spacing.
            let offset = Int64(bitPattern: now &- wall)
            let clock: @Sendable () -> UInt64 = {
                UInt64(bitPattern: Int64(bitPattern: Ledger.wallClockNanoseconds()) &+ offset)
            }
            let outcome: (DerivationOutcome, DispatchOutcome)
            if let url = ledgerUrl ?? settings.ledgerURL {
                let remote = try RemoteLedger(
                    url: url, apiKey: settings.ledgerAPIKey ?? "", caCertificatePath: ledgerCa,
                    allowPlainHTTP: allowPlainHttp)
                do {
                    outcome = try await pass(settings, database, remote, now, clock)
                } catch {
                    try? await remote.shutdown()
                    throw error
                }
                try await remote.shutdown()
            } else {
                let ledger = try LedgerSession.open(settings)
                defer { ledger.close() }
                outcome = try await pass(
                    settings, database, LedgerSession.access(ledger, database: database), now, clock)
            }
            let (derived, sent) = outcome
            if json {
                print(
                    LedgerSession.jsonLine([
                        "logRecordsRead": Int(derived.recordsRead), "through": Int(derived.through),
                        "eventsFound": derived.eventsFound, "eventsRecorded": derived.eventsRecorded,
                        "eventsQueued": derived.eventsQueued, "messagesQueued": derived.messagesQueued,
                        "eventsWaiting": derived.eventsWaiting, "eventsDead": derived.eventsDead,
                        "claimed": sent.claimed, "delivered": sent.delivered, "accepted": sent.accepted,
                        "retried": sent.retried, "dead": sent.dead, "expired": sent.expired,
                    ]))
            } else {
                print("events: \(derived)")
                print("messages: \(sent)")
            }
        }

        private func pass(
            _ settings: Settings, _ database: JobDatabase, _ ledger: any LedgerAccess, _ now: UInt64,
            _ clock: @escaping @Sendable () -> UInt64
        ) async throws -> (DerivationOutcome, DispatchOutcome) {
            do {
                return try await NotificationPass.run(
                    settings, database: database, ledger: ledger, now: now, worker: NotificationPass.workerName,
                    startSequence: fromSequence, clock: clock)
            } catch let error as LedgerAccessError {
                throw CommandFailure("the ledger: \(error.message)")
            }
        }
    }

    /// `khata notify status`: the queue at a glance, and its dead letters.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How many messages are in each state; with --dead, the dead letters and why.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "List the dead letters: messages given up, and events that never became messages.")
        var dead = false

        @Option(help: "The most dead letters listed (newest first).")
        var limit = 50

        @Flag(help: "Print one JSON object (numbers whole).")
        var json = false

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1...10000") }
        }

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.notify")
            let database = try await settings.openJobDatabase()
            let queue = NotificationQueue(database: database)
            let events = NotificationEvents(database: database)
            let deliveries = try await queue.countsByState()
            let eventCounts = try await events.countsByState()
            let cursor = try await events.cursor("notifications")
            let deadMessages =
                dead ? try await queue.deliveries(state: .dead, customerId: nil, before: nil, limit: limit) : []
            let deadEvents = dead ? try await events.dead(limit: limit) : []
            if json {
                var object: [String: Any] = [
                    "messages": Dictionary(
                        uniqueKeysWithValues: DeliveryState.allCases.map { ($0.rawValue, deliveries[$0] ?? 0) }),
                    "events": Dictionary(
                        uniqueKeysWithValues: NotificationEventState.allCases.map {
                            ($0.rawValue, eventCounts[$0] ?? 0)
                        }),
                ]
                if let cursor { object["cursor"] = Int(cursor) }
                if dead {
                    object["deadMessages"] = deadMessages.map { delivery in
                        [
                            "id": Int(delivery.id), "idempotencyKey": delivery.message.idempotencyKey,
                            "channel": delivery.message.channel.rawValue,
                            "recipient": delivery.message.shownRecipient, "attempts": delivery.attemptCount,
                            "error": delivery.lastError ?? "",
                        ] as [String: Any]
                    }
                    object["deadEvents"] = deadEvents.map { event in
                        ["id": Int(event.id), "key": event.event.key, "reason": event.reason ?? ""] as [String: Any]
                    }
                }
                print(LedgerSession.jsonLine(object))
                return
            }
            print(
                "messages: "
                    + DeliveryState.allCases.map { "\(deliveries[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", "))
            print(
                "events: "
                    + NotificationEventState.allCases.map { "\(eventCounts[$0] ?? 0) \($0.rawValue)" }
                    .joined(separator: ", ") + "; the ledger read through sequence "
                    + (cursor.map(String.init) ?? "none yet"))
            guard dead else { return }
            if deadMessages.isEmpty && deadEvents.isEmpty { print("no dead letters") }
            for delivery in deadMessages {
                print(
                    "message \(delivery.id) \(delivery.message.idempotencyKey) to \(delivery.message.shownRecipient) "
                        + "after \(delivery.attemptCount) attempts: \(delivery.lastError ?? "")")
            }
            for event in deadEvents {
                print("event \(event.id) \(event.event.key): \(event.reason ?? "")")
            }
        }

    }

    /// `khata notify retry ID`: a dead letter sent again.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a dead (or provider-failed) message back in the queue, due now.",
            discussion: """
                It gets one more attempt, with the same idempotency key, the next time messages are \
                dispatched; if that fails too it is dead again. Exit status 1 when there is no such \
                message or it is not dead or failed.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The message's id (khata notify status --dead lists them).")
        var id: Int64

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.notify")
            let queue = NotificationQueue(database: try await settings.openJobDatabase())
            guard let delivery = try await queue.delivery(id: id) else {
                throw CommandFailure("there is no message \(id)")
            }
            guard try await queue.requeue(id: id, at: Ledger.wallClockNanoseconds()) else {
                throw CommandFailure(
                    "message \(id) is \(delivery.state.rawValue), not dead or failed; only those are retried by hand")
            }
            print("message \(id) (\(delivery.message.idempotencyKey)) is due again")
        }
    }
}
