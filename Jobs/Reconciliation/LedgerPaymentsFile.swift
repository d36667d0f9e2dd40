import Glibc
import JobStore

/// The ledger's payments of a day as a plain CSV file, the form `khata bench reconcile` gives
/// them to itself and to its peers: `reference,hold_id,amount_minor,currency,state,captured_at_ns`
/// (amounts in minor units, times in nanoseconds since the Unix epoch, empty for a payment not
/// captured), one header line, no quoting (no field needs it). Read strictly: a line that is not
/// so is an error naming the line, never a payment skipped.
public enum LedgerPaymentsFile {
    /// The payments of the file at `path`, and their references numbered by row.
    public static func read(_ path: String, expectedCount: Int) throws -> (PaymentColumns, ByteKeyTable) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReconciliationError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var columns = PaymentColumns(reservingCapacity: expectedCount)
        let references = ByteKeyTable(expectedCount: expectedCount)
        let chunkBytes = 8 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkBytes)
        defer { buffer.deallocate() }
        // Lines are read a few at a time: each reference's slot is asked for when its line is
        // read and used once the batch is full, so that the cache misses overlap.
        var batch: [Payment] = []
        batch.reserveCapacity(batchSize)
        func flush() throws {
            for payment in batch {
                let (row, added) = references.insert(payment.reference, hash: payment.hash)
                guard added else {
                    throw ReconciliationError("payments line \(payment.line): reference repeated (row \(row + 1))")
                }
                columns.append(
                    amountMinor: payment.amountMinor, currency: payment.currency, state: payment.state,
                    capturedAtNanoseconds: payment.capturedAtNanoseconds)
            }
            batch.removeAll(keepingCapacity: true)
        }
        /// Bytes of an unfinished line kept at the start of the buffer.
        var kept = 0
        var line = 0
        while true {
            let got = Glibc.read(descriptor, buffer + kept, chunkBytes - kept)
            if got < 0 {
                if errno == EINTR { continue }
                throw ReconciliationError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            let filled = kept + got
            var start = 0
            while start < filled {
                guard let found = memchr(buffer + start, 0x0A, filled - start) else { break }
                let end = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
                line += 1
                if line > 1 {
                    let payment = try parse(buffer + start, count: end - start, line: line)
                    references.prefetch(hash: payment.hash)
                    batch.append(payment)
                    if batch.count == batchSize { try flush() }
                }
                start = end + 1
            }
            if got == 0 {
                if start < filled {
                    line += 1
                    batch.append(try parse(buffer + start, count: filled - start, line: line))
                }
                try flush()
                break
            }
            // The batch's references point into the buffer, which moves next.
            try flush()
            kept = filled - start
            guard kept < chunkBytes else { throw ReconciliationError("\(path) line \(line + 1) is longer than 8 MiB") }
            if kept > 0 { memmove(buffer, buffer + start, kept) }
        }
        return (columns, references)
    }

    /// Lines read ahead of their references' lookups.
    static let batchSize = 16

    /// One line's values; its reference points into the read buffer.
    private struct Payment {
        var line: Int
        var reference: UnsafeRawBufferPointer
        var hash: UInt64
        var amountMinor: Int64
        var currency: CurrencyTag
        var state: LedgerPayment.State
        var capturedAtNanoseconds: Int64?
    }

    private static let states: [(word: [UInt8], state: LedgerPayment.State)] = [
        (Array("captured".utf8), .captured), (Array("pending".utf8), .pending),
        (Array("cancelled".utf8), .cancelled), (Array("expired".utf8), .expired),
    ]

    /// One line: six fields split at commas.
    @inline(__always)
    private static func parse(_ bytes: UnsafeMutablePointer<UInt8>, count: Int, line: Int) throws -> Payment {
        var length = count
        if length > 0 && bytes[length - 1] == 0x0D { length -= 1 }
        var fields = FieldCursor(start: UnsafeRawPointer(bytes), count: length)
        guard let reference = fields.next(), fields.next() != nil, let amountText = fields.next(),
            let currency = fields.next(), let stateBytes = fields.next(), let capturedText = fields.next()
        else { throw ReconciliationError("payments line \(line): fewer than 6 fields") }
        guard fields.next() == nil else { throw ReconciliationError("payments line \(line): more than 6 fields") }
        guard !reference.isEmpty else { throw ReconciliationError("payments line \(line): no reference") }
        guard let amount = integer(amountText) else {
            throw ReconciliationError("payments line \(line): amount_minor is not a whole number of poisha")
        }
        guard currency.count == 3 else { throw ReconciliationError("payments line \(line): currency is not 3 letters") }
        guard
            let state = states.first(where: { entry in
                entry.word.elementsEqual(stateBytes)
            })?.state
        else { throw ReconciliationError("payments line \(line): unknown state") }
        var captured: Int64?
        if !capturedText.isEmpty {
            guard let value = integer(capturedText) else {
                throw ReconciliationError("payments line \(line): captured_at_ns is not a whole number")
            }
            captured = value
        }
        guard (state == .captured) == (captured != nil) else {
            throw ReconciliationError("payments line \(line): a captured payment has a capture time, and only it")
        }
        return Payment(
            line: line, reference: reference, hash: ByteKeyTable.hash(reference), amountMinor: amount,
            currency: CurrencyTag(currency), state: state, capturedAtNanoseconds: captured)
    }

    /// A decimal whole number with an optional minus, or nil (overflow included).
    @inline(__always)
    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let negative = !bytes.isEmpty && bytes[0] == 0x2D
        if negative { index = 1 }
        guard index < bytes.count, bytes.count - index <= 19 else { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- 0x30
            guard digit < 10 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(Int64(digit))
            guard !overflow && !carry else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }

    /// The fields of one line, split at commas.
    private struct FieldCursor {
        let start: UnsafeRawPointer
        let count: Int
        var position = 0
        var done = false

        init(start: UnsafeRawPointer, count: Int) {
            self.start = start
            self.count = count
        }

        mutating func next() -> UnsafeRawBufferPointer? {
            guard !done else { return nil }
            let from = position
            if let comma = memchr(start + from, 0x2C, count - from) {
                let end = start.distance(to: UnsafeRawPointer(comma))
                position = end + 1
                return UnsafeRawBufferPointer(start: start + from, count: end - from)
            }
            done = true
            return UnsafeRawBufferPointer(start: start + from, count: count - from)
        }
    }
}
