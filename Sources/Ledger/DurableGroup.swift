/// One commit group made durable: its log records, and the submissions and events it carried.
/// (The segment store's `CommittedGroup` is the same group as the store sees it: its sequences
/// and bytes.)
public struct DurableGroup: Sendable {
    public let records: Int
    public let submissions: Int
    public let events: Int
}

/// Told of every commit group once it is durable, on the store's I/O thread: it must be quick.
/// Handed to `Ledger.open`; metrics use it.
public protocol DurableGroupObserver: Sendable {
    func groupIsDurable(_ group: DurableGroup)
}
