/// The whole state as bytes, for checkpoints: restoring a snapshot and replaying the log after it
/// gives exactly the state a full replay gives. Little-endian, fixed-size entries written with
/// plain stores; versioned so a later layout can refuse, or convert, an older one.
///
/// Layout (version 4): magic `KHLS`, version u16, last timestamp u64, next sequence u64, then the
/// counts of accounts u32, transfers, open holds, refunded transfers and kept requests (u64
/// each); then per account (136 bytes) id u128, key length u8, key 64 bytes (zero-padded),
/// currency u16, flags u16, code u16, debits pending, debits posted, credits pending, credits
/// posted u64, timestamp u64, first and last transfer u32, last-transfer-is-debit u8; per
/// transfer (41 bytes) id u128, timestamp u64, log sequence u64, state u8, next of debit and of
/// credit u32; per open hold (28 bytes) transfer u32, debit and credit account u32, amount u64,
/// expires-at u64; per refunded transfer (12 bytes) transfer u32, refunded u64; per kept request
/// (112 bytes, only for a state standing alone, whose requests no log holds) the request as the
/// log encodes it. Account and transfer references are record numbers; all ones is none.
extension LedgerState {
    static var snapshotMagic: [UInt8] { Array("KHLS".utf8) }
    static var snapshotVersion: UInt16 { 4 }
    static var snapshotHeaderBytes: Int { 4 + 2 + 8 + 8 + 4 + 8 * 4 }
    static var snapshotAccountBytes: Int { 136 }
    static var snapshotTransferBytes: Int { 41 }
    static var snapshotHoldBytes: Int { 28 }
    static var snapshotRefundBytes: Int { 12 }
    static var snapshotRequestBytes: Int { 112 }

