/// The whole state as bytes, for checkpoints: restoring a snapshot and replaying the log after it
/// gives exactly the state a full replay gives. Little-endian, fixed-size entries written with
/// plain stores (a snapshot of millions of transfers takes a fraction of a second); versioned so
/// a later layout can refuse, or convert, an older one.
///
/// Layout (version 3): magic `KHLS`, version u16, last timestamp u64, account count u32,
/// transfer count u64; then per account (135 bytes) id u128, key length u8, key 64 bytes
/// (zero-padded), currency u16, flags u16, code u16, debits pending, debits posted, credits
/// pending, credits posted u64, timestamp u64, first and last transfer u32; then per transfer
/// (102 bytes) id u128, reference 32 bytes, timestamp, amount, refunded u64, debit account,
/// credit account, pending, timeout, next of debit, next of credit u32, code u16, flags u16,
/// state u8, given u8. Account and transfer references are record numbers; all ones is none.
extension LedgerState {
    static let snapshotMagic: [UInt8] = Array("KHLS".utf8)
    static let snapshotVersion: UInt16 = 3
    static let snapshotHeaderBytes = 4 + 2 + 8 + 4 + 8
    static let snapshotAccountBytes = 135
    static let snapshotTransferBytes = 102

    /// The state as bytes.
    public func snapshot() -> [UInt8] {
        let size =
            Self.snapshotHeaderBytes + accounts.count * Self.snapshotAccountBytes
            + transfers.count * Self.snapshotTransferBytes
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = SnapshotWriter(base: UnsafeMutableRawPointer(buffer.baseAddress!))
            for byte in Self.snapshotMagic { writer.put(byte) }
            writer.put(Self.snapshotVersion)
            writer.put(lastTimestamp)
            writer.put(UInt32(accounts.count))
            writer.put(UInt64(transfers.count))
            for index in 0..<accounts.count {
                let account = accounts[index]
                writer.put(account.idLow)
                writer.put(account.idHigh)
                writer.put(account.keyLength)
                writer.put(words: account.key)
                writer.put(account.currency)
                writer.put(account.flags)
                writer.put(account.code)
                writer.put(account.debitsPending)
                writer.put(account.debitsPosted)
                writer.put(account.creditsPending)
                writer.put(account.creditsPosted)
                writer.put(account.timestamp)
                writer.put(account.firstTransfer)
                writer.put(account.lastTransfer)
            }
            for index in 0..<transfers.count {
                let transfer = transfers[index]
                writer.put(transfer.idLow)
                writer.put(transfer.idHigh)
                writer.put(transfer.reference.0)
                writer.put(transfer.reference.1)
                writer.put(transfer.reference.2)
                writer.put(transfer.reference.3)
                writer.put(transfer.timestamp)
                writer.put(transfer.amountMinor)
                writer.put(transfer.refundedMinor)
                writer.put(transfer.debitAccount)
                writer.put(transfer.creditAccount)
                writer.put(transfer.pending)
                writer.put(transfer.timeoutSeconds)
                writer.put(transfer.nextOfDebit)
                writer.put(transfer.nextOfCredit)
                writer.put(transfer.code)
                writer.put(transfer.flags)
                writer.put(transfer.state)
                writer.put(transfer.given)
            }
            precondition(writer.offset == size, "snapshot size \(writer.offset), expected \(size)")
            initialized = size
        }
    }

    /// Rebuilds a state from `snapshot()` bytes; a damaged or unknown snapshot is an error.
    public convenience init(snapshot bytes: [UInt8], expectedAccounts: Int = 1_024, expectedTransfers: Int = 65_536)
        throws(SnapshotError)
    {
        guard bytes.count >= Self.snapshotHeaderBytes, Array(bytes[0..<4]) == Self.snapshotMagic else {
            throw SnapshotError("not a ledger snapshot (magic)")
        }
        let header = bytes.withUnsafeBytes { raw in
            var reader = SnapshotReader(base: raw.baseAddress!, offset: 4)
            return (reader.get(UInt16.self), reader.get(UInt64.self), reader.get(UInt32.self), reader.get(UInt64.self))
        }
        guard header.0 == Self.snapshotVersion else {
            throw SnapshotError("snapshot version \(header.0); this build reads \(Self.snapshotVersion)")
        }
        let accountCount = Int(header.2)
        guard header.3 <= UInt64(TagIndex.maximumRecord) else { throw SnapshotError("transfer count \(header.3)") }
        let transferCount = Int(header.3)
        let expectedSize =
            Self.snapshotHeaderBytes + accountCount * Self.snapshotAccountBytes + transferCount
            * Self.snapshotTransferBytes
        guard bytes.count == expectedSize else {
            throw SnapshotError("snapshot is \(bytes.count) bytes; its counts say \(expectedSize)")
        }
        self.init(
            expectedAccounts: max(expectedAccounts, accountCount),
            expectedTransfers: max(expectedTransfers, transferCount))
        lastTimestamp = header.1
        // withUnsafeBytes rethrows untyped errors, so the typed error travels in a Result.
        let outcome: Result<Void, SnapshotError> = bytes.withUnsafeBytes { raw in
            Result { () throws(SnapshotError) in
                var reader = SnapshotReader(base: raw.baseAddress!, offset: Self.snapshotHeaderBytes)
                for _ in 0..<accountCount { try restoreAccount(&reader, transferCount: transferCount) }
                for index in 0..<transferCount {
                    try restoreTransfer(&reader, index: index, accountCount: accountCount, transferCount: transferCount)
                }
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

    private func restoreTransfer(_ reader: inout SnapshotReader, index: Int, accountCount: Int, transferCount: Int)
        throws(SnapshotError)
    {
        var record = TransferRecord(
            idLow: reader.get(UInt64.self), idHigh: reader.get(UInt64.self), reference: reader.quad(),
            timestamp: reader.get(UInt64.self), amountMinor: reader.get(UInt64.self), debitAccount: 0, creditAccount: 0,
            pending: 0, timeoutSeconds: 0, code: 0, flags: 0, state: 0, committedState: 0, given: 0)
        record.refundedMinor = reader.get(UInt64.self)
        record.committedRefundedMinor = record.refundedMinor
        record.debitAccount = reader.get(UInt32.self)
        record.creditAccount = reader.get(UInt32.self)
        record.pending = reader.get(UInt32.self)
        record.timeoutSeconds = reader.get(UInt32.self)
        record.nextOfDebit = reader.get(UInt32.self)
        record.nextOfCredit = reader.get(UInt32.self)
        record.code = reader.get(UInt16.self)
        record.flags = reader.get(UInt16.self)
        record.state = reader.get(UInt8.self)
        record.committedState = record.state
        record.given = reader.get(UInt8.self)
        guard record.id != 0, TransferState(rawValue: record.state) != nil,
            Int(record.debitAccount) < accountCount, Int(record.creditAccount) < accountCount,
            record.pending == noRecord || Int(record.pending) < index,
            record.nextOfDebit == noRecord || Int(record.nextOfDebit) < transferCount,
            record.nextOfCredit == noRecord || Int(record.nextOfCredit) < transferCount,
            index == 0 || record.timestamp > transfers[index - 1].timestamp
        else { throw SnapshotError("transfer \(index) is inconsistent") }
        let hash = idHash(record.id)
        let probe = tables.transferIndex.find(hash) { transfers.pointer($0).pointee.hasId(record.id) }
        guard probe.record == nil else { throw SnapshotError("transfer id \(record.id) appears twice") }
        transfers.append(record)
        tables.transferIndex.insert(hash, record: index, at: probe)
        if record.state == TransferState.pending.rawValue {
            noteNewHold(ExpiryQueue.Entry(expiresAt: record.expiresAt, timestamp: record.timestamp, record: index))
        }
    }
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

    mutating func words() -> (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
        (
            get(UInt64.self), get(UInt64.self), get(UInt64.self), get(UInt64.self), get(UInt64.self),
            get(UInt64.self), get(UInt64.self), get(UInt64.self)
        )
    }
}
