import CKhataSupport
import LedgerCore
import Synchronization

/// What readers see besides the records' `committed…` fields: how many accounts and transfers are
/// committed, refunded amounts and the committed holds by expiry. Written by one thread (the
/// store's I/O thread, in commit order), read by any.
final class CommittedTables: Sendable {
    let accountCount = Atomic<Int>(0)
    let transferCount = Atomic<Int>(0)
    /// Refunded amounts of committed transfers whose committed state carries the refunded bit.
    let refunds = CommittedRefunds()
    /// Committed open holds by expiry, for the expiry job; entries of holds resolved since stay
    /// until they reach the top.
    let expiry = CommittedExpiry()
    /// The last log sequence whose effects readers see: a record up to it is applied in what
    /// they read (a transfer it created can be found), one after it may not be yet.
    let sequence = Atomic<UInt64>(0)
}

/// Reads of the committed ledger, from any thread and without locks: what readers see changes
/// only when a commit group becomes durable, so nothing unacknowledged is ever visible.
struct LedgerView: Sendable {
    let tables: StateTables<ReleaseAcquire>
    let committed = CommittedTables()
    /// Reads the request of a committed transfer by log sequence.
    let committedRequest: @Sendable (UInt64) -> RequestRead

    init(state: EngineState, committedRequest: @escaping @Sendable (UInt64) -> RequestRead) {
        tables = state.tables
        self.committedRequest = committedRequest
    }

    private var accountLimit: Int { committed.accountCount.load(ordering: .acquiring) }
    private var transferLimit: Int { committed.transferCount.load(ordering: .acquiring) }

    // MARK: Publishing (the I/O thread)

    /// Makes what `mark` describes visible: committed balances (under each account's seqlock),
    /// transfer states and refunded amounts, new holds, then the new counts, and the last
    /// sequence the groups hold (`through`). Called by one thread, in commit order, once the
    /// groups the mark covers are durable.
    func publish(_ mark: CommitMark, through: UInt64) {
        for change in mark.accounts {
            let (balances, version) = AccountRecord.committedAddresses(tables.accounts.pointer(Int(change.index)))
            let current = khata_load_relaxed_u64(version)
            khata_store_relaxed_u64(version, current + 1)
            khata_fence_release()
            khata_store_relaxed_u64(balances, change.debitsPending)
            khata_store_relaxed_u64(balances + 1, change.debitsPosted)
            khata_store_relaxed_u64(balances + 2, change.creditsPending)
            khata_store_relaxed_u64(balances + 3, change.creditsPosted)
            khata_store_release_u64(version, current + 2)
        }
        for refund in mark.refunds { committed.refunds.set(refund.amountMinor, transfer: refund.index) }
        for change in mark.transfers {
            khata_store_release_u8(
                TransferRecord.committedStateAddress(tables.transfers.pointer(Int(change.index))), change.state)
        }
        let resolved = mark.transfers.count { change in
            let state = change.state & TransferRecord.stateMask
            return state == TransferState.pendingPosted.rawValue || state == TransferState.pendingVoided.rawValue
                || state == TransferState.pendingExpired.rawValue
        }
        if !mark.newHolds.isEmpty || resolved > 0 {
            committed.expiry.update(newHolds: mark.newHolds, resolved: resolved) { entry in
                isOpenHold(entry, below: mark.transferCount)
            }
        }
        committed.accountCount.store(mark.accountCount, ordering: .releasing)
        committed.transferCount.store(mark.transferCount, ordering: .releasing)
        committed.sequence.store(through, ordering: .releasing)
    }

    // MARK: Reading

    /// The committed state byte of the transfer at `index`.
    private func committedState(_ index: Int) -> UInt8 {
        khata_load_acquire_u8(TransferRecord.committedStateAddress(tables.transfers.pointer(index)))
    }

    /// Whether a queued hold is still pending as of the committed state, and the same hold (its
    /// record was not rolled back and reused).
    private func isOpenHold(_ entry: ExpiryQueue.Entry, below limit: Int) -> Bool {
        entry.record >= 0 && entry.record < limit
            && tables.transfers.pointer(entry.record).pointee.timestamp == entry.timestamp
            && committedState(entry.record) & TransferRecord.stateMask == TransferState.pending.rawValue
    }

    /// The account at `index` with its committed balances, read under its seqlock.
    private func committedAccount(at index: Int) -> Account {
        let (stored, version) = AccountRecord.committedAddresses(tables.accounts.pointer(index))
        var balances: (UInt64, UInt64, UInt64, UInt64)
        while true {
            let before = khata_load_acquire_u64(version)
            balances = (
                khata_load_relaxed_u64(stored), khata_load_relaxed_u64(stored + 1),
                khata_load_relaxed_u64(stored + 2), khata_load_relaxed_u64(stored + 3)
            )
            khata_fence_acquire()
            if before & 1 == 0 && khata_load_relaxed_u64(version) == before { break }
        }
        return tables.account(at: index, balances: balances)
    }

    func accountIndex(_ id: UInt128) -> Int? {
        guard id != 0 else { return nil }
        let limit = accountLimit
        return tables.accountIndex.read(idHash(id)) { index in
            index < limit && tables.accounts.pointer(index).pointee.hasId(id)
        }
    }

