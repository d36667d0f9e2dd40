import Dispatch
import JobStore
import LedgerCore
import Scheduler
import SettlementImport

extension SettlementColumns {
    /// A settlement file read straight into columns, its lines' payment references kept for
    /// `resolvePayments` (the ledger's payments may still be being read).
    public struct FileRead {
        public var columns: SettlementColumns
        public var facts: SettlementFileFacts
        /// Lines the importer would refuse (not in the columns).
        public var rejectedCount: Int
        /// Each line's payment reference, hashed.
        var references: KeyList

        /// Finds every line's payment in `table` (references numbered by payment row, as
        /// `LedgerPaymentsFile` numbers them), two threads at a time, and answers the columns.
        public func resolvePayments(in table: ByteKeyTable) -> SettlementColumns {
            let count = columns.count
            let rows = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
            defer { rows.deallocate() }
            let shared = ResolveJob(keys: references, rows: rows, table: table, count: count)
            DispatchQueue.concurrentPerform(iterations: 2) { half in shared.resolve(half: half) }
            var resolved = columns
            for line in 0..<count where rows[line] >= 0 { resolved.setPaymentRow(rows[line], ofLine: Int32(line)) }
            return resolved
        }
    }

    /// Reads the settlement file at `path` in `dialect` into columns, as the importer reads it
    /// (`SettlementFileScan`, without the content hash, which only an import needs), with no
    /// text made of any line: a line repeating a transaction id of an earlier line of the file is
    /// marked a duplicate of that line, and each line's reference is kept, hashed, for
    /// `FileRead.resolvePayments`. Lines with no settlement date column settle on `settlementDate`.
    public static func read(
        path: String, dialect: SettlementDialect, fileId: Int64, settlementDate: CivilDate, expectedLines: Int = 1_024
    ) throws -> FileRead {
        let defaultDay = Int32(clamping: settlementDate.daysSinceEpoch)
        var lines = SettlementColumns(reservingCapacity: expectedLines)
        let transactions = ByteKeyTable(expectedCount: expectedLines)
        let references = KeyList(expectedCount: expectedLines)
        /// The key of each transaction's first line, by transaction id.
        var firstLine: [SettlementLineKey] = []
        firstLine.reserveCapacity(expectedLines)
        var rejected = 0
        // Lines of a file share one currency or a few: the tag of the last one is kept.
        var lastCurrency = Currency.bdt
        var lastTag = CurrencyTag(lastCurrency.code)
        // A line's transaction id is looked up a few lines after it is read (copied, as the
        // record's bytes do not outlive the call), so that the table's cache misses overlap.
        let pending = KeyList(expectedCount: pendingCapacity)
        var pendingFirstLine: Int32 = 0
        func flush() {
            for index in 0..<pending.count {
                let line = pendingFirstLine + Int32(index)
                let (id, added) = transactions.insert(pending.key(index), hash: pending.hash(index))
                if added {
                    firstLine.append(lines.keys[Int(line)])
                } else {
                    lines.markDuplicate(line, of: firstLine[Int(id)])
                }
            }
            pending.removeAll()
            pendingFirstLine = Int32(lines.count)
        }
        let facts = try SettlementFileScan.read(path: path, dialect: dialect, hashing: false) { row, record, reader in
            switch row {
            case .line(let parsed):
                if parsed.currency != lastCurrency {
                    lastCurrency = parsed.currency
                    lastTag = CurrencyTag(lastCurrency.code)
                }
                lines.append(
                    key: SettlementLineKey(fileId: fileId, line: record.line), paymentRow: -1,
                    kind: parsed.kind == .refund ? .refund : parsed.kind == .payment ? .payment : .adjustment,
                    settled: parsed.status == .settled, grossMinor: parsed.grossMinor, feeMinor: parsed.feeMinor,
                    currency: lastTag, transactedAt: parsed.transactedAtNanoseconds,
                    settlementDay: parsed.settlementDate.map { Int32($0.daysSinceEpoch) } ?? defaultDay)
                references.append(UnsafeRawBufferPointer(reader.trimmedBytes(.ourReference, in: record)))
                transactions.prefetch(
                    hash: pending.append(UnsafeRawBufferPointer(reader.trimmedBytes(.providerTxnId, in: record))))
                if pending.count == pendingCapacity { flush() }
            case .rejected: rejected += 1
            case .preamble, .header, .blank, .totals: break
            }
        }
        flush()
        return FileRead(columns: lines, facts: facts, rejectedCount: rejected, references: references)
    }

