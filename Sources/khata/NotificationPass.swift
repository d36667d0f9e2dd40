import AsyncHTTPClient
import Foundation
import JobStore
import Ledger
import LedgerAccess
import Notifications

/// One pass of the notification work: the ledger's new events read and made into messages, then
/// every due message sent. What the `dispatch-notifications` job and `khata notify dispatch` do.
enum NotificationPass {
    /// The templates of `settings`: a bad override stops the caller with the file's name.
    static func templates(_ settings: Settings) throws -> MessageTemplates {
        do {
            return try MessageTemplates(overridesFolder: settings.notifications.templatesFolder)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Runs the pass at `now` as `worker`, claims and retries timed by `clock`; `startSequence`
    /// places a cursor that does not exist yet.
    static func run(
        _ settings: Settings, database: JobDatabase, ledger: any LedgerAccess, now: UInt64, worker: String,
        startSequence: UInt64? = nil, clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) async throws -> (DerivationOutcome, DispatchOutcome) {
        var deriver = NotificationDeriver(ledger: ledger, database: database, templates: try templates(settings))
        deriver.contactWaitSeconds = settings.notifications.contactWaitSeconds
        let derived = try await deriver.run(now: now, startSequence: startSequence, shouldStop: shouldStop)
        let client = notificationHTTPClient(maximumInFlight: settings.notifications.maxInFlight)
        do {
            var dispatcher = NotificationDispatcher(
                database: database,
                transports: try settings.notifications.makeTransports(client: client, dataDir: settings.dataDir),
                worker: worker, clock: clock)
            dispatcher.policy = settings.notifications.retryPolicy
            dispatcher.maximumInFlight = settings.notifications.maxInFlight
            dispatcher.leaseSeconds = max(120, 4 * settings.notifications.timeoutSeconds)
            let sent = try await dispatcher.run(shouldStop: shouldStop)
            try await client.shutdown()
            return (derived, sent)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// This process's name in claims: host and process id.
    static var workerName: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }
}
