import LedgerStorage

/// Settings of the ledger engine, with units in their names.
public struct LedgerConfiguration: Sendable {
    /// The segment store beneath.
    public var storage = StoreConfiguration()
    /// Submissions waiting for the sequencer; beyond this, `submit` fails with `.overloaded`.
    public var queueCapacity = 4096
    /// The most events in one submission (a batch record plus its events fit one commit group).
    public var maximumBatchEvents = 8190
    /// Log records between checkpoints of the state (and one at close): recovery replays at most
    /// about this many records. Each checkpoint pauses the sequencer while it is written.
    public var checkpointIntervalRecords = 4_000_000
    /// Capacity hints: the state's and the readers' tables are sized for these up front, so that
    /// they do not grow (and stall the sequencer while they copy) in operation.
    public var expectedAccounts = 100_000
    public var expectedTransfers = 1_000_000

    public init() {}
}