    /// Lines read ahead of their transaction ids' lookups.
    static let pendingCapacity = 16
}

/// The lookups of `resolvePayments`, split in two halves of the lines; the table is only read.
private struct ResolveJob: @unchecked Sendable {
    let keys: KeyList
    let rows: UnsafeMutablePointer<Int32>
    let table: ByteKeyTable
    let count: Int

    func resolve(half: Int) {
        let start = half == 0 ? 0 : count / 2
        let end = half == 0 ? count / 2 : count
        let lookahead = 16
        for line in start..<end {
            if line + lookahead < end { table.prefetch(hash: keys.hash(line + lookahead)) }
            rows[line] = table.find(keys.key(line), hash: keys.hash(line))
        }
    }
}

/// Byte strings one after another with their hashes: identifiers copied out of records that
/// do not outlive a call.
final class KeyList {
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCapacity: Int
    private var byteCount = 0
    /// Each key's end in `bytes`, and its hash.
    private var ends: UnsafeMutablePointer<Int>
    private var hashes: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    private(set) var count = 0

    init(expectedCount: Int) {
        capacity = max(16, expectedCount)
        byteCapacity = capacity * 16
        bytes = .allocate(capacity: byteCapacity)
        ends = .allocate(capacity: capacity)
        hashes = .allocate(capacity: capacity)
    }

    deinit {
        bytes.deallocate()
        ends.deallocate()
        hashes.deallocate()
    }

    /// Adds a copy of `key`; answers its hash.
    @discardableResult
    func append(_ key: UnsafeRawBufferPointer) -> UInt64 {
        if count == capacity {
            capacity *= 2
            ends = moved(ends, count: count, into: capacity)
            hashes = moved(hashes, count: count, into: capacity)
        }
        if byteCount + key.count > byteCapacity {
            byteCapacity = max(byteCapacity * 2, byteCount + key.count)
            bytes = moved(bytes, count: byteCount, into: byteCapacity)
        }
        if let base = key.baseAddress, key.count > 0 {
            (bytes + byteCount).initialize(from: base.assumingMemoryBound(to: UInt8.self), count: key.count)
        }
        byteCount += key.count
        let hash = ByteKeyTable.hash(key)
        ends[count] = byteCount
        hashes[count] = hash
        count += 1
        return hash
    }

    func key(_ index: Int) -> UnsafeRawBufferPointer {
        let start = index == 0 ? 0 : ends[index - 1]
        return UnsafeRawBufferPointer(start: bytes + start, count: ends[index] - start)
    }

    func hash(_ index: Int) -> UInt64 { hashes[index] }

    func removeAll() {
        count = 0
        byteCount = 0
    }
}

/// A day of settlement lines and the ledger's payments, both from files, as the rules take them.
public struct ColumnDay {
    public var lines: SettlementColumns
    public var payments: PaymentColumns
    public var facts: SettlementFileFacts
    /// Settlement lines the importer would refuse (not in the columns).
    public var rejectedCount: Int

    /// Reads the settlement file (see `SettlementColumns.read`) and the ledger's payments file
    /// (see `LedgerPaymentsFile`) at the same time, then finds each line's payment.
    public static func read(
        settlement: String, dialect: SettlementDialect, fileId: Int64, settlementDate: CivilDate, payments: String,
        expectedLines: Int = 1_024
    ) throws -> ColumnDay {
        let background = PaymentsRead()
        DispatchQueue.global().async {
            background.result = Result { try LedgerPaymentsFile.read(payments, expectedCount: expectedLines) }
            background.done.signal()
        }
        let read: SettlementColumns.FileRead
        do {
            read = try SettlementColumns.read(
                path: settlement, dialect: dialect, fileId: fileId, settlementDate: settlementDate,
                expectedLines: expectedLines)
        } catch {
            background.done.wait()
            throw error
        }
        background.done.wait()
        // Safe: set before `done` was signalled.
        let (paymentColumns, references) = try background.result!.get()
        return ColumnDay(
            lines: read.resolvePayments(in: references), payments: paymentColumns, facts: read.facts,
            rejectedCount: read.rejectedCount)
    }
}

/// The payments file's outcome, handed from the thread that read it.
private final class PaymentsRead: @unchecked Sendable {
    var result: Result<(PaymentColumns, ByteKeyTable), any Error>?
    let done = DispatchSemaphore(value: 0)
}
