import LedgerCore
import LedgerStorage

/// The columns of an archive block. A block holds whole commit groups; each column holds one
/// field of every record that has it, so that like bytes sit together and compress together.
/// Nothing the log can recompute is kept: record checksums, sequence numbers and commit records
/// are rebuilt on restore and proven by the chain hashes in the manifest. `docs/ARCHIVE.md`
/// describes every column.
enum LogColumn: Int, CaseIterable {
    /// Records per commit group (varint each).
    case groupSizes
    /// Each record's kind (one byte), or 0 for a record kept whole in `raw`.
    case kinds
    /// Records no layout below fits: kind byte and the 112-byte body.
    case raw
    /// Batch records: sequencer time minus the previous batch's (zigzag varint).
    case batchTimes
    /// Batch records: events in the batch (varint).
    case batchCounts
    /// Account records: the 112-byte body as it is (accounts are few).
    case accountBodies
    /// Transfer ids (16 bytes; ids derived with SHA-256 do not compress).
    case transferIds
    /// Debit and credit accounts: 0 for none, else 1 + the account's number in this file's
    /// account list, one past its end adding the next id from `accountIds` (varint).
    case accountRefs
    /// Account ids in order of first use in the file (16 bytes).
    case accountIds
    /// Amounts in minor units (varint).
    case amounts
    /// Pending ids of transfers and expiries: 0 for none, 1 for an id in `pendingIds`, n ≥ 2 for
    /// the id of the transfer n - 1 transfers back in this file (varint).
    case pendingRefs
    /// Pending ids not found earlier in the file (16 bytes).
    case pendingIds
    /// Hold timeouts in seconds (varint).
    case timeouts
    /// Business codes (varint).
    case codes
    /// Transfer flags (varint).
    case flags
    /// References: 0 for none, 1 for the same as the transfer named by the pending id, n ≥ 2 for
    /// n - 2 bytes in `referenceBytes` (varint).
    case referenceCodes
    /// Reference text.
    case referenceBytes

    var name: String { String(describing: self) }
}

/// The record kinds with their own layout (the ledger's events, `EventCodec` in `Ledger`).
enum LedgerKind {
    static let batch: UInt8 = 16
    static let account: UInt8 = 17
    static let transfer: UInt8 = 18
    static let expiry: UInt8 = 19
    /// In the kinds column: the record is in `raw`.
    static let raw: UInt8 = 0
}

/// The ids and references of the transfers decoded so far in a file, by their order among its
/// transfers, for the back references that name them. Held in memory straight from the kernel
/// with transparent huge pages: a quarter of a million transfers per file otherwise fault in
/// three thousand pages one by one, a tenth of verify's time.
final class TransferRecall {
    private(set) var count = 0
    private var capacity: Int
    private var memory: ZeroedMemory
    private var ids: UnsafeMutablePointer<UInt128>
    private var references: UnsafeMutablePointer<SIMD32<UInt8>>

    static let entryBytes = MemoryLayout<UInt128>.stride + MemoryLayout<SIMD32<UInt8>>.stride

    init(capacity: Int) {
        self.capacity = max(capacity, 1_024)
        (memory, ids, references) = Self.allocate(self.capacity)
    }

    deinit { memory.release() }

    private static func allocate(_ capacity: Int) -> (
        ZeroedMemory, UnsafeMutablePointer<UInt128>, UnsafeMutablePointer<SIMD32<UInt8>>
    ) {
        let memory = ZeroedMemory(bytes: capacity * entryBytes)
        let references = memory.base.bindMemory(to: SIMD32<UInt8>.self, capacity: capacity)
        let ids = (memory.base + capacity * MemoryLayout<SIMD32<UInt8>>.stride).bindMemory(
            to: UInt128.self, capacity: capacity)
        return (memory, ids, references)
    }

