/// All mutable ledger state and the rules that change it: pure and deterministic, no I/O and no
/// clock (the caller passes the sequencer's time). Owned by one thread, the sequencer.
///
/// A batch is applied in order; a linked chain of transfers succeeds or fails as a whole (an undo
/// log restores what its earlier events changed); every event gets a result code.
public final class LedgerState {
    struct StoredTransfer {
        /// The request as the client sent it: what a retry is compared with.
        var request: NewTransfer
        var transfer: Transfer
    }

    enum Undo {
        case accountCreated(index: Int)
        case accountChanged(index: Int, previous: Account)
        case transferCreated(id: UInt128)
        case transferChanged(id: UInt128, previous: StoredTransfer)
    }

    var accounts: [Account] = []
    var accountIndex: IdTable
    var keyIndex: [String: Int] = [:]
    var transfers: TransferStore
    var expiry = ExpiryQueue()
    private var undo: [Undo] = []
    private var recordingUndo = false
    /// What changed since the last `takeChanges()`: account indexes (with a flag per account so
    /// each is listed once) and transfer ids.
    private var changedAccountIndexes: [Int] = []
    var accountChanged: [Bool] = []
    private var changedTransferIds: [UInt128] = []

    /// A hint the engine may set: called with addresses the state will read a few events later,
    /// so that a CPU prefetch hides the memory latency of random lookups. The state itself stays
    /// free of anything but the standard library.
    public var prefetch: ((UnsafeRawPointer) -> Void)?

    /// How many events ahead `prefetch` is called.
    static let prefetchDistance = 24

    /// The timestamp of the last event applied; the next batch starts after it.
    public internal(set) var lastTimestamp: UInt64 = 0

    /// An empty ledger whose tables are sized up front for the expected number of accounts and
    /// transfers, so that they do not grow (copying everything, stalling the sequencer) while
    /// serving; beyond these numbers they still grow.
    public init(expectedAccounts: Int = 1_024, expectedTransfers: Int = 65_536) {
        precondition(expectedAccounts >= 0 && expectedTransfers >= 0)
        accountIndex = IdTable(minimumCapacity: max(expectedAccounts, 16))
        transfers = TransferStore(expectedCount: expectedTransfers)
        accounts.reserveCapacity(expectedAccounts)
        accountChanged.reserveCapacity(expectedAccounts)
    }

    /// Nanoseconds per second, for payment windows.
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// Applies `events` in order at sequencer time `now` (nanoseconds since the Unix epoch; the
    /// batch's events get `max(now, last + 1) + index`, unique and strictly increasing).
    public func apply(_ events: [Event], now: UInt64) -> [EventResult] {
        let base = max(now, lastTimestamp + 1)
        var results = [EventResult](repeating: EventResult(code: .ok, timestamp: 0), count: events.count)
        var chainStart: Int?
        var chainFailed = false
        var undoMark = 0
        if let prefetch {
            for ahead in events.prefix(Self.prefetchDistance) { prefetchLookups(of: ahead, prefetch) }
        }
        for (index, event) in events.enumerated() {
            let timestamp = base + UInt64(index)
            if let prefetch, index + Self.prefetchDistance < events.count {
                prefetchLookups(of: events[index + Self.prefetchDistance], prefetch)
            }
            if chainStart == nil && event.isLinked {
                chainStart = index
                chainFailed = false
                recordingUndo = true
                undoMark = undo.count
            }
            if chainFailed {
                results[index] = EventResult(code: .linkedEventFailed, timestamp: 0)
            } else {
                results[index] = applyOne(event, timestamp: timestamp)
                if let start = chainStart, !results[index].code.succeeded {
                    chainFailed = true
                    rollBack(to: undoMark)
                    for earlier in start..<index {
                        results[earlier] = EventResult(code: .linkedEventFailed, timestamp: 0)
                    }
                }
            }
            if chainStart != nil && !event.isLinked {
                chainStart = nil
                chainFailed = false
                recordingUndo = false
                undo.removeAll(keepingCapacity: true)
            }
        }
        if let start = chainStart {
            if !chainFailed { rollBack(to: undoMark) }
            for index in start..<events.count {
                results[index] = EventResult(code: .linkedEventChainOpen, timestamp: 0)
            }
            recordingUndo = false
            undo.removeAll(keepingCapacity: true)
        }
        if !events.isEmpty { lastTimestamp = base + UInt64(events.count) - 1 }
        return results
    }

    private func prefetchLookups(of event: Event, _ prefetch: (UnsafeRawPointer) -> Void) {
        guard case .createTransfer(let transfer) = event else { return }
        prefetch(transfers.homeAddress(transfer.id))
        if transfer.pendingId != 0 { prefetch(transfers.homeAddress(transfer.pendingId)) }
        if transfer.debitAccountId != 0 { prefetch(accountIndex.homeAddress(transfer.debitAccountId)) }
        if transfer.creditAccountId != 0 { prefetch(accountIndex.homeAddress(transfer.creditAccountId)) }
    }

    private func applyOne(_ event: Event, timestamp: UInt64) -> EventResult {
        switch event {
        case .createAccount(let account): return createAccount(account, timestamp: timestamp)
        case .createTransfer(let transfer): return createTransfer(transfer, timestamp: timestamp)
        case .expirePending(let pendingId): return expire(pendingId, timestamp: timestamp)
        }
    }

