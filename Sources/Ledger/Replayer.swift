import LedgerCore
import LedgerStorage

/// Rebuilds the state from the log on open: a batch record, then its events, then the batch is
/// applied at the time it was applied first.
final class Replayer: @unchecked Sendable {
    // Safe (@unchecked Sendable): used only during `Ledger.open`, on the opening thread.
    var state: EngineState
    private var now: UInt64 = 0
    private var expected = 0
    private var firstEventSequence: UInt64 = 0
    private var events: [Event] = []
    private(set) var failure: LedgerError?

    let expectedAccounts: Int
    let expectedTransfers: Int
    /// Where the states the replay builds read requests back: the log, the batch being replayed
    /// included.
    let requests: LoggedRequests
    let prepareMemory: @Sendable (UnsafeMutableRawPointer, Int) -> Void
    /// The damage reads of the log have found, for the reason a replay stops.
    var damage: LogDamage? { requests.log.damage.first }

    init(
        expectedAccounts: Int, expectedTransfers: Int, requests: LoggedRequests,
        prepareMemory: @escaping @Sendable (UnsafeMutableRawPointer, Int) -> Void
    ) {
        state = EngineState(
            expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers, requests: requests,
            prepareMemory: prepareMemory)
        self.expectedAccounts = expectedAccounts
        self.expectedTransfers = expectedTransfers
        self.requests = requests
        self.prepareMemory = prepareMemory
    }

    /// Starts from a checkpoint's state instead of an empty one.
    func restore(_ checkpoint: Checkpoint) throws {
        state = try EngineState(
            snapshot: checkpoint.payload, expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers,
            requests: requests, prepareMemory: prepareMemory)
    }

    var isBetweenBatches: Bool { expected == 0 }

    func record(kind: RecordKind, sequence: UInt64, body: UnsafeRawPointer) throws {
        do throws(EventDecodingError) {
            if kind == EventCodec.batchKind {
                guard expected == 0 else { throw EventDecodingError("a batch record interrupts a batch") }
                (now, expected) = try EventCodec.decodeBatch(body)
                firstEventSequence = sequence + 1
                events.removeAll(keepingCapacity: true)
                return
            }
            guard expected > 0 else { throw EventDecodingError("an event record outside a batch") }
            events.append(try EventCodec.decode(kind: kind, body))
            if events.count == expected {
                let results = state.apply(events, now: now, firstSequence: firstEventSequence)
                expected = 0
                // An event that depended on a damaged older record would replay to another
                // outcome than it had: the state cannot be rebuilt faithfully.
                if let index = results.firstIndex(where: { $0.code == .recordDamaged }) {
                    throw EventDecodingError(
                        "event \(firstEventSequence + UInt64(index)) depends on a record that is damaged in the log"
                            + (damage.map { ": \($0)" } ?? ""))
                }
            }
        } catch {
            failure = .corruptLog(sequence: sequence, reason: error.reason)
            throw error
        }
    }
}
