/// One request to the ledger. A batch of events is applied in order.
public enum Event: Hashable, Sendable {
    case createAccount(NewAccount)
    case createTransfer(NewTransfer)
    /// Releases a hold whose payment window has closed (written by the expiry job).
    case expirePending(pendingId: UInt128)

    /// Whether this event is chained to the next one.
    public var isLinked: Bool {
        if case .createTransfer(let transfer) = self { return transfer.flags.contains(.linked) }
        return false
    }
}

/// The result of one event of a batch.
public struct EventResult: Hashable, Sendable {
    public var code: ResultCode
    /// The event's sequencer timestamp (unique, strictly increasing), 0 when it failed.
    public var timestamp: UInt64

    public init(code: ResultCode, timestamp: UInt64) {
        self.code = code
        self.timestamp = timestamp
    }
}
