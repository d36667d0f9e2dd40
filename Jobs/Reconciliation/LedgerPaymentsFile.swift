import Dispatch
import Glibc
import JobStore

/// The ledger's payments of a day as a plain CSV file, the form `khata bench reconcile` gives
/// them to itself and to its peers: `reference,hold_id,amount_minor,currency,state,captured_at_ns`
/// (amounts in minor units, times in nanoseconds since the Unix epoch, empty for a payment not
/// captured), one header line, no quoting (no field needs it). Read strictly: a line that is not
/// so is an error naming the line, never a payment skipped.
public enum LedgerPaymentsFile {
    /// The payments of the file at `path`, and their references numbered by row. The file is
    /// read whole and its two halves parsed by two threads; the references are then numbered in
    /// file order, each slot asked for a few lines ahead so that the cache misses overlap.
    public static func read(_ path: String, expectedCount: Int) throws -> (PaymentColumns, ByteKeyTable) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw failure("\(path) is empty") }
        // Mapped rather than copied: the file's pages are read where the system keeps them.
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0), mapped != MAP_FAILED
        else { throw failure("cannot map \(path): \(String(cString: strerror(errno)))") }
        defer { munmap(mapped, size) }
        let bytes = mapped.assumingMemoryBound(to: UInt8.self)
        guard let headerEnd = memchr(bytes, 0x0A, size) else { throw failure("\(path) has no line after its header") }
        let header = String(
            decoding: UnsafeBufferPointer(
                start: bytes, count: bytes.distance(to: headerEnd.assumingMemoryBound(to: UInt8.self))), as: UTF8.self)
        guard header.hasPrefix("reference,hold_id,amount_minor,currency,state,captured_at_ns") else {
            throw failure(
                "\(path) does not start with the header reference,hold_id,amount_minor,currency,state,captured_at_ns")
        }
        let dataStart = bytes.distance(to: headerEnd.assumingMemoryBound(to: UInt8.self)) + 1
        // The halves meet right after a line break.
        var middle = dataStart + (size - dataStart) / 2
        if middle < size, let found = memchr(bytes + middle, 0x0A, size - middle) {
            middle = bytes.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
        } else {
            middle = size
        }
        let parts = [Part(start: dataStart, end: middle), Part(start: middle, end: size)]
        let results = UnsafeMutablePointer<Parsed>.allocate(capacity: 2)
        results.initialize(repeating: Parsed(), count: 2)
        defer {
            results.deinitialize(count: 2)
            results.deallocate()
        }
        let shared = Shared(bytes: bytes, results: results)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            shared.results[index] = parse(shared.bytes, parts[index])
        }
        var columns = PaymentColumns(reservingCapacity: expectedCount)
        let references = ByteKeyTable(expectedCount: max(expectedCount, results[0].payments.count * 2))
        var lineBefore = 1
        for index in 0..<2 {
            let parsed = results[index]
            if let problem = parsed.problem {
                throw failure("payments line \(lineBefore + problem.line): \(problem.reason)")
            }
            let payments = parsed.payments
            let lookahead = 16
            for position in payments.indices {
                if position + lookahead < payments.count {
                    references.prefetch(hash: payments[position + lookahead].hash)
                }
                let payment = payments[position]
                let reference = UnsafeRawBufferPointer(
                    start: bytes + payment.referenceStart, count: Int(payment.referenceLength))
                let (row, added) = references.insert(reference, hash: payment.hash)
                guard added else {
                    throw failure("payments line \(lineBefore + position + 1): reference repeated (row \(row + 1))")
                }
                columns.append(
                    amountMinor: payment.amountMinor, currency: payment.currency, state: payment.state,
                    capturedAtNanoseconds: payment.capturedAtNanoseconds == notCaptured
                        ? nil : payment.capturedAtNanoseconds)
            }
            lineBefore += parsed.lines
        }
        return (columns, references)
    }

    private static func failure(_ message: String) -> ReconciliationError { ReconciliationError(message) }

    /// A range of the file's bytes, whole lines.
    private struct Part: Sendable {
        var start: Int
        var end: Int
    }

    /// What the two threads share: the file's bytes (read only) and a result each.
    private struct Shared: @unchecked Sendable {
        let bytes: UnsafePointer<UInt8>
        let results: UnsafeMutablePointer<Parsed>
    }

    private static let notCaptured = Int64.min

    /// The longest reference read: a settlement line's identifiers are held to the same bound.
    public static let maximumReferenceBytes = 128

    /// One line's values; its reference stays in the file's bytes.
    private struct Payment {
        var referenceStart: Int
        var referenceLength: Int32
        var state: LedgerPayment.State
        var hash: UInt64
        var amountMinor: Int64
        var currency: CurrencyTag
        var capturedAtNanoseconds: Int64
    }

    /// A part's payments and lines, or its first problem (line counted in the part).
    private struct Parsed {
        var payments: [Payment] = []
        var lines = 0
        var problem: (line: Int, reason: String)?
    }

    /// A part's lines. Commas and line feeds are found eight bytes at a time; a line longer
    /// than 6 fields stops at its seventh.
    private static func parse(_ bytes: UnsafePointer<UInt8>, _ part: Part) -> Parsed {
        var parsed = Parsed()
        parsed.payments.reserveCapacity((part.end - part.start) / 48)
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: 6)
        defer { ends.deallocate() }
        var lineStart = part.start
        var fields = 0
        /// Takes the delimiter at `position`; false once the part has failed.
        @inline(__always)
        func delimiter(at position: Int) -> Bool {
            if bytes[position] == 0x2C {
                if fields < 5 { ends[fields] = position }
                fields += 1
                return true
            }
            parsed.lines += 1
            let result = line(bytes, lineStart, position, ends: ends, fields: fields)
            fields = 0
            lineStart = position + 1
            switch result {
            case .success(let payment):
                parsed.payments.append(payment)
                return true
            case .failure(let problem):
                parsed.problem = (parsed.lines, problem.reason)
                return false
            }
        }
        var position = part.start
        while position + 8 <= part.end {
            let word = UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self)
            var found = zeroBytes(word ^ 0x2C2C_2C2C_2C2C_2C2C) | zeroBytes(word ^ 0x0A0A_0A0A_0A0A_0A0A)
            while found != 0 {
                guard delimiter(at: position + found.trailingZeroBitCount >> 3) else { return parsed }
                found &= found - 1
            }
            position += 8
        }
        while position < part.end {
            if bytes[position] == 0x2C || bytes[position] == 0x0A {
                guard delimiter(at: position) else { return parsed }
            }
            position += 1
        }
        if lineStart < part.end {
            // The last line has no line feed.
            parsed.lines += 1
            switch line(bytes, lineStart, part.end, ends: ends, fields: fields) {
            case .success(let payment): parsed.payments.append(payment)
            case .failure(let problem): parsed.problem = (parsed.lines, problem.reason)
            }
        }
        return parsed
    }

    /// The high bit of every byte of `word` that is zero, and no other bit.
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((word & low7) &+ low7) | word | low7)
    }

    private struct Problem: Error {
        var reason: String
    }

    /// One line, `start..<lineEnd` of `bytes`, whose first five commas are at `ends`.
    @inline(__always)
    private static func line(
        _ bytes: UnsafePointer<UInt8>, _ start: Int, _ lineEnd: Int, ends: UnsafeMutablePointer<Int>,
        fields commas: Int
    ) -> Result<Payment, Problem> {
        guard commas == 5 else { return .failure(Problem(reason: "\(commas + 1) fields, not 6")) }
        var end = lineEnd
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        let referenceLength = ends[0] - start
        guard referenceLength > 0 else { return .failure(Problem(reason: "no reference")) }
        guard referenceLength <= maximumReferenceBytes else {
            return .failure(Problem(reason: "the reference is longer than \(maximumReferenceBytes) bytes"))
        }
        guard ends[1] > ends[0] + 1 else { return .failure(Problem(reason: "no hold_id")) }
        guard let amount = integer(bytes, ends[1] + 1, ends[2]) else {
            return .failure(Problem(reason: "amount_minor is not a whole number of minor units"))
        }
        guard ends[3] - ends[2] - 1 == 3 else { return .failure(Problem(reason: "currency is not 3 letters")) }
        guard let state = state(bytes + ends[3] + 1, count: ends[4] - ends[3] - 1) else {
            return .failure(Problem(reason: "state is not captured, pending, cancelled or expired"))
        }
        var captured = notCaptured
        if end > ends[4] + 1 {
            guard let value = integer(bytes, ends[4] + 1, end) else {
                return .failure(Problem(reason: "captured_at_ns is not a whole number"))
            }
            captured = value
        }
        guard (state == .captured) == (captured != notCaptured) else {
            return .failure(Problem(reason: "a captured payment has a capture time, and only it"))
        }
        let reference = UnsafeRawBufferPointer(start: bytes + start, count: referenceLength)
        return .success(
            Payment(
                referenceStart: start, referenceLength: Int32(referenceLength), state: state,
                hash: ByteKeyTable.hash(reference), amountMinor: amount,
                currency: CurrencyTag(UnsafeRawBufferPointer(start: bytes + ends[2] + 1, count: 3)),
                capturedAtNanoseconds: captured))
    }

    /// The state a word names, or nil.
    @inline(__always)
    private static func state(_ word: UnsafePointer<UInt8>, count: Int) -> LedgerPayment.State? {
        func equals(_ text: StaticString) -> Bool {
            text.utf8CodeUnitCount == count && memcmp(word, text.utf8Start, count) == 0
        }
        switch count {
        case 8: return equals("captured") ? .captured : nil
        case 7: return equals("pending") ? .pending : equals("expired") ? .expired : nil
        case 9: return equals("cancelled") ? .cancelled : nil
        default: return nil
        }
    }

    /// The decimal whole number in `start..<end` of `bytes`, with an optional minus; nil when it
    /// is not one or does not fit.
    @inline(__always)
    private static func integer(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        var index = start
        let negative = index < end && bytes[index] == 0x2D
        if negative { index += 1 }
        guard index < end, end - index <= 19 else { return nil }
        var value: Int64 = 0
        while index < end {
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
}