    /// The state as bytes.
    public func snapshot() -> [UInt8] {
        let kept = requests.unlogged
        // Sorted so that the same state always gives the same bytes.
        let openHolds = holds.sorted { $0.key < $1.key }
        let refunds = refunded.sorted { $0.key < $1.key }
        let recordBytes: Int =
            accounts.count * Self.snapshotAccountBytes + transfers.count * Self.snapshotTransferBytes
        let sideBytes: Int =
            openHolds.count * Self.snapshotHoldBytes + refunds.count * Self.snapshotRefundBytes
            + kept.count * Self.snapshotRequestBytes
        let size = Self.snapshotHeaderBytes + recordBytes + sideBytes
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = SnapshotWriter(base: UnsafeMutableRawPointer(buffer.baseAddress!))
            for byte in Self.snapshotMagic { writer.put(byte) }
            writer.put(Self.snapshotVersion)
            writer.put(lastTimestamp)
            writer.put(nextSequence)
            writer.put(UInt32(accounts.count))
            writer.put(UInt64(transfers.count))
            writer.put(UInt64(openHolds.count))
            writer.put(UInt64(refunds.count))
            writer.put(UInt64(kept.count))
            for index in 0..<accounts.count { writer.put(account: accounts.pointer(index).pointee) }
            for index in 0..<transfers.count {
                let transfer = transfers.pointer(index).pointee
                writer.put(transfer.idLow)
                writer.put(transfer.idHigh)
                writer.put(transfer.timestamp)
                writer.put(transfer.sequence)
                writer.put(transfer.state)
                writer.put(transfer.nextOfDebit)
                writer.put(transfer.nextOfCredit)
            }
            for (index, hold) in openHolds {
                writer.put(index)
                writer.put(hold.debitAccount)
                writer.put(hold.creditAccount)
                writer.put(hold.amountMinor)
                writer.put(hold.expiresAt)
            }
            for (index, amount) in refunds {
                writer.put(index)
                writer.put(amount)
            }
            for request in kept { writer.put(request: request) }
            precondition(writer.offset == size, "snapshot size \(writer.offset), expected \(size)")
            initialized = size
        }
    }

    /// Rebuilds a state from `snapshot()` bytes; a damaged or unknown snapshot is an error. The
    /// other parameters are those of `init(expectedAccounts:expectedTransfers:requests:prepareMemory:)`.
    public convenience init(
        snapshot bytes: [UInt8], expectedAccounts: Int = 1_024, expectedTransfers: Int = 65_536,
        requests: any RequestSource = KeptRequests(),
        prepareMemory: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)? = nil
    ) throws(SnapshotError) {
        guard bytes.count >= Self.snapshotHeaderBytes, Array(bytes[0..<4]) == Self.snapshotMagic else {
            throw SnapshotError("not a ledger snapshot (magic)")
        }
        let header = bytes.withUnsafeBytes { raw in
            var reader = SnapshotReader(base: raw.baseAddress!, offset: 4)
            return SnapshotHeader(
                version: reader.get(UInt16.self), lastTimestamp: reader.get(UInt64.self),
                nextSequence: reader.get(UInt64.self), accounts: Int(reader.get(UInt32.self)),
                transfers: reader.get(UInt64.self), holds: reader.get(UInt64.self), refunds: reader.get(UInt64.self),
                requests: reader.get(UInt64.self))
        }
        guard header.version == Self.snapshotVersion else {
            throw SnapshotError("snapshot version \(header.version); this build reads \(Self.snapshotVersion)")
        }
        let limit = UInt64(TagIndex<Publication>.maximumRecord)
        guard header.transfers <= limit, header.holds <= header.transfers, header.refunds <= header.transfers,
            header.requests <= UInt64(bytes.count)
        else { throw SnapshotError("snapshot counts are out of range") }
        let transferCount = Int(header.transfers)
        let expectedSize =
            Self.snapshotHeaderBytes + header.accounts * Self.snapshotAccountBytes
            + transferCount * Self.snapshotTransferBytes + Int(header.holds) * Self.snapshotHoldBytes
            + Int(header.refunds) * Self.snapshotRefundBytes + Int(header.requests) * Self.snapshotRequestBytes
        guard bytes.count == expectedSize else {
            throw SnapshotError("snapshot is \(bytes.count) bytes; its counts say \(expectedSize)")
        }
        self.init(
            expectedAccounts: max(expectedAccounts, header.accounts),
            expectedTransfers: max(expectedTransfers, transferCount), requests: requests, prepareMemory: prepareMemory)
        lastTimestamp = header.lastTimestamp
        nextSequence = header.nextSequence
        // withUnsafeBytes rethrows untyped errors, so the typed error travels in a Result.
        let outcome: Result<Void, SnapshotError> = bytes.withUnsafeBytes { raw in
            Result { () throws(SnapshotError) in
                var reader = SnapshotReader(base: raw.baseAddress!, offset: Self.snapshotHeaderBytes)
                for _ in 0..<header.accounts { try restoreAccount(&reader, transferCount: transferCount) }
                for index in 0..<transferCount {
                    try restoreTransfer(&reader, index: index, transferCount: transferCount)
                }
                try restoreSideTables(&reader, header: header)
            }
        }
        try outcome.get()
    }

    private func restoreAccount(_ reader: inout SnapshotReader, transferCount: Int) throws(SnapshotError) {
        let index = accounts.count
        var record = AccountRecord(
            idLow: reader.get(UInt64.self), idHigh: reader.get(UInt64.self), timestamp: 0, currency: 0, flags: 0,
            code: 0, keyLength: reader.get(UInt8.self), key: reader.words())
        record.currency = reader.get(UInt16.self)
        record.flags = reader.get(UInt16.self)
        record.code = reader.get(UInt16.self)
        record.debitsPending = reader.get(UInt64.self)
        record.debitsPosted = reader.get(UInt64.self)
        record.creditsPending = reader.get(UInt64.self)
        record.creditsPosted = reader.get(UInt64.self)
        record.committed = (record.debitsPending, record.debitsPosted, record.creditsPending, record.creditsPosted)
        record.timestamp = reader.get(UInt64.self)
        record.firstTransfer = reader.get(UInt32.self)
        record.lastTransfer = reader.get(UInt32.self)
        record.lastTransferIsDebit = reader.get(UInt8.self)
        guard record.id != 0, record.keyLength > 0, Int(record.keyLength) <= NewAccount.maximumKeyBytes else {
            throw SnapshotError("account \(index) has id 0 or a bad key length")
        }
        guard Currency(numericCode: record.currency) != nil else {
            throw SnapshotError("account \(index) has unknown currency \(record.currency)")
        }
        for link in [record.firstTransfer, record.lastTransfer] where link != noRecord && Int(link) >= transferCount {
            throw SnapshotError("account \(index) names transfer \(link) of \(transferCount)")
        }
        let hash = idHash(record.id)
        let probe = tables.accountIndex.find(hash) { accounts.pointer($0).pointee.hasId(record.id) }
        guard probe.record == nil else { throw SnapshotError("account id \(record.id) appears twice") }
        accounts.append(record)
        tables.accountIndex.insert(hash, record: index, at: probe)
        let keyProbe = withUnsafeBytes(of: record.key) { raw in
            let key = UnsafeRawBufferPointer(rebasing: raw.prefix(Int(record.keyLength)))
            return (keyHash(key), tables.keyIndex.find(keyHash(key)) { accounts.pointer($0).pointee.keyEquals(key) })
        }
        guard keyProbe.1.record == nil else { throw SnapshotError("account key \(record.keyString) appears twice") }
        tables.keyIndex.insert(keyProbe.0, record: index, at: keyProbe.1)
        accountChanged.append(false)
        // Counted as changed, so the engine publishes every restored account to readers.
        noteAccountChange(index)
    }

    private func restoreTransfer(_ reader: inout SnapshotReader, index: Int, transferCount: Int) throws(SnapshotError) {
        let id = UInt128(reader.get(UInt64.self)) | UInt128(reader.get(UInt64.self)) << 64
        let timestamp = reader.get(UInt64.self)
        let sequence = reader.get(UInt64.self)
        let state = reader.get(UInt8.self)
        guard id != 0, sequence < 1 << 48, TransferState(rawValue: state & TransferRecord.stateMask) != nil,
            index == 0 || timestamp > transfers[index - 1].timestamp
        else { throw SnapshotError("transfer \(index) is inconsistent") }
        var record = TransferRecord(id: id, timestamp: timestamp, sequence: sequence, state: .posted)
        record.state = state
        record.committedState = state
        record.nextOfDebit = reader.get(UInt32.self)
        record.nextOfCredit = reader.get(UInt32.self)
        for link in [record.nextOfDebit, record.nextOfCredit] where link != noRecord && Int(link) >= transferCount {
            throw SnapshotError("transfer \(index) links to transfer \(link) of \(transferCount)")
        }
        let hash = idHash(id)
        let probe = tables.transferIndex.find(hash) { transfers.pointer($0).pointee.hasId(id) }
        guard probe.record == nil else { throw SnapshotError("transfer id \(id) appears twice") }
        transfers.append(record)
        tables.transferIndex.insert(hash, record: index, at: probe)
    }

    private func restoreSideTables(_ reader: inout SnapshotReader, header: SnapshotHeader) throws(SnapshotError) {
        for _ in 0..<header.holds {
            let index = reader.get(UInt32.self)
            let hold = HoldEntry(
                debitAccount: reader.get(UInt32.self), creditAccount: reader.get(UInt32.self),
                amountMinor: reader.get(UInt64.self), expiresAt: reader.get(UInt64.self))
            guard Int(index) < transfers.count, transfers[Int(index)].transferState == .pending,
                Int(hold.debitAccount) < accounts.count, Int(hold.creditAccount) < accounts.count
            else { throw SnapshotError("open hold \(index) is inconsistent") }
            holds[index] = hold
            noteNewHold(
                ExpiryQueue.Entry(
                    expiresAt: hold.expiresAt, timestamp: transfers[Int(index)].timestamp, record: Int(index)))
        }
        for _ in 0..<header.refunds {
            let index = reader.get(UInt32.self)
            let amount = reader.get(UInt64.self)
            guard Int(index) < transfers.count else { throw SnapshotError("refunded transfer \(index) does not exist") }
            refunded[index] = amount
            // Counted as changed, so the engine publishes every restored amount to readers.
            noteRefundChange(index)
        }
        var kept: [NewTransfer] = []
        kept.reserveCapacity(Int(header.requests))
        for _ in 0..<header.requests { kept.append(reader.request()) }
        requests.restoreUnlogged(kept)
    }
}

