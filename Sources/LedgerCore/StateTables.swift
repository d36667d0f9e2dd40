/// The memory of a `LedgerState`: account and transfer records in chunked raw memory that never
/// moves, and the indexes over them. The state is its one writer. Words that another thread may
/// read while the state changes (index slots, history links) are written through `Publication`;
/// the `committed…` fields of the records are never written here but by the engine, which makes
/// a group's changes visible once it is durable.
package final class StateTables<Publication: MemoryPublication>: @unchecked Sendable {
    // Safe (@unchecked Sendable): the state is the only writer of records and indexes; what
    // other threads read is either written through `Publication` or covered by a count the
    // engine publishes after writing it.
    package let accounts: ChunkedArray<AccountRecord>
    package let transfers: ChunkedArray<TransferRecord>
    package let accountIndex: TagIndex<Publication>
    package let keyIndex: TagIndex<Publication>
    package let transferIndex: TagIndex<Publication>

    init(
        expectedAccounts: Int, expectedTransfers: Int,
        prepareMemory: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)?
    ) {
        accounts = ChunkedArray(hugePages: true, prepareMemory: prepareMemory)
        transfers = ChunkedArray(hugePages: false, prepareMemory: prepareMemory)
        accountIndex = TagIndex(minimumCapacity: max(expectedAccounts, 16))
        keyIndex = TagIndex(minimumCapacity: max(expectedAccounts, 16))
        transferIndex = TagIndex(minimumCapacity: max(expectedTransfers, 1_024))
    }

    // MARK: History links, written by the state and followed by readers

    func storeFirstTransfer(_ transfer: UInt32, account: Int) {
        Publication.publish(transfer, at: AccountRecord.firstTransferAddress(accounts.pointer(account)))
    }

    func storeLink(_ next: UInt32, record: Int, debitSide: Bool) {
        Publication.publish(next, at: TransferRecord.nextAddress(transfers.pointer(record), debitSide: debitSide))
    }

    /// The first transfer of the account at `index`, safe to read while the state appends.
    package func firstTransfer(ofAccount index: Int) -> UInt32 {
        Publication.observe(AccountRecord.firstTransferAddress(accounts.pointer(index)))
    }

    /// The transfer after `record` in the history of its debit or credit account.
    package func next(after record: Int, debitSide: Bool) -> UInt32 {
        Publication.observe(TransferRecord.nextAddress(transfers.pointer(record), debitSide: debitSide))
    }

    // MARK: Building values

    /// The account at `index` with the given balances (debits pending, debits posted, credits
    /// pending, credits posted): the live ones, or the committed ones the engine read.
    package func account(at index: Int, balances: (UInt64, UInt64, UInt64, UInt64)) -> Account {
        let pointer = accounts.pointer(index)
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

    /// The account at `index` with its live balances (the state's thread only).
    func liveAccount(at index: Int) -> Account {
        let record = accounts.pointer(index).pointee
        return account(
            at: index,
            balances: (record.debitsPending, record.debitsPosted, record.creditsPending, record.creditsPosted))
    }

    /// The transfer at `index` as readers see it: its request read back by `request`, with the
    /// accounts and amount a post, void or refund left out filled in from the hold or original
    /// (found by `find`), the state byte `state` gives (live or committed), and `refunded`.
    /// Nil when a request is not in the log (a record read while a chain rolled back); a request
    /// whose copy in the log is damaged throws, so that nothing is decided on it.
    package func describe(
        _ index: Int, state: (Int) -> UInt8, find: (UInt128) -> Int?, request: (UInt64) -> RequestRead,
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
        let stateByte = state(index)
        guard let transferState = TransferState(rawValue: stateByte & TransferRecord.stateMask),
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
                let resolved = try describe(original, state: state, find: find, request: request, refunded: refunded)
            else { return nil }
            fields.debitAccountId = resolved.fields.creditAccountId
            fields.creditAccountId = resolved.fields.debitAccountId
        }
        let expiresAt =
            fields.flags.contains(.pending)
            ? timestamp &+ UInt64(fields.timeoutSeconds) &* nanosecondsPerSecond : 0
        return Transfer(
            fields: fields, state: transferState, timestamp: timestamp, sequence: pointer.pointee.sequence,
            expiresAt: expiresAt,
            refundedMinor: stateByte & TransferRecord.refundedBit != 0 ? refunded(index) : 0)
    }
}
