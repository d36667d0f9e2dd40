import LedgerAccess
import LedgerCore

/// What one run of the expiry job did.
public struct ExpiryOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Holds the ledger's expiry index named as due.
    public var due = 0
    /// Holds this run voided.
    public var expired = 0
    /// Holds resolved by someone else between the index and the void: captured, cancelled, or
    /// expired by another run. Each is told apart by the ledger's order, never counted twice.
    public var alreadyResolved = 0
    /// Holds the ledger's own clock did not yet see as due (a `now` ahead of the ledger's time).
    public var notYetDue = 0
    /// Batches submitted.
    public var batches = 0

    public init() {}

    public var description: String {
        "\(expired) expired, \(alreadyResolved) already resolved, \(notYetDue) not yet due by the ledger's clock "
            + "(\(due) due in \(batches) batches)"
    }
}

/// The `expire-reservations` job: expires, through the ledger, every hold whose payment window has
/// passed, found through the ledger's expiry index (earliest deadline first, no scan), in
/// batches. Running it twice, or on two workers at once, expires each hold exactly once: the
/// ledger applies one `expirePending` per hold and answers any later one `pendingExpired`. It needs
/// only `LedgerAccess`, so it runs beside the data directory or on another machine.
public struct ExpiryJob: Sendable {
    public let ledger: any LedgerAccess
    /// Holds per ledger submission.
    public let batchSize: Int

    public init(ledger: any LedgerAccess, batchSize: Int = 1_000) {
        precondition((1...ledger.maximumBatchEvents).contains(batchSize), "batch size out of range")
        self.ledger = ledger
        self.batchSize = batchSize
    }

    /// Expires what is due at `now` (nanoseconds since the Unix epoch). `shouldStop` is asked
    /// between batches, so that a shutdown lets the current batch finish and records the rest as
    /// not done. The ledger judges each hold by its own clock: a hold due at `now` but not yet by
    /// the ledger's time is counted as not yet due and left alone. `afterBatch` is given the
    /// counts so far after each batch is durable.
    public func run(
        now: UInt64, shouldStop: @Sendable () -> Bool = { false },
        afterBatch: (ExpiryOutcome) async -> Void = { _ in }
    ) async throws(LedgerAccessError) -> ExpiryOutcome {
        var outcome = ExpiryOutcome()
        var attempted: Set<UInt128> = []
        while !shouldStop() {
            // Holds refused as not yet due stay in the index; they are not asked for again.
            let due = try await ledger.dueHolds(at: now, limit: batchSize + attempted.count).filter {
                !attempted.contains($0)
            }
            guard !due.isEmpty else { break }
            let batch = Array(due.prefix(batchSize))
            outcome.due += batch.count
            outcome.batches += 1
            let results = try await ledger.expire(batch)
            for (id, result) in zip(batch, results) {
                switch result.code {
                case .ok: outcome.expired += 1
                case .pendingNotExpired:
                    outcome.notYetDue += 1
                    attempted.insert(id)
                default: outcome.alreadyResolved += 1
                }
            }
            await afterBatch(outcome)
        }
        return outcome
    }
}