    func append(id: UInt128, reference: SIMD32<UInt8>) {
        if count == capacity {
            // More transfers than the manifest announced (it is checked at the end): grow.
            let (bigger, newIds, newReferences) = Self.allocate(capacity * 2)
            newIds.update(from: ids, count: count)
            newReferences.update(from: references, count: count)
            memory.release()
            (memory, ids, references) = (bigger, newIds, newReferences)
            capacity *= 2
        }
        ids[count] = id
        references[count] = reference
        count += 1
    }

    func id(_ ordinal: Int) -> UInt128 { ids[ordinal] }
    func reference(_ ordinal: Int) -> SIMD32<UInt8> { references[ordinal] }
}

/// Turns verified commit groups into column blocks. One encoder per archive file: the account
/// list and the back references span the file, so each file decodes on its own.
final class LogColumnEncoder {
    // One stored property per column: reaching a column through an array retained and released
    // it on every field of every record.
    private let groupSizes = ColumnBuffer()
    private let kinds = ColumnBuffer()
    private let raw = ColumnBuffer()
    private let batchTimes = ColumnBuffer()
    private let batchCounts = ColumnBuffer()
    private let accountBodies = ColumnBuffer()
    private let transferIds = ColumnBuffer()
    private let accountRefs = ColumnBuffer()
    private let accountIds = ColumnBuffer()
    private let amounts = ColumnBuffer()
    private let pendingRefs = ColumnBuffer()
    private let pendingIds = ColumnBuffer()
    private let timeouts = ColumnBuffer()
    private let codes = ColumnBuffer()
    private let flags = ColumnBuffer()
    private let referenceCodes = ColumnBuffer()
    private let referenceBytes = ColumnBuffer()
    private var previousBatchTime: UInt64 = 0
    private var accountNumbers = IdTable(capacity: 1 << 10)
    private var transferOrdinals = IdTable(capacity: 1 << 16)
    private var transferReferences: [SIMD32<UInt8>] = []
    private(set) var recordsInBlock = 0
    private(set) var groupsInBlock = 0

    init() { transferReferences.reserveCapacity(1 << 16) }

    /// The columns in `LogColumn` order.
    private var columns: [ColumnBuffer] {
        [
            groupSizes, kinds, raw, batchTimes, batchCounts, accountBodies, transferIds, accountRefs, accountIds,
            amounts, pendingRefs, pendingIds, timeouts, codes, flags, referenceCodes, referenceBytes,
        ]
    }

    /// Counts of what went where, for the manifest.
    private(set) var counts = RecordCounts()
    /// Sequencer times of the first and last batch encoded.
    private(set) var firstBatchTime: UInt64?
    private(set) var lastBatchTime: UInt64?

    /// Adds one group's records (as on disk, 128 bytes each).
    func add(records: UnsafeRawPointer, count: Int) {
        groupSizes.append(varint: UInt64(count))
        for index in 0..<count {
            let slot = records + index * Format.recordSizeBytes
            add(kind: slot.load(fromByteOffset: 4, as: UInt8.self), body: slot + Format.recordBodyOffset)
        }
        recordsInBlock += count
        groupsInBlock += 1
        counts.groups += 1
    }

