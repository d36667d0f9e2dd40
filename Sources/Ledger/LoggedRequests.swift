import LedgerCore
import LedgerStorage

/// The engine's request source: every request is logged before the state applies it, so none is
/// kept in memory; each is read back from the commit group being filled, from a committed group
/// whose buffer may not be written yet, or else from the log (its checksum verified).
///
/// Used by one thread at a time: the opening thread while the log is replayed (nothing is in
/// flight then), the sequencer thread afterwards.
final class LoggedRequests: RequestSource {
    let log: LogReader
    /// The group being filled and the committed groups whose buffers have not been handed out
    /// again (so may not be written yet), by first sequence.
    private var current: (first: UInt64, buffer: GroupBuffer)?
    private var inFlight: [(first: UInt64, buffer: GroupBuffer)] = []

    init(log: LogReader) { self.log = log }

    /// A group starts filling `buffer` at sequence `first`; groups that last used the buffer are
    /// written, so their records are read from the log from now on.
    func beginGroup(first: UInt64, buffer: GroupBuffer) {
        inFlight.removeAll { $0.buffer === buffer }
        current = (first, buffer)
    }

    /// The group being filled is committed: its buffer stays readable until it is reused.
    func endGroup() {
        if let current { inFlight.append(current) }
        current = nil
    }

    func applied(_ request: NewTransfer, sequence: UInt64) {}

    func request(sequence: UInt64) -> RequestRead {
        var body: UnsafeRawPointer?
        if let current, sequence >= current.first, sequence < current.first + UInt64(current.buffer.count) {
            body = current.buffer.body(at: Int(sequence - current.first))
        } else if let group = inFlight.last(where: { sequence >= $0.first }),
            sequence < group.first + UInt64(group.buffer.count)
        {
            body = group.buffer.body(at: Int(sequence - group.first))
        }
        if let body { return Self.transfer(kind: EventCodec.createTransferKind, body) }
        return Self.request(sequence: sequence, from: log)
    }

    /// The log holds every request: a snapshot carries none.
    var unlogged: [NewTransfer] { [] }

    func restoreUnlogged(_ requests: [NewTransfer]) {}

    /// The request logged at `sequence` in `log`, if it is a transfer's, its checksum verified:
    /// what readers of committed transfers use, from any thread.
    static func request(sequence: UInt64, from log: LogReader) -> RequestRead {
        switch log.read(sequence: sequence) {
        case .found(let kind, let body): return transfer(kind: kind, body)
        case .missing: return .missing
        case .damaged: return .damaged
        }
    }

    /// The transfer request a record of `kind` holds; `.missing` for any other record.
    private static func transfer(kind: RecordKind, _ body: UnsafeRawPointer) -> RequestRead {
        guard kind == EventCodec.createTransferKind,
            case .createTransfer(let transfer)? = try? EventCodec.decode(kind: kind, body)
        else { return .missing }
        return .found(transfer)
    }
}
