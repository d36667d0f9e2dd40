import CMemoryHints

/// All mutable ledger state and the rules that change it: pure and deterministic, no I/O and no
/// clock (the caller passes the sequencer's time). Owned by one thread, the sequencer.
///
/// A batch is applied in order; a linked chain of transfers succeeds or fails as a whole (an undo
/// log restores what its earlier events changed); every event gets a result code.
///
/// Accounts and transfers live in fixed-size records in chunked raw memory, found through
/// tag indexes (`TagIndex`); nothing on the apply path allocates or reference-counts. An engine
/// may show other threads the committed part of that memory (the `Ledger` module's view does):
/// `Publication` is how the state writes the words such readers follow, plain stores for a state
/// no other thread reads (`Unshared`).
public final class LedgerState<Publication: MemoryPublication> {
    enum Undo {
        case accountCreated
        case accountBalances(index: Int, previous: (UInt64, UInt64, UInt64, UInt64))
        case accountHistory(index: Int, first: UInt32, last: UInt32, lastIsDebit: UInt8)
        case historyLink(record: Int, debitSide: Bool, previous: UInt32)
        case transferCreated
        case transferState(index: Int, state: UInt8)
        case holdOpened(index: UInt32)
        case holdClosed(index: UInt32, entry: HoldEntry)
        case refunded(index: UInt32, previous: UInt64?)
    }

    /// The records and indexes, which an engine's readers share.
    package let tables: StateTables<Publication>
    var accounts: ChunkedArray<AccountRecord> { tables.accounts }
    var transfers: ChunkedArray<TransferRecord> { tables.transfers }
    var expiry = ExpiryQueue()
    /// Open holds by transfer record: what posting, voiding and expiring them need.
    var holds: [UInt32: HoldEntry] = [:]
    /// Refunded amounts by transfer record, for transfers refunded at least in part.
    var refunded: [UInt32: UInt64] = [:]
    /// The requests as sent, by log sequence number.
    let requests: any RequestSource
    /// The sequence number the next event gets when the caller does not say (standing alone,
    /// every event counts one, as every event is one record in the engine's log).
    public internal(set) var nextSequence: UInt64 = 1
    private var undo: [Undo] = []
    private var recordingUndo = false
    /// What changed since the last `takeCommit()`: account records (each listed once, thanks to
    /// the flags) and transfer records whose state or refunded amount changed.
    private var changedAccounts: [Int32] = []
    var accountChanged: [Bool] = []
    private var changedTransfers: [Int32] = []
    private var changedRefunds: [UInt32] = []
    private var newHolds: [ExpiryQueue.Entry] = []

    /// How many events ahead the apply loop prefetches the index slots an event will probe (the
    /// account records follow at half that distance, the history links at a quarter).
    static var prefetchDistance: Int { 24 }
    static var linkPrefetchDistance: Int { 6 }

    /// The timestamp of the last event applied; the next batch starts after it.
    public internal(set) var lastTimestamp: UInt64 = 0

