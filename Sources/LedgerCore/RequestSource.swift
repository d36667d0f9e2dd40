/// Where the state reads transfer requests back by log sequence number: the request as the
/// client sent it is what a retry is compared with, and what readers and refunds resolve a
/// transfer's accounts and amount from. Handed to the state when it is made.
///
/// Under the engine every request is in the log before it is applied (in a group buffer still in
/// flight, or written), so the engine's source keeps none and reads the log. Standing alone
/// (tests, tools, the reference model), `KeptRequests` keeps every request in memory, since no
/// log holds them.
public protocol RequestSource: AnyObject {
    /// Told of each transfer request as the state applies it (sequences increase): a source
    /// without a log keeps it; a log-backed one has it already.
    func applied(_ request: NewTransfer, sequence: UInt64)
    /// The request logged at `sequence`, its copy verified.
    func request(sequence: UInt64) -> RequestRead
    /// The requests a snapshot of the state must carry because no log holds them.
    var unlogged: [NewTransfer] { get }
    /// Takes back the requests a snapshot carried.
    func restoreUnlogged(_ requests: [NewTransfer])
}

/// Every request in memory, at index sequence - 1: the source of a state no log stands behind.
public final class KeptRequests: RequestSource {
    private var all: [NewTransfer] = []

    public init() {}

    private static let placeholder = NewTransfer(id: 0, debitAccountId: 0, creditAccountId: 0, amountMinor: 0)

    @inline(__always)
    public func applied(_ request: NewTransfer, sequence: UInt64) {
        precondition(sequence >= 1, "sequences start at 1")
        while all.count < Int(sequence) - 1 { all.append(Self.placeholder) }
        if all.count == Int(sequence) - 1 { all.append(request) } else { all[Int(sequence) - 1] = request }
    }

    public func request(sequence: UInt64) -> RequestRead {
        guard sequence >= 1 && Int(sequence) <= all.count else { return .missing }
        return .found(all[Int(sequence) - 1])
    }

    public var unlogged: [NewTransfer] { all }

    public func restoreUnlogged(_ requests: [NewTransfer]) { all = requests }
}

/// What reading a transfer's request back from the log found.
public enum RequestRead: Sendable {
    case found(NewTransfer)
    /// The log does not hold it (yet).
    case missing
    /// The log's copy failed its checksum.
    case damaged
}

/// A committed transfer whose request could not be read back from the log: its record failed its
/// checksum, so the transfer cannot be described or acted on.
public struct DamagedRecord: Error, Sendable, Equatable {
    /// The log sequence of the damaged record.
    public let sequence: UInt64

    public init(sequence: UInt64) { self.sequence = sequence }
}
