import CKhataSupport
import Synchronization

/// The memory the sequencer's `LedgerState` and the readers' `LedgerView` share: records in
/// chunked raw memory that never moves, indexes that readers probe with atomic loads, and the
/// counts of records that are committed (durable), which readers never look beyond.
final class LedgerTables: @unchecked Sendable {
    // Safe (@unchecked Sendable): the sequencer is the only writer of records and indexes; the
    // I/O thread is the only writer of `committed…` fields and the committed counts, which it
    // stores with release after writing what they cover; readers load them with acquire and
    // read only fields that no longer change or that are written atomically.
    let accounts = ChunkedArray<AccountRecord>(hugePages: true)
    let transfers = ChunkedArray<TransferRecord>(hugePages: false)
    /// Reads the request of a committed transfer by log sequence; set by the engine before any
    /// reader starts.
    var committedRequest: (@Sendable (UInt64) -> RequestRead)?
    /// Refunded amounts of committed transfers whose committed state carries the refunded bit.
    let committedRefunds = CommittedRefunds()
    let accountIndex: TagIndex
    let keyIndex: TagIndex
    let transferIndex: TagIndex
    let committedAccountCount = Atomic<Int>(0)
    let committedTransferCount = Atomic<Int>(0)
    /// Committed open holds by expiry, for the expiry job; entries of holds resolved since stay
    /// until they reach the top.
    let committedExpiry = CommittedExpiry()

    /// Whether a queued hold is still pending as of the committed state, and the same hold (its
    /// record was not rolled back and reused).
    func isOpenHold(_ entry: ExpiryQueue.Entry, below limit: Int) -> Bool {
        entry.record >= 0 && entry.record < limit
            && transfers.pointer(entry.record).pointee.timestamp == entry.timestamp
            && committedState(entry.record) & TransferRecord.stateMask == TransferState.pending.rawValue
    }

    func committedState(_ index: Int) -> UInt8 {
        khata_load_acquire_u8(
            field(UnsafeMutableRawPointer(transfers.pointer(index)), Self.committedStateOffset, UInt8.self))
    }

    init(expectedAccounts: Int, expectedTransfers: Int) {
        accountIndex = TagIndex(minimumCapacity: max(expectedAccounts, 16))
        keyIndex = TagIndex(minimumCapacity: max(expectedAccounts, 16))
        transferIndex = TagIndex(minimumCapacity: max(expectedTransfers, 1_024))
    }