    /// An empty ledger whose indexes are sized up front for the expected number of accounts and
    /// transfers, so that they do not grow (stalling the sequencer) while serving; beyond these
    /// numbers they still grow. `requests` is where requests of earlier transfers are read back
    /// (kept in memory unless an engine's log holds them); `prepareMemory`, when given, is called
    /// with record memory mapped ahead of need, for the engine to fault in on another thread (see
    /// `ChunkedArray`).
    public init(
        expectedAccounts: Int = 1_024, expectedTransfers: Int = 65_536,
        requests: any RequestSource = KeptRequests(),
        prepareMemory: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)? = nil
    ) {
        precondition(expectedAccounts >= 0 && expectedTransfers >= 0)
        tables = StateTables(
            expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers, prepareMemory: prepareMemory)
        self.requests = requests
        accountChanged.reserveCapacity(expectedAccounts)
    }

    /// Applies `events` in order at sequencer time `now` (nanoseconds since the Unix epoch; the
    /// batch's events get `max(now, last + 1) + index`, unique and strictly increasing).
    /// `firstSequence` is the log sequence number of the first event (each event is one record);
    /// standing alone the state numbers events itself.
    public func apply(_ events: [Event], now: UInt64, firstSequence: UInt64? = nil) -> [EventResult] {
        let base = max(now, lastTimestamp + 1)
        let sequenceBase = firstSequence ?? nextSequence
        nextSequence = sequenceBase + UInt64(events.count)
        var results = [EventResult](repeating: EventResult(code: .ok, timestamp: 0), count: events.count)
        var chainStart: Int?
        var chainFailed = false
        var undoMark = 0
        // Random lookups miss the cache; they are prefetched in three stages ahead of use: the
        // index slots, then (found through them) the account records, then the transfers the
        // accounts' histories end with, which the new transfer links to.
        var ring = PrefetchRing()
        for ahead in 0..<min(events.count, Self.prefetchDistance) {
            prefetchSlots(of: events[ahead])
            if ahead < Self.prefetchDistance / 2 { prefetchAccounts(of: events[ahead], into: &ring, at: ahead) }
            if ahead < Self.linkPrefetchDistance { prefetchLinks(ring, at: ahead) }
        }
        for (index, event) in events.enumerated() {
            let timestamp = base + UInt64(index)
            if index + Self.prefetchDistance < events.count { prefetchSlots(of: events[index + Self.prefetchDistance]) }
            let accountsAhead = index + Self.prefetchDistance / 2
            if accountsAhead < events.count {
                prefetchAccounts(of: events[accountsAhead], into: &ring, at: accountsAhead)
            }
            if index + Self.linkPrefetchDistance < events.count {
                prefetchLinks(ring, at: index + Self.linkPrefetchDistance)
            }
            if chainStart == nil && event.isLinked {
                chainStart = index
                chainFailed = false
                recordingUndo = true
                undoMark = undo.count
            }
            if chainFailed {
                if case .createTransfer(let transfer) = event {
                    requests.applied(transfer, sequence: sequenceBase + UInt64(index))
                }
                results[index] = EventResult(code: .linkedEventFailed, timestamp: 0)
            } else {
                results[index] = applyOne(event, timestamp: timestamp, sequence: sequenceBase + UInt64(index))
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

    @inline(__always)
    private func prefetchSlots(of event: Event) {
        guard case .createTransfer(let transfer) = event else { return }
        khata_prefetch(tables.transferIndex.homeAddress(idHash(transfer.id)))
        if transfer.pendingId != 0 { khata_prefetch(tables.transferIndex.homeAddress(idHash(transfer.pendingId))) }
        if transfer.debitAccountId != 0 {
            khata_prefetch(tables.accountIndex.homeAddress(idHash(transfer.debitAccountId)))
        }
        if transfer.creditAccountId != 0 {
            khata_prefetch(tables.accountIndex.homeAddress(idHash(transfer.creditAccountId)))
        }
    }

    /// Finds (as a hint only: the event does its own lookups) the records an event will touch,
    /// from the index alone, and prefetches them.
    @inline(__always)
    private func prefetchAccounts(of event: Event, into ring: inout PrefetchRing, at index: Int) {
        ring.clear(index)
        guard case .createTransfer(let transfer) = event else { return }
        if transfer.pendingId != 0 {
            if let pending = tables.transferIndex.candidate(idHash(transfer.pendingId)), pending < transfers.count {
                khata_prefetch(transfers.pointer(pending))
            }
            return
        }
        let debit = transfer.debitAccountId == 0 ? nil : tables.accountIndex.candidate(idHash(transfer.debitAccountId))
        let credit =
            transfer.creditAccountId == 0 ? nil : tables.accountIndex.candidate(idHash(transfer.creditAccountId))
        if let debit, debit < accounts.count { khata_prefetch(accounts.pointer(debit)) }
        if let credit, credit < accounts.count { khata_prefetch(accounts.pointer(credit)) }
        ring.set(index, debit: Int32(debit ?? -1), credit: Int32(credit ?? -1))
    }

    @inline(__always)
    private func prefetchLinks(_ ring: PrefetchRing, at index: Int) {
        let (debit, credit) = ring.get(index)
        prefetchLastTransfer(ofAccount: debit)
        prefetchLastTransfer(ofAccount: credit)
    }

    @inline(__always)
    private func prefetchLastTransfer(ofAccount account: Int32) {
        guard account >= 0 && Int(account) < accounts.count else { return }
        let last = accounts.pointer(Int(account)).pointee.lastTransfer
        guard last != noRecord && Int(last) < transfers.count else { return }
        // A 40-byte record may straddle two lines.
        let record = UnsafeRawPointer(transfers.pointer(Int(last)))
        khata_prefetch(record)
        khata_prefetch(record + MemoryLayout<TransferRecord>.size - 1)
    }

    private func applyOne(_ event: Event, timestamp: UInt64, sequence: UInt64) -> EventResult {
        switch event {
        case .createAccount(let account): return createAccount(account, timestamp: timestamp)
        case .createTransfer(let transfer):
            requests.applied(transfer, sequence: sequence)
            return createTransfer(transfer, timestamp: timestamp, sequence: sequence)
        case .expirePending(let pendingId): return expire(pendingId, timestamp: timestamp)
        }
    }

    // MARK: Reads of the live state (the sequencer's thread only)

    /// The account with this id, if it exists.
    public func account(id: UInt128) -> Account? { accountRecord(id).map { account(at: $0) } }

    /// The account with this key, if it exists.
    public func account(key: String) -> Account? { accountRecord(key: key).map { account(at: $0) } }

    /// The transfer with this id, if it exists and its request can be read back.
    public func transfer(id: UInt128) -> Transfer? {
        transferRecord(id).flatMap { transfer(at: $0) }
    }

    /// Every account, in creation order.
    public var allAccounts: [Account] { (0..<accounts.count).map { account(at: $0) } }

    /// Number of transfers (every kind).
    public var transferCount: Int { transfers.count }

    /// Accounts plus transfers: what a snapshot's size grows with.
    public var recordCount: Int { accounts.count + transfers.count }

    func account(at index: Int) -> Account { tables.liveAccount(at: index) }

    /// Up to `limit` holds whose payment window has closed at `now`, earliest first.
    public func dueHolds(at now: UInt64, limit: Int) -> [UInt128] {
        expiry.due(at: now, limit: limit) { entry in
            let record = transfers[entry.record]
            return record.transferState == .pending && record.timestamp == entry.timestamp ? record.id : nil
        }
    }

    // MARK: Lookups

    @inline(__always)
    func accountRecord(_ id: UInt128) -> Int? {
        guard id != 0 else { return nil }
        return tables.accountIndex.find(idHash(id)) { accounts.pointer($0).pointee.hasId(id) }.record
    }

    func accountRecord(key: String) -> Int? {
        var key = key
        return key.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            return tables.keyIndex.find(keyHash(raw)) { accounts.pointer($0).pointee.keyEquals(raw) }.record
        }
    }

    @inline(__always)
    func transferRecord(_ id: UInt128) -> Int? {
        guard id != 0 else { return nil }
        return tables.transferIndex.find(idHash(id)) { transfers.pointer($0).pointee.hasId(id) }.record
    }

    // MARK: Accounts

    private func createAccount(_ new: NewAccount, timestamp: UInt64) -> EventResult {
        guard new.id != 0 else { return fail(.idMustNotBeZero) }
        let hash = idHash(new.id)
        let probe = tables.accountIndex.find(hash) { accounts.pointer($0).pointee.hasId(new.id) }
        if let index = probe.record {
            let existing = accounts[index]
            let same =
                existing.keyString == new.key && existing.currency == new.currency.numericCode
                && existing.flags == new.flags.rawValue && existing.code == new.code
            return EventResult(
                code: same ? .exists : .existsWithDifferentFields, timestamp: same ? existing.timestamp : 0)
        }
        guard AccountFlags.known.isSuperset(of: new.flags) else { return fail(.unknownFlags) }
        guard new.flags != AccountFlags.known else { return fail(.flagsAreMutuallyExclusive) }
        guard !new.key.isEmpty else { return fail(.accountKeyMustNotBeEmpty) }
        guard new.key.utf8.count <= NewAccount.maximumKeyBytes else { return fail(.accountKeyTooLong) }
        guard accountRecord(key: new.key) == nil else { return fail(.accountKeyExists) }
        var key = new.key
        let record = key.withUTF8 { utf8 in
            AccountRecord(
                idLow: UInt64(truncatingIfNeeded: new.id), idHigh: UInt64(truncatingIfNeeded: new.id >> 64),
                timestamp: timestamp, currency: new.currency.numericCode, flags: new.flags.rawValue, code: new.code,
                keyLength: UInt8(utf8.count), key: AccountRecord.packKey(UnsafeRawBufferPointer(utf8)))
        }
        let index = accounts.append(record)
        tables.accountIndex.insert(hash, record: index, at: probe)
        key.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            let keyProbe = tables.keyIndex.find(keyHash(raw)) { _ in false }
            tables.keyIndex.insert(keyHash(raw), record: index, at: keyProbe)
        }
        accountChanged.append(false)
        noteAccountChange(index)
        remember(.accountCreated)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    // MARK: Undo and change tracking

    @inline(__always)
    func remember(_ entry: Undo) {
        if recordingUndo { undo.append(entry) }
    }

    func fail(_ code: ResultCode) -> EventResult { EventResult(code: code, timestamp: 0) }

    /// Changes an account's live balances (debits pending, debits posted, credits pending,
    /// credits posted), keeping the undo log and the change list.
    @inline(__always)
    func updateAccount(_ index: Int, _ change: (inout AccountRecord) -> Void) {
        let pointer = accounts.pointer(index)
        if recordingUndo {
            let account = pointer.pointee
            undo.append(
                .accountBalances(
                    index: index,
                    previous: (
                        account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted
                    )
                ))
        }
        change(&pointer.pointee)
        noteAccountChange(index)
    }

    @inline(__always)
    func noteAccountChange(_ index: Int) {
        if !accountChanged[index] {
            accountChanged[index] = true
            changedAccounts.append(Int32(index))
        }
    }

    func noteTransferChange(_ index: Int) { changedTransfers.append(Int32(index)) }

    func noteRefundChange(_ index: UInt32) { changedRefunds.append(index) }

    func noteNewHold(_ entry: ExpiryQueue.Entry) {
        expiry.push(entry)
        newHolds.append(entry)
        if expiry.count > 2 * holds.count + 1_024 {
            expiry.compact { entry in
                holds[UInt32(entry.record)] != nil && transfers[entry.record].timestamp == entry.timestamp
            }
        }
    }

    /// Appends a new transfer record, indexes it under `probe` and links it into both accounts'
    /// histories.
    func appendTransfer(_ new: TransferRecord, hash: UInt64, probe: IndexProbe, debit: Int, credit: Int) {
        let index = transfers.append(new)
        tables.transferIndex.insert(hash, record: index, at: probe)
        remember(.transferCreated)
        link(index, account: debit, isDebit: true)
        link(index, account: credit, isDebit: false)
    }

    @inline(__always)
    private func link(_ transfer: Int, account: Int, isDebit: Bool) {
        let pointer = accounts.pointer(account)
        let last = pointer.pointee.lastTransfer
        remember(
            .accountHistory(
                index: account, first: pointer.pointee.firstTransfer, last: last,
                lastIsDebit: pointer.pointee.lastTransferIsDebit))
        if last == noRecord {
            tables.storeFirstTransfer(UInt32(transfer), account: account)
        } else {
            let previousIsDebit = pointer.pointee.lastTransferIsDebit != 0
            remember(.historyLink(record: Int(last), debitSide: previousIsDebit, previous: noRecord))
            tables.storeLink(UInt32(transfer), record: Int(last), debitSide: previousIsDebit)
        }
        pointer.pointee.lastTransfer = UInt32(transfer)
        pointer.pointee.lastTransferIsDebit = isDebit ? 1 : 0
    }

    /// Sets a transfer's live state byte, keeping the undo log and the change list.
    func setState(_ index: Int, _ state: UInt8) {
        let pointer = transfers.pointer(index)
        remember(.transferState(index: index, state: pointer.pointee.state))
        pointer.pointee.state = state
        noteTransferChange(index)
    }

    func openHold(_ index: Int, _ entry: HoldEntry, timestamp: UInt64) {
        holds[UInt32(index)] = entry
        remember(.holdOpened(index: UInt32(index)))
        noteNewHold(ExpiryQueue.Entry(expiresAt: entry.expiresAt, timestamp: timestamp, record: index))
    }

    func closeHold(_ index: Int) {
        // Safe: callers found the hold open just before.
        let entry = holds.removeValue(forKey: UInt32(index))!
        remember(.holdClosed(index: UInt32(index), entry: entry))
    }

    func addRefund(_ index: Int, amount: UInt64) {
        let previous = refunded[UInt32(index)]
        remember(.refunded(index: UInt32(index), previous: previous))
        refunded[UInt32(index)] = (previous ?? 0) + amount
        noteRefundChange(UInt32(index))
        let state = transfers[index].state
        if state & TransferRecord.refundedBit == 0 { setState(index, state | TransferRecord.refundedBit) }
    }

    /// What the groups applied since the last call changed, as it is now (a change undone by a
    /// failed chain shows its restored value): the engine makes it visible to its readers once
    /// those groups are durable.
    public func takeCommit() -> CommitMark {
        var mark = CommitMark(accountCount: accounts.count, transferCount: transfers.count)
        mark.accounts.reserveCapacity(changedAccounts.count)
        mark.transfers.reserveCapacity(changedTransfers.count)
        let accountCount = accounts.count
        let prefetchAhead = 8
        for (position, index) in changedAccounts.enumerated() where Int(index) < accountCount {
            if position + prefetchAhead < changedAccounts.count,
                Int(changedAccounts[position + prefetchAhead]) < accountCount
            {
                khata_prefetch(accounts.pointer(Int(changedAccounts[position + prefetchAhead])))
            }
            accountChanged[Int(index)] = false
            // Only the first cache line: the balances.
            let account = accounts.pointer(Int(index))
            mark.accounts.append(
                CommitMark.Balances(
                    index: index, debitsPending: account.pointee.debitsPending,
                    debitsPosted: account.pointee.debitsPosted, creditsPending: account.pointee.creditsPending,
                    creditsPosted: account.pointee.creditsPosted))
        }
        changedAccounts.removeAll(keepingCapacity: true)
        for index in changedTransfers where Int(index) < transfers.count {
            mark.transfers.append(
                CommitMark.TransferChange(index: index, state: transfers.pointer(Int(index)).pointee.state))
        }
        for index in changedRefunds where Int(index) < transfers.count {
            if let amount = refunded[index] { mark.refunds.append((index, amount)) }
        }
        changedRefunds.removeAll(keepingCapacity: true)
        changedTransfers.removeAll(keepingCapacity: true)
        mark.newHolds = newHolds.filter { entry in
            entry.record < transfers.count && transfers[entry.record].timestamp == entry.timestamp
        }
        newHolds.removeAll(keepingCapacity: true)
        return mark
    }

    private func rollBack(to mark: Int) {
        while undo.count > mark {
            switch undo.removeLast() {
            case .accountCreated:
                let index = accounts.count - 1
                let account = accounts[index]
                tables.accountIndex.remove(idHash(account.id), record: index)
                withUnsafeBytes(of: account.key) { raw in
                    tables.keyIndex.remove(
                        keyHash(UnsafeRawBufferPointer(rebasing: raw.prefix(Int(account.keyLength)))), record: index)
                }
                accounts.removeLast()
                accountChanged.removeLast()
            case .accountBalances(let index, let previous):
                let pointer = accounts.pointer(index)
                pointer.pointee.debitsPending = previous.0
                pointer.pointee.debitsPosted = previous.1
                pointer.pointee.creditsPending = previous.2
                pointer.pointee.creditsPosted = previous.3
            case .accountHistory(let index, let first, let last, let lastIsDebit):
                tables.storeFirstTransfer(first, account: index)
                accounts.pointer(index).pointee.lastTransfer = last
                accounts.pointer(index).pointee.lastTransferIsDebit = lastIsDebit
            case .historyLink(let record, let debitSide, let previous):
                tables.storeLink(previous, record: record, debitSide: debitSide)
            case .transferCreated:
                let index = transfers.count - 1
                tables.transferIndex.remove(idHash(transfers[index].id), record: index)
                transfers.removeLast()
            case .transferState(let index, let state):
                transfers.pointer(index).pointee.state = state
            case .holdOpened(let index):
                holds[index] = nil
            case .holdClosed(let index, let entry):
                holds[index] = entry
            case .refunded(let index, let previous):
                refunded[index] = previous
            }
        }
    }
}

/// What changed in a run of commit groups, handed from the sequencer to the thread that makes it
/// visible to readers once the groups are durable.
public struct CommitMark: Sendable {
    package struct Balances {
        package var index: Int32
        package var debitsPending: UInt64
        package var debitsPosted: UInt64
        package var creditsPending: UInt64
        package var creditsPosted: UInt64
    }

    package struct TransferChange {
        package var index: Int32
        package var state: UInt8
    }

    /// Accounts and transfers that exist once these groups are durable.
    package let accountCount: Int
    package let transferCount: Int
    package var accounts: [Balances] = []
    package var transfers: [TransferChange] = []
    /// Refunded amounts, as they are now, of transfers refunded in these groups.
    package var refunds: [(index: UInt32, amountMinor: UInt64)] = []
    package var newHolds: [ExpiryQueue.Entry] = []
}

/// Nanoseconds per second, for payment windows.
let nanosecondsPerSecond: UInt64 = 1_000_000_000

/// The account records found for the next few events, kept between prefetch stages.
struct PrefetchRing {
    private var debits = InlineArray<16, Int32>(repeating: -1)
    private var credits = InlineArray<16, Int32>(repeating: -1)

    @inline(__always)
    mutating func clear(_ index: Int) { set(index, debit: -1, credit: -1) }

    @inline(__always)
    mutating func set(_ index: Int, debit: Int32, credit: Int32) {
        debits[index & 15] = debit
        credits[index & 15] = credit
    }

    @inline(__always)
    func get(_ index: Int) -> (Int32, Int32) { (debits[index & 15], credits[index & 15]) }
}