    private func add(kind: UInt8, body: UnsafeRawPointer) {
        counts.records += 1
        switch kind {
        case LedgerKind.batch where Self.isZero(body + 12, count: 100):
            let time = body.loadUnaligned(as: UInt64.self).littleEndian
            let delta = Int64(bitPattern: time &- previousBatchTime)
            previousBatchTime = time
            if firstBatchTime == nil { firstBatchTime = time }
            lastBatchTime = time
            kinds.append(byte: kind)
            batchTimes.append(varint: UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
            batchCounts.append(varint: UInt64(body.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian))
            counts.batches += 1
        case LedgerKind.account:
            kinds.append(byte: kind)
            accountBodies.append(body, count: Format.recordBodySizeBytes)
            counts.accounts += 1
        case LedgerKind.transfer:
            guard let referenceLength = Self.referenceLength(body + 80) else { return addRaw(kind: kind, body: body) }
            kinds.append(byte: kind)
            transferIds.append(body, count: 16)
            addAccount(body + 16)
            addAccount(body + 32)
            amounts.append(varint: body.loadUnaligned(fromByteOffset: 48, as: UInt64.self).littleEndian)
            let pendingOrdinal = addPending(body + 56)
            timeouts.append(
                varint: UInt64(body.loadUnaligned(fromByteOffset: 72, as: UInt32.self).littleEndian))
            codes.append(varint: UInt64(body.loadUnaligned(fromByteOffset: 76, as: UInt16.self).littleEndian))
            flags.append(varint: UInt64(body.loadUnaligned(fromByteOffset: 78, as: UInt16.self).littleEndian))
            let reference = body.loadUnaligned(fromByteOffset: 80, as: SIMD32<UInt8>.self)
            if let pendingOrdinal, transferReferences[Int(pendingOrdinal)] == reference, referenceLength > 0 {
                referenceCodes.append(varint: 1)
            } else if referenceLength == 0 {
                referenceCodes.append(varint: 0)
            } else {
                referenceCodes.append(varint: UInt64(referenceLength + 2))
                referenceBytes.append(body + 80, count: referenceLength)
            }
            let id = body.loadUnaligned(as: UInt128.self)
            if id != 0 { transferOrdinals.set(id, UInt32(transferReferences.count)) }
            transferReferences.append(reference)
            counts.transfers += 1
        case LedgerKind.expiry where Self.isZero(body + 16, count: 96):
            kinds.append(byte: kind)
            _ = addPending(body)
            counts.expiries += 1
        default:
            addRaw(kind: kind, body: body)
        }
    }

    private func addRaw(kind: UInt8, body: UnsafeRawPointer) {
        kinds.append(byte: LedgerKind.raw)
        raw.append(byte: kind)
        raw.append(body, count: Format.recordBodySizeBytes)
        counts.other += 1
    }

    @inline(__always)
    private func addAccount(_ field: UnsafeRawPointer) {
        let id = field.loadUnaligned(as: UInt128.self)
        if id == 0 { return accountRefs.append(varint: 0) }
        if let number = accountNumbers.value(for: id) { return accountRefs.append(varint: UInt64(number) + 1) }
        let number = UInt32(accountNumbers.count)
        accountNumbers.set(id, number)
        accountRefs.append(varint: UInt64(number) + 1)
        accountIds.append(field, count: 16)
    }

    /// Writes the pending id's reference; answers the ordinal of the transfer it names, if any.
    @inline(__always)
    private func addPending(_ field: UnsafeRawPointer) -> UInt32? {
        let id = field.loadUnaligned(as: UInt128.self)
        if id == 0 {
            pendingRefs.append(varint: 0)
            return nil
        }
        if let ordinal = transferOrdinals.value(for: id) {
            pendingRefs.append(varint: UInt64(UInt32(transferReferences.count) - ordinal) + 1)
            return ordinal
        }
        pendingRefs.append(varint: 1)
        pendingIds.append(field, count: 16)
        return nil
    }

    /// The reference's length: its bytes up to the first zero, when every byte after is zero
    /// (as `TransferReference` writes it); `nil` for any other pattern.
    @inline(__always)
    static func referenceLength(_ field: UnsafeRawPointer) -> Int? {
        let bytes = field.loadUnaligned(as: SIMD32<UInt8>.self)
        let zeros = bytes .== SIMD32<UInt8>(repeating: 0)
        var length = 32
        for index in 0..<32 where zeros[index] {
            length = index
            break
        }
        for index in length..<32 where !zeros[index] { return nil }
        return length
    }

    static func isZero(_ pointer: UnsafeRawPointer, count: Int) -> Bool {
        for offset in 0..<count where pointer.load(fromByteOffset: offset, as: UInt8.self) != 0 { return false }
        return true
    }

    /// Appends the block (records, groups, then each column with its length) to `output` and
    /// starts the next; the file's account list and back references carry on.
    func finishBlock(into output: ColumnBuffer) {
        output.append(varint: UInt64(recordsInBlock))
        output.append(varint: UInt64(groupsInBlock))
        for column in columns {
            output.append(varint: UInt64(column.count))
            output.append(column)
            column.removeAll()
        }
        recordsInBlock = 0
        groupsInBlock = 0
    }
}

/// What an archive file holds, by record layout.
public struct RecordCounts: Codable, Equatable, Sendable {
    public var groups = 0
    public var records = 0
    public var batches = 0
    public var accounts = 0
    public var transfers = 0
    public var expiries = 0
    /// Records kept whole (kinds this version has no layout for).
    public var other = 0