struct SnapshotHeader {
    var version: UInt16
    var lastTimestamp: UInt64
    var nextSequence: UInt64
    var accounts: Int
    var transfers: UInt64
    var holds: UInt64
    var refunds: UInt64
    var requests: UInt64
}

/// Why a snapshot could not be restored.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Stores little-endian integers one after another into memory sized beforehand.
struct SnapshotWriter {
    let base: UnsafeMutableRawPointer
    var offset = 0

    @inline(__always)
    mutating func put<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func put(account: AccountRecord) {
        put(account.idLow)
        put(account.idHigh)
        put(account.keyLength)
        put(words: account.key)
        put(account.currency)
        put(account.flags)
        put(account.code)
        put(account.debitsPending)
        put(account.debitsPosted)
        put(account.creditsPending)
        put(account.creditsPosted)
        put(account.timestamp)
        put(account.firstTransfer)
        put(account.lastTransfer)
        put(account.lastTransferIsDebit)
    }

    mutating func put(request: NewTransfer) {
        put(request.id)
        put(request.debitAccountId)
        put(request.creditAccountId)
        put(request.amountMinor)
        put(request.pendingId)
        put(request.timeoutSeconds)
        put(request.code)
        put(request.flags.rawValue)
        put(request.reference.bytes.0)
        put(request.reference.bytes.1)
        put(request.reference.bytes.2)
        put(request.reference.bytes.3)
    }

    mutating func put(words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) {
        withUnsafeBytes(of: words) { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: 64) }
        offset += 64
    }
}

/// Loads little-endian integers one after another; the caller checked the total size.
struct SnapshotReader {
    let base: UnsafeRawPointer
    var offset: Int

    @inline(__always)
    mutating func get<T: FixedWidthInteger>(_ type: T.Type) -> T {
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func quad() -> (UInt64, UInt64, UInt64, UInt64) {
        (get(UInt64.self), get(UInt64.self), get(UInt64.self), get(UInt64.self))
    }

    mutating func request() -> NewTransfer {
        let id = get(UInt128.self)
        let debit = get(UInt128.self)
        let credit = get(UInt128.self)
        let amount = get(UInt64.self)
        let pendingId = get(UInt128.self)
        let timeout = get(UInt32.self)
        let code = get(UInt16.self)
        let flags = TransferFlags(rawValue: get(UInt16.self))
        return NewTransfer(
            id: id, debitAccountId: debit, creditAccountId: credit, amountMinor: amount, pendingId: pendingId,
            timeoutSeconds: timeout, code: code, reference: TransferReference(bytes: quad()), flags: flags)
    }

    mutating func words() -> (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
        (
            get(UInt64.self), get(UInt64.self), get(UInt64.self), get(UInt64.self), get(UInt64.self),
            get(UInt64.self), get(UInt64.self), get(UInt64.self)
        )
    }
}