    /// The account as of the last durable group.
    func account(id: UInt128) -> Account? {
        accountIndex(id).map { committedAccount(at: $0) }
    }

    /// The account with this key as of the last durable group.
    func account(key: String) -> Account? {
        let limit = accountLimit
        var key = key
        let index = key.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            return tables.keyIndex.read(keyHash(raw)) { index in
                index < limit && tables.accounts.pointer(index).pointee.keyEquals(raw)
            }
        }
        return index.map { committedAccount(at: $0) }
    }

    /// The transfer as of the last durable group; `DamagedRecord` when a record it is described
    /// from failed its checksum in the log.
    func transfer(id: UInt128) throws(DamagedRecord) -> Transfer? {
        guard id != 0 else { return nil }
        let limit = transferLimit
        guard let index = transferIndex(id, below: limit) else { return nil }
        return try describe(index, limit: limit)
    }

    /// The record index of committed transfer `id` among the first `limit` transfers.
    private func transferIndex(_ id: UInt128, below limit: Int) -> Int? {
        tables.transferIndex.read(idHash(id)) { index in
            index < limit && tables.transfers.pointer(index).pointee.hasId(id)
        }
    }

    /// A committed transfer's log sequence, timestamp and state, from memory alone.
    func transferStamp(id: UInt128) -> TransferStamp? {
        guard id != 0 else { return nil }
        let limit = transferLimit
        guard let found = transferIndex(id, below: limit),
            let state = TransferState(rawValue: committedState(found) & TransferRecord.stateMask)
        else { return nil }
        let record = tables.transfers.pointer(found).pointee
        return TransferStamp(sequence: record.sequence, timestampNanoseconds: record.timestamp, state: state)
    }

    /// The committed transfer at `index`, read back from the log.
    func describe(_ index: Int, limit: Int) throws(DamagedRecord) -> Transfer? {
        try tables.describe(
            index, state: committedState,
            find: { id in transferIndex(id, below: limit) },
            request: committedRequest,
            refunded: { index in committed.refunds.amount(transfer: UInt32(index)) })
    }

    /// Every committed account, in creation order.
    var allAccounts: [Account] { (0..<accountLimit).map { committedAccount(at: $0) } }

    /// Up to `limit` committed accounts in creation order, after the first `after`.
    func accounts(after: Int, limit: Int) -> [Account] {
        let bound = accountLimit
        let start = min(max(after, 0), bound)
        return (start..<min(start + max(limit, 0), bound)).map { committedAccount(at: $0) }
    }

    /// Number of committed accounts and transfers.
    var accountCount: Int { accountLimit }
    var transferCount: Int { transferLimit }

    /// Up to `limit` transfers of an account in commit order, after the one whose timestamp is
    /// `after` (0: from the first). Following a page's last timestamp costs one binary search;
    /// any other cursor walks the account's history from its start. Each transfer is read back
    /// from the log; a damaged one throws rather than leave a silent gap in the history.
    func history(accountId: UInt128, after: UInt64, limit: Int) throws(DamagedRecord) -> [Transfer] {
        guard let account = accountIndex(accountId), limit > 0 else { return [] }
        let bound = transferLimit
        var current = tables.firstTransfer(ofAccount: account)
        var skipping = after != 0
        if after != 0, let cursor = recordIndex(timestamp: after, below: bound),
            let transfer = try describe(cursor, limit: bound),
            transfer.fields.debitAccountId == accountId || transfer.fields.creditAccountId == accountId
        {
            current = tables.next(after: cursor, debitSide: transfer.fields.debitAccountId == accountId)
            skipping = false
        }
        var page: [Transfer] = []
        while page.count < limit, current != noRecord, Int(current) < bound {
            // A link read just as a chain rolled back may name a reused record: stop there.
            guard let transfer = try describe(Int(current), limit: bound),
                transfer.fields.debitAccountId == accountId || transfer.fields.creditAccountId == accountId
            else { break }
            if !skipping || transfer.timestamp > after {
                skipping = false
                page.append(transfer)
            }
            current = tables.next(after: Int(current), debitSide: transfer.fields.debitAccountId == accountId)
        }
        return page
    }

    /// The committed record with exactly this timestamp (records are in timestamp order).
    private func recordIndex(timestamp: UInt64, below bound: Int) -> Int? {
        var low = 0
        var high = bound
        while low < high {
            let middle = (low + high) / 2
            if tables.transfers.pointer(middle).pointee.timestamp < timestamp {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < bound && tables.transfers.pointer(low).pointee.timestamp == timestamp ? low : nil
    }

    /// Up to `limit` committed holds whose payment window has closed at `now`, earliest first:
    /// what the expiry job releases. Read without locks (see `CommittedExpiry`).
    func dueHolds(at now: UInt64, limit: Int) -> [UInt128] {
        let bound = transferLimit
        return committed.expiry.due(at: now, limit: limit) { isOpenHold($0, below: bound) }.map {
            tables.transfers.pointer($0.record).pointee.id
        }
    }
}