    public init(
        groups: Int = 0, records: Int = 0, batches: Int = 0, accounts: Int = 0, transfers: Int = 0,
        expiries: Int = 0, other: Int = 0
    ) {
        self.groups = groups
        self.records = records
        self.batches = batches
        self.accounts = accounts
        self.transfers = transfers
        self.expiries = expiries
        self.other = other
    }

    public static func + (lhs: RecordCounts, rhs: RecordCounts) -> RecordCounts {
        RecordCounts(
            groups: lhs.groups + rhs.groups, records: lhs.records + rhs.records, batches: lhs.batches + rhs.batches,
            accounts: lhs.accounts + rhs.accounts, transfers: lhs.transfers + rhs.transfers,
            expiries: lhs.expiries + rhs.expiries, other: lhs.other + rhs.other)
    }
}

/// Turns column blocks back into records, exactly as they were, group by group. Every count and
/// length is checked: a damaged block is an error, never a crash or a wrong record.
final class LogColumnDecoder {
    private var previousBatchTime: UInt64 = 0
    private var accountIds: [UInt128] = []
    private let recall: TransferRecall
    private(set) var counts = RecordCounts()
    /// Room for the largest group plus its commit record.
    private let groupMemory = ZeroedMemory(
        bytes: (Format.maximumGroupRecords + 1) * Format.recordSizeBytes)
    private var groupBuffer: UnsafeMutableRawPointer { groupMemory.base }

    deinit { groupMemory.release() }

    /// A decoder for a file the manifest says holds `transfers` transfers: the recall tables are
    /// sized once (growing them page-faulted through a fifth of verify's time).
    init(expectedTransfers: Int = 0) {
        recall = TransferRecall(capacity: min(max(expectedTransfers, 0), 1 << 24))
    }

    /// Decodes one block body; `emit` gets each group's records (kind and body set, room for the
    /// commit record after them) and its record count.
    func decodeBlock(
        _ block: UnsafeRawBufferPointer, emit: (UnsafeMutableRawPointer, Int) throws(ArchiveDamage) -> Void
    ) throws(ArchiveDamage) {
        do throws(ColumnDamage) {
            var header = ColumnReader(block, name: "block header")
            let recordCount = try header.varint()
            let groupCount = try header.varint()
            var columns: [ColumnReader] = []
            columns.reserveCapacity(LogColumn.allCases.count)
            for column in LogColumn.allCases {
                let length = try header.varint()
                guard length <= UInt64(block.count) else { throw ColumnDamage("column \(column.name) is too long") }
                let start = try header.take(Int(length))
                columns.append(
                    ColumnReader(
                        UnsafeRawBufferPointer(start: start, count: Int(length)), name: column.name))
            }
            guard header.isAtEnd else { throw ColumnDamage("the block has bytes after its last column") }
            var readers = BlockReaders(columns)
            guard recordCount <= UInt64(block.count), groupCount <= recordCount else {
                throw ColumnDamage("the block declares \(recordCount) records in \(groupCount) groups")
            }
            var decoded: UInt64 = 0
            for _ in 0..<groupCount {
                let size = try readers.groupSizes.varint()
                guard size >= 1, size <= UInt64(Format.maximumGroupRecords), decoded + size <= recordCount else {
                    throw ColumnDamage("a group of \(size) records does not fit the block")
                }
                for index in 0..<Int(size) {
                    try decodeRecord(into: groupBuffer + index * Format.recordSizeBytes, readers: &readers)
                }
                decoded += size
                counts.groups += 1
                do throws(ArchiveDamage) { try emit(groupBuffer, Int(size)) } catch {
                    throw ColumnDamage(error.reason)
                }
            }
            guard decoded == recordCount else {
                throw ColumnDamage("the block declares \(recordCount) records but its groups hold \(decoded)")
            }
            for reader in readers.all where !reader.isAtEnd {
                throw ColumnDamage("column \(reader.name) has \(reader.count - reader.position) bytes left over")
            }
        } catch {
            throw ArchiveDamage(error.reason)
        }
    }