    // MARK: Reads

    /// The account with this id, if it exists.
    public func account(id: UInt128) -> Account? { accountIndex[id].map { accounts[$0] } }

    /// The account with this key, if it exists.
    public func account(key: String) -> Account? { keyIndex[key].map { accounts[$0] } }

    /// The transfer with this id, if it exists.
    public func transfer(id: UInt128) -> Transfer? { transfers[id]?.transfer }

    /// Every account, in creation order.
    public var allAccounts: [Account] { accounts }

    /// Number of transfers (every kind).
    public var transferCount: Int { transfers.count }

    /// Up to `limit` holds whose payment window has closed at `now`, earliest first.
    public func dueHolds(at now: UInt64, limit: Int) -> [UInt128] {
        var due: [UInt128] = []
        var keep: [ExpiryQueue.Entry] = []
        while due.count < limit, let top = expiry.top, top.expiresAt <= now {
            expiry.pop()
            guard let stored = transfers[top.id], stored.transfer.state == .pending,
                stored.transfer.expiresAt == top.expiresAt, !due.contains(top.id)
            else { continue }
            due.append(top.id)
            keep.append(top)
        }
        for entry in keep { expiry.push(entry) }
        return due
    }

    // MARK: Accounts

    private func createAccount(_ new: NewAccount, timestamp: UInt64) -> EventResult {
        guard new.id != 0 else { return fail(.idMustNotBeZero) }
        if let index = accountIndex[new.id] {
            let existing = accounts[index]
            let same =
                existing.key == new.key && existing.currency == new.currency && existing.flags == new.flags
                && existing.code == new.code
            return EventResult(
                code: same ? .exists : .existsWithDifferentFields, timestamp: same ? existing.timestamp : 0)
        }
        guard AccountFlags.known.isSuperset(of: new.flags) else { return fail(.unknownFlags) }
        guard new.flags != AccountFlags.known else { return fail(.flagsAreMutuallyExclusive) }
        guard !new.key.isEmpty else { return fail(.accountKeyMustNotBeEmpty) }
        guard new.key.utf8.count <= NewAccount.maximumKeyBytes else { return fail(.accountKeyTooLong) }
        guard keyIndex[new.key] == nil else { return fail(.accountKeyExists) }
        let index = accounts.count
        accounts.append(
            Account(
                id: new.id, key: new.key, currency: new.currency, flags: new.flags, code: new.code, timestamp: timestamp
            ))
        accountChanged.append(false)
        noteAccountChange(index)
        accountIndex[new.id] = index
        keyIndex[new.key] = index
        record(.accountCreated(index: index))
        return EventResult(code: .ok, timestamp: timestamp)
    }

    // MARK: Undo

    func record(_ entry: Undo) {
        if recordingUndo { undo.append(entry) }
    }

    func fail(_ code: ResultCode) -> EventResult { EventResult(code: code, timestamp: 0) }

    func accountSlot(_ id: UInt128) -> Int? { accountIndex[id] }

    func updateAccount(_ index: Int, _ change: (inout Account) -> Void) {
        record(.accountChanged(index: index, previous: accounts[index]))
        change(&accounts[index])
        noteAccountChange(index)
    }

    func noteAccountChange(_ index: Int) {
        if !accountChanged[index] {
            accountChanged[index] = true
            changedAccountIndexes.append(index)
        }
    }

    func noteTransferChange(_ id: UInt128) {
        changedTransferIds.append(id)
    }

    /// The accounts and transfers changed since the last call, as they are now (a change undone
    /// by a failed chain shows its restored value, and a creation undone is left out), transfers
    /// in the order they were first changed, which is commit order for new ones. The engine
    /// publishes them to readers once the batches that changed them are durable.
    public func takeChanges() -> (accounts: [Account], transfers: [Transfer]) {
        var changed: [Account] = []
        changed.reserveCapacity(changedAccountIndexes.count)
        for index in changedAccountIndexes where index < accounts.count {
            accountChanged[index] = false
            changed.append(accounts[index])
        }
        changedAccountIndexes.removeAll(keepingCapacity: true)
        var seen = Set<UInt128>()
        var transfersChanged: [Transfer] = []
        for id in changedTransferIds where seen.insert(id).inserted {
            if let stored = transfers[id] { transfersChanged.append(stored.transfer) }
        }
        changedTransferIds.removeAll(keepingCapacity: true)
        return (changed, transfersChanged)
    }

    func accountAt(_ index: Int) -> Account { accounts[index] }

    private func rollBack(to mark: Int) {
        while undo.count > mark {
            switch undo.removeLast() {
            case .accountCreated(let index):
                precondition(index == accounts.count - 1, "accounts are undone in reverse order")
                let account = accounts.removeLast()
                accountChanged.removeLast()
                accountIndex[account.id] = nil
                keyIndex[account.key] = nil
            case .accountChanged(let index, let previous):
                accounts[index] = previous
            case .transferCreated(let id):
                transfers[id] = nil
            case .transferChanged(let id, let previous):
                transfers[id] = previous
            }
        }
    }
}
