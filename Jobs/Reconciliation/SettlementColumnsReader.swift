import JobStore
import LedgerCore
import Scheduler
import SettlementImport

extension SettlementColumns {
    /// A settlement file read straight into columns.
    public struct FileRead {
        public var columns: SettlementColumns
        public var facts: SettlementFileFacts
        /// Lines the importer would refuse (not in the columns).
        public var rejectedCount: Int
    }

    /// Reads the settlement file at `path` in `dialect` into columns, as the importer reads it
    /// (`SettlementFileScan`), without making text of any line: each line's payment is found by
    /// its reference in `references` (numbered by payment row, see `LedgerPaymentsFile`), and
    /// a line repeating a transaction id of an earlier line of the file is marked a duplicate of
    /// that line. Lines with no settlement date column settle on `settlementDate`.
    public static func read(
        path: String, dialect: SettlementDialect, fileId: Int64, settlementDate: CivilDate, references: ByteKeyTable,
        expectedLines: Int = 1_024
    ) throws -> FileRead {
        let defaultDay = Int32(clamping: settlementDate.daysSinceEpoch)
            var lines = SettlementColumns(reservingCapacity: expectedLines)
            let transactions = ByteKeyTable(expectedCount: expectedLines)
            /// The key of each transaction's first line, by transaction id.
            var firstLine: [SettlementLineKey] = []
            firstLine.reserveCapacity(expectedLines)
            var rejected = 0
            // Lines of a file share one currency or a few: the tag of the last one is kept.
            var lastCurrency = Currency.bdt
            var lastTag = CurrencyTag(lastCurrency.code)
            // A line's identifiers are looked up a few lines after it is read (copied, as the
            // record's bytes do not outlive the call), so that the tables' cache misses overlap.
            var pending = PendingKeys()
            func flush() {
                pending.forEach { line, transaction, transactionHash, reference, referenceHash in
                    let (id, added) = transactions.insert(transaction, hash: transactionHash)
                    if added {
                        firstLine.append(lines.keys[Int(line)])
                    } else {
                        lines.markDuplicate(line, of: firstLine[Int(id)])
                    }
                    lines.setPaymentRow(references.find(reference, hash: referenceHash), ofLine: line)
                }
            }
            let facts = try SettlementFileScan.read(path: path, dialect: dialect) { row, record, reader in
                switch row {
                case .line(let parsed):
                    if parsed.currency != lastCurrency {
                        lastCurrency = parsed.currency
                        lastTag = CurrencyTag(lastCurrency.code)
                    }
                    let line = lines.append(
                        key: SettlementLineKey(fileId: fileId, line: record.line), paymentRow: -1,
                        kind: parsed.kind == .refund ? .refund : parsed.kind == .payment ? .payment : .adjustment,
                        settled: parsed.status == .settled, grossMinor: parsed.grossMinor, feeMinor: parsed.feeMinor,
                        currency: lastTag, transactedAt: parsed.transactedAtNanoseconds,
                        settlementDay: parsed.settlementDate.map { Int32($0.daysSinceEpoch) } ?? defaultDay)
                    let (transactionHash, referenceHash) = pending.add(
                        line: line, transaction: UnsafeRawBufferPointer(reader.trimmedBytes(.providerTxnId, in: record)),
                        reference: UnsafeRawBufferPointer(reader.trimmedBytes(.ourReference, in: record)))
                    transactions.prefetch(hash: transactionHash)
                    references.prefetch(hash: referenceHash)
                    if pending.isFull { flush() }
                case .rejected: rejected += 1
                case .preamble, .header, .blank, .totals: break
                }
            }
            flush()
            return FileRead(columns: lines, facts: facts, rejectedCount: rejected)
    }
}

/// Identifiers of a few lines waiting for their lookups: copied out of the records, hashed.
struct PendingKeys {
    static let capacity = 16
    private var bytes = [UInt8](repeating: 0, count: 64 << 10)
    private var used = 0
    private var entries:
        [(line: Int32, transaction: Range<Int>, transactionHash: UInt64, reference: Range<Int>, referenceHash: UInt64)] =
            []

    var isFull: Bool { entries.count == Self.capacity || used > bytes.count - 2 * 4_096 }

    /// Keeps a line's two identifiers; answers their hashes.
    mutating func add(line: Int32, transaction: UnsafeRawBufferPointer, reference: UnsafeRawBufferPointer)
        -> (UInt64, UInt64)
    {
        let transactionRange = copy(transaction)
        let referenceRange = copy(reference)
        let hashes = (ByteKeyTable.hash(transaction), ByteKeyTable.hash(reference))
        entries.append((line, transactionRange, hashes.0, referenceRange, hashes.1))
        return hashes
    }

    private mutating func copy(_ key: UnsafeRawBufferPointer) -> Range<Int> {
        if used + key.count > bytes.count { bytes.append(contentsOf: repeatElement(0, count: key.count)) }
        let start = used
        bytes.withUnsafeMutableBytes { target in
            if let base = key.baseAddress, key.count > 0 {
                (target.baseAddress! + start).copyMemory(from: base, byteCount: key.count)
            }
        }
        used += key.count
        return start..<used
    }

    /// Hands every waiting line to `body`, in order, and empties.
    mutating func forEach(
        _ body: (Int32, UnsafeRawBufferPointer, UInt64, UnsafeRawBufferPointer, UInt64) -> Void
    ) {
        bytes.withUnsafeBytes { all in
            for entry in entries {
                body(
                    entry.line, UnsafeRawBufferPointer(rebasing: all[entry.transaction]), entry.transactionHash,
                    UnsafeRawBufferPointer(rebasing: all[entry.reference]), entry.referenceHash)
            }
        }
        entries.removeAll(keepingCapacity: true)
        used = 0
    }
}