    private func decodeRecord(into slot: UnsafeMutableRawPointer, readers: inout BlockReaders) throws(ColumnDamage) {
        let body = slot + Format.recordBodyOffset
        let kind = try readers.kinds.byte()
        counts.records += 1
        switch kind {
        case LedgerKind.batch:
            let zigzag = try readers.batchTimes.varint()
            let delta = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
            previousBatchTime = previousBatchTime &+ UInt64(bitPattern: delta)
            let events = try readers.batchCounts.varint()
            guard events <= UInt64(UInt32.max) else { throw ColumnDamage("a batch counts \(events) events") }
            body.initializeMemory(as: UInt8.self, repeating: 0, count: Format.recordBodySizeBytes)
            body.storeBytes(of: previousBatchTime.littleEndian, as: UInt64.self)
            body.storeBytes(of: UInt32(events).littleEndian, toByteOffset: 8, as: UInt32.self)
            counts.batches += 1
        case LedgerKind.account:
            body.copyMemory(
                from: try readers.accountBodies.take(Format.recordBodySizeBytes),
                byteCount: Format.recordBodySizeBytes)
            counts.accounts += 1
        case LedgerKind.transfer:
            try decodeTransfer(into: body, readers: &readers)
            counts.transfers += 1
        case LedgerKind.expiry:
            body.initializeMemory(as: UInt8.self, repeating: 0, count: Format.recordBodySizeBytes)
            _ = try decodePending(into: body, readers: &readers)
            counts.expiries += 1
        case LedgerKind.raw:
            let rawKind = try readers.raw.byte()
            guard rawKind >= RecordKind.firstDataKind else {
                throw ColumnDamage("a raw record has kind \(rawKind), which is not a data kind")
            }
            body.copyMemory(
                from: try readers.raw.take(Format.recordBodySizeBytes),
                byteCount: Format.recordBodySizeBytes)
            slot.storeBytes(of: rawKind, toByteOffset: 4, as: UInt8.self)
            counts.other += 1
            return
        default:
            throw ColumnDamage("record kind \(kind) has no layout")
        }
        slot.storeBytes(of: kind, toByteOffset: 4, as: UInt8.self)
    }

    private func decodeTransfer(into body: UnsafeMutableRawPointer, readers: inout BlockReaders) throws(ColumnDamage) {
        let id = try readers.transferIds.take(16).loadUnaligned(as: UInt128.self)
        body.storeBytes(of: id, as: UInt128.self)
        try decodeAccount(into: body + 16, readers: &readers)
        try decodeAccount(into: body + 32, readers: &readers)
        body.storeBytes(
            of: try readers.amounts.varint().littleEndian, toByteOffset: 48, as: UInt64.self)
        let pendingOrdinal = try decodePending(into: body + 56, readers: &readers)
        body.storeBytes(
            of: UInt32(littleEndian: try narrow(readers.timeouts.varint(), "timeout")),
            toByteOffset: 72, as: UInt32.self)
        body.storeBytes(
            of: UInt16(littleEndian: try narrow(readers.codes.varint(), "code")),
            toByteOffset: 76, as: UInt16.self)
        body.storeBytes(
            of: UInt16(littleEndian: try narrow(readers.flags.varint(), "flags")),
            toByteOffset: 78, as: UInt16.self)
        let code = try readers.referenceCodes.varint()
        let field = body + 80
        switch code {
        case 0:
            field.storeBytes(of: SIMD32<UInt8>(repeating: 0), as: SIMD32<UInt8>.self)
        case 1:
            guard let pendingOrdinal else {
                throw ColumnDamage("a reference repeats a pending transfer's, but names none in the file")
            }
            field.storeBytes(of: recall.reference(pendingOrdinal), as: SIMD32<UInt8>.self)
        case 3...34:
            let length = Int(code - 2)
            let bytes = try readers.referenceBytes.take(length)
            field.storeBytes(of: SIMD32<UInt8>(repeating: 0), as: SIMD32<UInt8>.self)
            field.copyMemory(from: bytes, byteCount: length)
            for index in 0..<length where field.load(fromByteOffset: index, as: UInt8.self) == 0 {
                throw ColumnDamage("a reference holds a zero byte")
            }
        default:
            throw ColumnDamage("reference code \(code)")
        }
        let reference = field.loadUnaligned(as: SIMD32<UInt8>.self)
        recall.append(id: id, reference: reference)
    }