    private static let committedBalancesOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.committed)!
    private static let versionOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.version)!
    private static let firstTransferOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.firstTransfer)!
    private static let nextOfDebitOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.nextOfDebit)!
    private static let nextOfCreditOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.nextOfCredit)!
    static let committedStateOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.committedState)!

    @inline(__always)
    private func field<T>(_ base: UnsafeMutableRawPointer, _ offset: Int, _ type: T.Type) -> UnsafeMutablePointer<T> {
        (base + offset).assumingMemoryBound(to: T.self)
    }

    // MARK: Sequencer-side stores that readers may see

    func storeFirstTransfer(_ transfer: UInt32, account: Int) {
        khata_store_release_u32(
            field(UnsafeMutableRawPointer(accounts.pointer(account)), Self.firstTransferOffset, UInt32.self), transfer)
    }

    func storeLink(_ next: UInt32, record: Int, debitSide: Bool) {
        let offset = debitSide ? Self.nextOfDebitOffset : Self.nextOfCreditOffset
        khata_store_release_u32(field(UnsafeMutableRawPointer(transfers.pointer(record)), offset, UInt32.self), next)
    }

    // MARK: Publishing (the I/O thread)

    /// Makes what `mark` describes visible: committed balances (under each account's seqlock),
    /// transfer states and refunded amounts, new holds, then the new counts.
    func publish(_ mark: CommitMark) {
        for change in mark.accounts {
            let base = UnsafeMutableRawPointer(accounts.pointer(Int(change.index)))
            let version = field(base, Self.versionOffset, UInt64.self)
            let balances = field(base, Self.committedBalancesOffset, UInt64.self)
            let current = khata_load_relaxed_u64(version)
            khata_store_relaxed_u64(version, current + 1)
            khata_fence_release()
            khata_store_relaxed_u64(balances, change.debitsPending)
            khata_store_relaxed_u64(balances + 1, change.debitsPosted)
            khata_store_relaxed_u64(balances + 2, change.creditsPending)
            khata_store_relaxed_u64(balances + 3, change.creditsPosted)
            khata_store_release_u64(version, current + 2)
        }
        for refund in mark.refunds { committedRefunds.set(refund.amountMinor, transfer: refund.index) }
        for change in mark.transfers {
            let base = UnsafeMutableRawPointer(transfers.pointer(Int(change.index)))
            khata_store_release_u8(field(base, Self.committedStateOffset, UInt8.self), change.state)
        }
        let resolved = mark.transfers.count { change in
            let state = change.state & TransferRecord.stateMask
            return state == TransferState.pendingPosted.rawValue || state == TransferState.pendingVoided.rawValue
                || state == TransferState.pendingExpired.rawValue
        }
        if !mark.newHolds.isEmpty || resolved > 0 {
            committedExpiry.update(newHolds: mark.newHolds, resolved: resolved) { entry in
                isOpenHold(entry, below: mark.transferCount)
            }
        }
        committedAccountCount.store(mark.accountCount, ordering: .releasing)
        committedTransferCount.store(mark.transferCount, ordering: .releasing)
    }

    // MARK: Building values

    /// The account at `index`: its live balances (sequencer) or its committed ones (readers).
    func account(at index: Int, committed: Bool) -> Account {
        let pointer = accounts.pointer(index)
        let base = UnsafeMutableRawPointer(pointer)
        var balances: (UInt64, UInt64, UInt64, UInt64)
        if committed {
            let version = field(base, Self.versionOffset, UInt64.self)
            let stored = field(base, Self.committedBalancesOffset, UInt64.self)
            while true {
                let before = khata_load_acquire_u64(version)
                balances = (
                    khata_load_relaxed_u64(stored), khata_load_relaxed_u64(stored + 1),
                    khata_load_relaxed_u64(stored + 2), khata_load_relaxed_u64(stored + 3)
                )
                khata_fence_acquire()
                if before & 1 == 0 && khata_load_relaxed_u64(version) == before { break }
            }
        } else {
            let record = pointer.pointee
            balances = (record.debitsPending, record.debitsPosted, record.creditsPending, record.creditsPosted)
        }
        // Safe: the currency was checked when the account was created.
        var account = Account(
            id: pointer.pointee.id, key: pointer.pointee.keyString,
            currency: Currency(numericCode: pointer.pointee.currency)!,
            flags: AccountFlags(rawValue: pointer.pointee.flags), code: pointer.pointee.code,
            timestamp: pointer.pointee.timestamp)
        account.debitsPending = balances.0
        account.debitsPosted = balances.1
        account.creditsPending = balances.2
        account.creditsPosted = balances.3
        return account
    }

    /// The transfer at `index` as readers see it: its request read back by `request`, with the
    /// accounts and amount a post, void or refund left out filled in from the hold or original
    /// (found by `find`), its live state (sequencer) or committed one (readers), and `refunded`.
    /// Nil when a request is not in the log (a record read while a chain rolled back); a request
    /// whose copy in the log is damaged throws, so that nothing is decided on it.
    func describe(
        _ index: Int, committed: Bool, find: (UInt128) -> Int?, request: (UInt64) -> RequestRead,
        refunded: (Int) -> UInt64
    ) throws(DamagedRecord) -> Transfer? {
        func read(_ sequence: UInt64) throws(DamagedRecord) -> NewTransfer? {
            switch request(sequence) {
            case .found(let request): return request
            case .missing: return nil
            case .damaged: throw DamagedRecord(sequence: sequence)
            }
        }
        let pointer = transfers.pointer(index)
        let stateByte =
            committed
            ? khata_load_acquire_u8(
                field(UnsafeMutableRawPointer(pointer), Self.committedStateOffset, UInt8.self))
            : pointer.pointee.state
        guard let state = TransferState(rawValue: stateByte & TransferRecord.stateMask),
            var fields = try read(pointer.pointee.sequence)
        else { return nil }
        let timestamp = pointer.pointee.timestamp
        if fields.flags.contains(.postPending) || fields.flags.contains(.voidPending) {
            guard let hold = find(fields.pendingId), let held = try read(transfers.pointer(hold).pointee.sequence)
            else {
                return nil
            }
            fields.debitAccountId = held.debitAccountId
            fields.creditAccountId = held.creditAccountId
            if fields.flags.contains(.voidPending) || fields.amountMinor == 0 { fields.amountMinor = held.amountMinor }
        } else if fields.flags.contains(.refund) {
            guard let original = find(fields.pendingId),
                let resolved = try describe(
                    original, committed: committed, find: find, request: request, refunded: refunded)
            else { return nil }
            fields.debitAccountId = resolved.fields.creditAccountId
            fields.creditAccountId = resolved.fields.debitAccountId
        }
        let expiresAt =
            fields.flags.contains(.pending)
            ? timestamp &+ UInt64(fields.timeoutSeconds) &* LedgerState.nanosecondsPerSecond : 0
        return Transfer(
            fields: fields, state: state, timestamp: timestamp, expiresAt: expiresAt,
            refundedMinor: stateByte & TransferRecord.refundedBit != 0 ? refunded(index) : 0)
    }

    func firstTransfer(ofAccount index: Int) -> UInt32 {
        khata_load_acquire_u32(
            field(UnsafeMutableRawPointer(accounts.pointer(index)), Self.firstTransferOffset, UInt32.self))
    }

    func next(after record: Int, debitSide: Bool) -> UInt32 {
        let offset = debitSide ? Self.nextOfDebitOffset : Self.nextOfCreditOffset
        return khata_load_acquire_u32(field(UnsafeMutableRawPointer(transfers.pointer(record)), offset, UInt32.self))
    }
}

