import LedgerCore
import LedgerStorage
import Synchronization

/// One committed event as the log holds it: what was asked, not what came of it (the log keeps
/// requests, and replaying them gives the results; a reader asks the state what stands now).
public struct LoggedEvent: Sendable, Equatable {
    /// The event's log sequence.
    public let sequence: UInt64
    public let event: Event
    /// The sequencer time its batch was submitted at (nanoseconds since the Unix epoch), when the
    /// batch's own record was read in the same call; nil when the call began inside the batch.
    public let batchNanoseconds: UInt64?
}

/// What the ledger keeps in memory of a committed transfer; see `Ledger.transferStamp(id:)`.
public struct TransferStamp: Sendable, Equatable {
    /// The log sequence of the request that made it.
    public let sequence: UInt64
    /// When it was made (sequencer time, nanoseconds since the Unix epoch).
    public let timestampNanoseconds: UInt64
    public let state: TransferState
}

extension Ledger {
    /// The last log sequence whose effects reads see (transfers, their states, balances): a
    /// record up to it has been applied in everything `transfer(id:)` answers.
    public var visibleSequence: UInt64 { view.committed.sequence.load(ordering: .acquiring) }

    /// The committed events after sequence `after`, in log order, reading at most `limit` records
    /// (batch records count but are not answered) and none past `visibleSequence`, so that what
    /// each did can be read from the state. Answers the events and the last sequence read, which
    /// is the next call's `after` (equal to `after` when nothing new is committed). A damaged
    /// record throws `.damagedRecord` with where it is; a record that is not an event throws
    /// `.corruptLog`.
    public func committedEvents(after: UInt64, limit: Int) throws(LedgerError) -> (
        events: [LoggedEvent], through: UInt64
    ) {
        precondition(limit > 0, "a read of at least one record")
        let end = min(visibleSequence, after &+ UInt64(limit))
        guard end > after else { return ([], after) }
        let log = sequencer.requests.log
        var events: [LoggedEvent] = []
        events.reserveCapacity(Int(end - after))
        var batchNanoseconds: UInt64?
        var failure: LedgerError?
        let ended = log.scan(after: after, through: end) { sequence, kind, body in
            do throws(EventDecodingError) {
                if kind == EventCodec.batchKind {
                    batchNanoseconds = try EventCodec.decodeBatch(body).now
                    return true
                }
                let event = try EventCodec.decode(kind: kind, body)
                events.append(LoggedEvent(sequence: sequence, event: event, batchNanoseconds: batchNanoseconds))
                return true
            } catch {
                failure = .corruptLog(sequence: sequence, reason: error.reason)
                return false
            }
        }
        if let failure { throw failure }
        switch ended {
        case .completed: break
        case .missing(let sequence):
            throw .corruptLog(sequence: sequence, reason: "it is committed but cannot be found in the log")
        case .damaged(let damage):
            throw .damagedRecord(damage)
        }
        return (events, end)
    }
}