    private func narrow<T: FixedWidthInteger>(_ value: UInt64, _ field: String) throws(ColumnDamage) -> T {
        guard let narrowed = T(exactly: value) else { throw ColumnDamage("a transfer's \(field) is \(value)") }
        return narrowed.littleEndian
    }

    private func decodeAccount(into field: UnsafeMutableRawPointer, readers: inout BlockReaders) throws(ColumnDamage) {
        let reference = try readers.accountRefs.varint()
        var id: UInt128 = 0
        if reference > 0 {
            let number = reference - 1
            if number == UInt64(accountIds.count) {
                id = try readers.accountIds.take(16).loadUnaligned(as: UInt128.self)
                accountIds.append(id)
            } else if number < UInt64(accountIds.count) {
                id = accountIds[Int(number)]
            } else {
                throw ColumnDamage("account number \(number) is past the \(accountIds.count) accounts listed")
            }
        }
        field.storeBytes(of: id, as: UInt128.self)
    }

    /// Writes the pending id; answers the ordinal of the transfer it named, if it named one.
    private func decodePending(into field: UnsafeMutableRawPointer, readers: inout BlockReaders) throws(ColumnDamage)
        -> Int?
    {
        let reference = try readers.pendingRefs.varint()
        switch reference {
        case 0:
            field.storeBytes(of: UInt128(0), as: UInt128.self)
            return nil
        case 1:
            field.copyMemory(from: try readers.pendingIds.take(16), byteCount: 16)
            return nil
        default:
            let distance = reference - 1
            guard distance <= UInt64(recall.count) else {
                throw ColumnDamage("a pending id points \(distance) transfers back, past the file's start")
            }
            let ordinal = recall.count - Int(distance)
            field.storeBytes(of: recall.id(ordinal), as: UInt128.self)
            return ordinal
        }
    }
}

/// A block's column readers as named fields: reaching them through an array checked its
/// uniqueness and bounds on every field of every record.
struct BlockReaders {
    var groupSizes, kinds, raw, batchTimes, batchCounts, accountBodies, transferIds, accountRefs: ColumnReader
    var accountIds, amounts, pendingRefs, pendingIds, timeouts, codes, flags, referenceCodes: ColumnReader
    var referenceBytes: ColumnReader

    init(_ readers: [ColumnReader]) {
        precondition(readers.count == LogColumn.allCases.count)
        (groupSizes, kinds, raw, batchTimes, batchCounts, accountBodies) =
            (readers[0], readers[1], readers[2], readers[3], readers[4], readers[5])
        (transferIds, accountRefs, accountIds, amounts, pendingRefs, pendingIds) =
            (readers[6], readers[7], readers[8], readers[9], readers[10], readers[11])
        (timeouts, codes, flags, referenceCodes, referenceBytes) =
            (readers[12], readers[13], readers[14], readers[15], readers[16])
    }

    /// In `LogColumn` order.
    var all: [ColumnReader] {
        [
            groupSizes, kinds, raw, batchTimes, batchCounts, accountBodies, transferIds, accountRefs, accountIds,
            amounts, pendingRefs, pendingIds, timeouts, codes, flags, referenceCodes, referenceBytes,
        ]
    }
}
