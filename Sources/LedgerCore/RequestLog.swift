/// Where the state reads transfer requests back by sequence number: the request as the client
/// sent it is what a retry is compared with, and what readers and refunds resolve a transfer's
/// accounts and amount from.
///
/// Under the engine every request is in the log before it is applied (in a group buffer still in
/// flight, or written), so the state keeps none and reads them through `older`. Standing alone
/// (tests, tools), the state keeps every request here, since there is no log to read them from.
final class RequestLog {
    /// Every request, at index sequence - 1, when there is no log (`keepsAll`).
    private(set) var all: [NewTransfer] = []
    private(set) var keepsAll = true
    /// Reads a request from the log; set by the engine.
    private var older: ((UInt64) -> RequestRead)?

    static let placeholder = NewTransfer(id: 0, debitAccountId: 0, creditAccountId: 0, amountMinor: 0)

    /// Reads every request through `read` from now on, keeping none.
    func readFrom(_ read: @escaping (UInt64) -> RequestRead) {
        keepsAll = false
        all = []
        older = read
    }

    /// Restores the requests of a state standing alone (from its snapshot).
    func restoreAll(_ requests: [NewTransfer]) {
        if keepsAll { all = requests }
    }

    /// Notes the request logged at `sequence` (sequences arrive in increasing order).
    @inline(__always)
    func record(_ request: NewTransfer, sequence: UInt64) {
        guard keepsAll else { return }
        precondition(sequence >= 1, "sequences start at 1")
        while all.count < Int(sequence) - 1 { all.append(Self.placeholder) }
        if all.count == Int(sequence) - 1 { all.append(request) } else { all[Int(sequence) - 1] = request }
    }

    /// The request logged at `sequence`, or nil when the log's copy is damaged (it failed its
    /// checksum), so that nothing is decided on it.
    func request(_ sequence: UInt64) -> NewTransfer? {
        if keepsAll {
            precondition(sequence >= 1 && Int(sequence) <= all.count, "no request at sequence \(sequence)")
            return all[Int(sequence) - 1]
        }
        // Safe: set whenever `keepsAll` is false.
        switch older!(sequence) {
        case .found(let request): return request
        case .damaged: return nil
        case .missing:
            // Under the engine every request is logged before it is applied, and the log keeps
            // every record; a miss means the log was lost under a running ledger.
            preconditionFailure("the request at sequence \(sequence) is not in the log")
        }
    }
}

/// What reading a transfer's request back from the log found.
public enum RequestRead: Sendable {
    case found(NewTransfer)
    /// The log does not hold it (yet).
    case missing
    /// The log's copy failed its checksum.
    case damaged

    /// `found` for a request, `damaged` for nil.
    @inline(__always)
    init(_ request: NewTransfer?) { self = request.map { .found($0) } ?? .damaged }
}

/// A committed transfer whose request could not be read back from the log: its record failed its
/// checksum, so the transfer cannot be described or acted on.
public struct DamagedRecord: Error, Sendable, Equatable {
    /// The log sequence of the damaged record.
    public let sequence: UInt64
}