/// Reads of the committed ledger, from any thread and without locks: what readers see changes
/// only when a commit group becomes durable, so nothing unacknowledged is ever visible.
public struct LedgerView: Sendable {
    let tables: LedgerTables

    /// Makes a commit mark's changes visible; called (by one thread, in commit order) once the
    /// groups the mark covers are durable.
    public func publish(_ mark: CommitMark) { tables.publish(mark) }

    private var accountLimit: Int { tables.committedAccountCount.load(ordering: .acquiring) }
    private var transferLimit: Int { tables.committedTransferCount.load(ordering: .acquiring) }

    func accountIndex(_ id: UInt128) -> Int? {
        guard id != 0 else { return nil }
        let limit = accountLimit
        return tables.accountIndex.read(idHash(id)) { index in
            index < limit && tables.accounts.pointer(index).pointee.hasId(id)
        }
    }

    /// The account as of the last durable group.
    public func account(id: UInt128) -> Account? {
        accountIndex(id).map { tables.account(at: $0, committed: true) }
    }

    /// The account with this key as of the last durable group.
    public func account(key: String) -> Account? {
        let limit = accountLimit
        var key = key
        let index = key.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            return tables.keyIndex.read(keyHash(raw)) { index in
                index < limit && tables.accounts.pointer(index).pointee.keyEquals(raw)
            }
        }
        return index.map { tables.account(at: $0, committed: true) }
    }

    /// The transfer as of the last durable group; `DamagedRecord` when a record it is described
    /// from failed its checksum in the log.
    public func transfer(id: UInt128) throws(DamagedRecord) -> Transfer? {
        guard id != 0 else { return nil }
        let limit = transferLimit
        let index = tables.transferIndex.read(idHash(id)) { index in
            index < limit && tables.transfers.pointer(index).pointee.hasId(id)
        }
        guard let index else { return nil }
        return try describe(index, limit: limit)
    }

    /// The committed transfer at `index`, read back from the log.
    func describe(_ index: Int, limit: Int) throws(DamagedRecord) -> Transfer? {
        guard let read = tables.committedRequest else { return nil }
        return try tables.describe(
            index, committed: true,
            find: { id in
                tables.transferIndex.read(idHash(id)) { candidate in
                    candidate < limit && tables.transfers.pointer(candidate).pointee.hasId(id)
                }
            },
            request: read,
            refunded: { index in tables.committedRefunds.amount(transfer: UInt32(index)) })
    }

    /// Every committed account, in creation order.
    public var allAccounts: [Account] { (0..<accountLimit).map { tables.account(at: $0, committed: true) } }

    /// Number of committed accounts and transfers.
    public var accountCount: Int { accountLimit }
    public var transferCount: Int { transferLimit }

    /// Up to `limit` transfers of an account in commit order, after the one whose timestamp is
    /// `after` (0: from the first). Following a page's last timestamp costs one binary search;
    /// any other cursor walks the account's history from its start. Each transfer is read back
    /// from the log; a damaged one throws rather than leave a silent gap in the history.
    public func history(accountId: UInt128, after: UInt64, limit: Int) throws(DamagedRecord) -> [Transfer] {
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
    public func dueHolds(at now: UInt64, limit: Int) -> [UInt128] {
        let bound = transferLimit
        return tables.committedExpiry.due(at: now, limit: limit) { tables.isOpenHold($0, below: bound) }.map {
            tables.transfers.pointer($0.record).pointee.id
        }
    }
}

/// Refunded amounts of committed transfers, for readers: one writer (the I/O thread, or the
/// opening thread while restoring), readers without locks, through a tag index over slots that
/// never move; an amount is stored atomically.
final class CommittedRefunds: @unchecked Sendable {
    // Safe (@unchecked Sendable): one writer at a time, as above; slots are appended before the
    // index entry that publishes them, and amounts are written and read atomically.
    struct Slot {
        var transfer: UInt64
        var amountMinor: UInt64
    }

    private let index = TagIndex(minimumCapacity: 1_024)
    private let slots = ChunkedArray<Slot>(hugePages: false)

    func set(_ amount: UInt64, transfer: UInt32) {
        let hash = idHash(UInt128(transfer))
        let probe = index.find(hash) { slots.pointer($0).pointee.transfer == UInt64(transfer) }
        if let existing = probe.record {
            khata_store_release_u64(amountAddress(existing), amount)
        } else {
            let slot = slots.append(Slot(transfer: UInt64(transfer), amountMinor: amount))
            index.insert(hash, record: slot, at: probe)
        }
    }

    func amount(transfer: UInt32) -> UInt64 {
        let found = index.read(idHash(UInt128(transfer))) { slots.pointer($0).pointee.transfer == UInt64(transfer) }
        return found.map { khata_load_acquire_u64(amountAddress($0)) } ?? 0
    }

    private func amountAddress(_ slot: Int) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(slots.pointer(slot)).advanced(by: MemoryLayout<Slot>.offset(of: \Slot.amountMinor)!)
            .assumingMemoryBound(to: UInt64.self)
    }
}
