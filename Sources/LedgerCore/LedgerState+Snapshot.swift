/// The whole state as bytes, for checkpoints: restoring a snapshot and replaying the log after it
/// gives exactly the state a full replay gives. Little-endian; versioned so a later layout can
/// refuse, or convert, an older one.
///
/// Layout (version 2): magic `KHLS`, version u16, last timestamp u64, account count u32, then per
/// account id u128, key (u8 length + UTF-8), currency u16, flags u16, code u16, the four balances
/// u64, timestamp u64; transfer count u64, then per transfer the request as sent and the resolved
/// fields (each: id, debit, credit u128, amount u64, pending id u128, timeout u32, code u16,
/// flags u16, reference 32 bytes), state u8, timestamp, expires-at and refunded u64.
extension LedgerState {
    static let snapshotMagic: [UInt8] = Array("KHLS".utf8)
    static let snapshotVersion: UInt16 = 2

    /// The state as bytes.
    public func snapshot() -> [UInt8] {
        var writer = SnapshotWriter()
        writer.bytes += Self.snapshotMagic
        writer.integer(Self.snapshotVersion)
        writer.integer(lastTimestamp)
        writer.integer(UInt32(accounts.count))
        for account in accounts {
            writer.integer(account.id)
            writer.text(account.key)
            writer.integer(account.currency.numericCode)
            writer.integer(account.flags.rawValue)
            writer.integer(account.code)
            writer.integer(account.debitsPending)
            writer.integer(account.debitsPosted)
            writer.integer(account.creditsPending)
            writer.integer(account.creditsPosted)
            writer.integer(account.timestamp)
        }
        // Sorted by timestamp so that the same state always gives the same bytes.
        let ordered = transfers.values.sorted { $0.transfer.timestamp < $1.transfer.timestamp }
        writer.integer(UInt64(ordered.count))
        for stored in ordered {
            writer.transfer(stored.request)
            writer.transfer(stored.transfer.fields)
            writer.integer(stored.transfer.state.rawValue)
            writer.integer(stored.transfer.timestamp)
            writer.integer(stored.transfer.expiresAt)
            writer.integer(stored.transfer.refundedMinor)
        }
        return writer.bytes
    }

    /// Rebuilds a state from `snapshot()` bytes; a damaged or unknown snapshot is an error.
    public convenience init(snapshot bytes: [UInt8], expectedAccounts: Int = 1_024, expectedTransfers: Int = 65_536)
        throws(SnapshotError)
    {
        self.init(expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers)
        var reader = SnapshotReader(bytes: bytes)
        guard try reader.bytes(4) == Self.snapshotMagic else { throw SnapshotError("not a ledger snapshot (magic)") }
        let version: UInt16 = try reader.integer()
        guard version == Self.snapshotVersion else {
            throw SnapshotError("snapshot version \(version); this build reads \(Self.snapshotVersion)")
        }
        lastTimestamp = try reader.integer()
        let accountCount: UInt32 = try reader.integer()
        for index in 0..<Int(accountCount) {
            let id: UInt128 = try reader.integer()
            let key = try reader.text()
            let numeric: UInt16 = try reader.integer()
            guard let currency = Currency(numericCode: numeric) else {
                throw SnapshotError("unknown currency \(numeric)")
            }
            var account = Account(
                id: id, key: key, currency: currency, flags: AccountFlags(rawValue: try reader.integer()),
                code: try reader.integer(), timestamp: 0)
            account.debitsPending = try reader.integer()
            account.debitsPosted = try reader.integer()
            account.creditsPending = try reader.integer()
            account.creditsPosted = try reader.integer()
            account.timestamp = try reader.integer()
            accounts.append(account)
            accountChanged.append(false)
            accountIndex[id] = index
            keyIndex[key] = index
        }
        let transferCount: UInt64 = try reader.integer()
        for _ in 0..<transferCount {
            let request = try reader.transfer()
            let fields = try reader.transfer()
            let rawState: UInt8 = try reader.integer()
            guard let state = TransferState(rawValue: rawState) else {
                throw SnapshotError("unknown transfer state \(rawState)")
            }
            let transfer = Transfer(
                fields: fields, state: state, timestamp: try reader.integer(), expiresAt: try reader.integer(),
                refundedMinor: try reader.integer())
            transfers[request.id] = StoredTransfer(request: request, transfer: transfer)
            if state == .pending {
                expiry.push(
                    ExpiryQueue.Entry(expiresAt: transfer.expiresAt, timestamp: transfer.timestamp, id: request.id))
            }
        }
        guard reader.isAtEnd else {
            throw SnapshotError("\(bytes.count - reader.offset) bytes after the last transfer")
        }
        // Everything restored counts as changed, so the engine publishes it to readers.
        for index in accounts.indices { noteAccountChange(index) }
        // In commit order, which readers' per-account histories rely on.
        for stored in transfers.values.sorted(by: { $0.transfer.timestamp < $1.transfer.timestamp }) {
            noteTransferChange(stored.request.id)
        }
    }
}

/// Why a snapshot could not be restored.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func text(_ value: String) {
        let utf8 = Array(value.utf8)
        precondition(utf8.count <= 255, "snapshot strings are keys and references, at most 64 bytes")
        bytes.append(UInt8(utf8.count))
        bytes += utf8
    }

    mutating func transfer(_ transfer: NewTransfer) {
        integer(transfer.id)
        integer(transfer.debitAccountId)
        integer(transfer.creditAccountId)
        integer(transfer.amountMinor)
        integer(transfer.pendingId)
        integer(transfer.timeoutSeconds)
        integer(transfer.code)
        integer(transfer.flags.rawValue)
        integer(transfer.reference.bytes.0)
        integer(transfer.reference.bytes.1)
        integer(transfer.reference.bytes.2)
        integer(transfer.reference.bytes.3)
    }
}

struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func bytes(_ count: Int) throws(SnapshotError) -> [UInt8] {
        guard offset + count <= bytes.count else { throw SnapshotError("snapshot ends early at byte \(offset)") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func integer<T: FixedWidthInteger>() throws(SnapshotError) -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        var value = T.zero
        for (shift, byte) in raw.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * shift) }
        return value
    }

    mutating func text() throws(SnapshotError) -> String {
        let length: UInt8 = try integer()
        return String(decoding: try bytes(Int(length)), as: UTF8.self)
    }

    mutating func transfer() throws(SnapshotError) -> NewTransfer {
        let id: UInt128 = try integer()
        let debit: UInt128 = try integer()
        let credit: UInt128 = try integer()
        let amount: UInt64 = try integer()
        let pendingId: UInt128 = try integer()
        let timeout: UInt32 = try integer()
        let code: UInt16 = try integer()
        let flags: UInt16 = try integer()
        let reference = TransferReference(bytes: (try integer(), try integer(), try integer(), try integer()))
        return NewTransfer(
            id: id, debitAccountId: debit, creditAccountId: credit, amountMinor: amount, pendingId: pendingId,
            timeoutSeconds: timeout, code: code, reference: reference, flags: TransferFlags(rawValue: flags))
    }
}
