import Dispatch
import Foundation
import Glibc
import KhataCrypto
import Scheduler
import Synchronization

/// What reading a whole settlement file found: its hash and size, its layout, and counts.
public struct SettlementFileFacts: Sendable, Equatable {
    public var sha256: String
    public var sizeBytes: Int64
    public var delimiter: UInt8
    public var headerLine: Int
    /// Data lines: those that became settlement lines and those refused.
    public var lineCount: Int
    public var rejectedCount: Int
    /// Totals lines after the data, skipped.
    public var totalsLines: Int
    /// The latest transaction time of the file's good lines (ns since the Unix epoch).
    public var latestTransactionNanoseconds: Int64?

    /// The Asia/Dhaka date of the latest transaction: the settlement date of a file that names none.
    public var latestTransactionDhakaDate: CivilDate? {
        latestTransactionNanoseconds.map { nanoseconds in
            let dhakaSeconds = nanoseconds / 1_000_000_000 + 6 * 3_600
            return CivilDate(daysSinceEpoch: Int(dhakaSeconds / 86_400))
        }
    }
}

/// Reads a settlement file from start to end, once: hashes its bytes, checks they are UTF-8 text,
/// finds its delimiter and header, and hands every record with what the reader made of it to
/// `onRow`. The importer reads a file twice with it: to check it whole before storing anything,
/// then to store it.
public enum SettlementFileScan {
    /// Bytes read at a time.
    public static let chunkBytes = 1 << 20

    /// Reads the file at `path` in `dialect`. `progress` hears the bytes read so far. Two
    /// threads share the work: one reads, hashes, checks and splits the file into records
    /// (libcsv) a chunk ahead, while the caller's thread reads the records of the chunk before.
    public static func read(
        path: String, dialect: SettlementDialect, delimiter knownDelimiter: UInt8? = nil,
        progress: ((Int64) -> Void)? = nil,
        onRow: (SettlementRow, CSVRecord, SettlementReader) throws -> Void
    ) throws -> SettlementFileFacts {
        let producer = try ScanProducer(path: path, dialect: dialect, delimiter: knownDelimiter)
        Thread { producer.run() }.start()
        var reader = SettlementReader(dialect: dialect)
        var facts = SettlementFileFacts(
            sha256: "", sizeBytes: 0, delimiter: 0x2C, headerLine: 0, lineCount: 0, rejectedCount: 0, totalsLines: 0,
            latestTransactionNanoseconds: nil)
        func handle(_ record: CSVRecord) throws {
            let row = try reader.read(record)
            switch row {
            case .line(let line):
                facts.lineCount += 1
                if line.transactedAtNanoseconds > facts.latestTransactionNanoseconds ?? Int64.min {
                    facts.latestTransactionNanoseconds = line.transactedAtNanoseconds
                }
            case .rejected: facts.rejectedCount += 1
            case .totals: facts.totalsLines += 1
            case .preamble, .header, .blank: break
            }
            try onRow(row, record, reader)
        }
        var consumerError: (any Error)?
        while let batch = producer.next() {
            if consumerError == nil, let stream = producer.stream {
                do {
                    try stream.records(inBatch: batch.slot, handle)
                    progress?(batch.offset + Int64(producer.chunk(batch).raw.count))
                } catch {
                    consumerError = error
                    producer.cancel()
                }
            }
            producer.release(batch.slot)
        }
        if let consumerError { throw consumerError }
        if let failure = producer.failure { throw failure }
        try reader.finish()
        facts.sha256 = producer.sha256
        facts.sizeBytes = producer.sizeBytes
        facts.delimiter = producer.delimiter
        facts.headerLine = reader.headerLine ?? 0
        return facts
    }

    /// The producer's side of `read`: the file's bytes into batches of records. Its state is
    /// touched by its own thread until it publishes the end; the consumer reads only published
    /// batches (the semaphores order the two).
    private final class ScanProducer: @unchecked Sendable {
        let path: String
        let dialect: SettlementDialect
        let knownDelimiter: UInt8?
        let descriptor: Int32
        private(set) var stream: CSVStream?
        private(set) var failure: (any Error)?
        private(set) var sizeBytes: Int64 = 0
        private(set) var sha256 = ""
        private(set) var delimiter: UInt8 = 0x2C
        /// One read buffer per collector: a chunk's bytes stay until its batch is released.
        private let buffers = (0..<2).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        }
        /// Per slot: the bytes read into its buffer, and where the text starts (after a BOM).
        private let filled: UnsafeMutablePointer<(count: Int, textStart: Int)> = {
            let slots = UnsafeMutablePointer<(count: Int, textStart: Int)>.allocate(capacity: 2)
            slots.initialize(repeating: (0, 0), count: 2)
            return slots
        }()
        private let ready = DispatchSemaphore(value: 0)
        /// One collector is free at the start: the one the stream does not fill.
        private let free = DispatchSemaphore(value: 1)
        private let published = Mutex<[Batch?]>([])

        /// A collector's records, and the chunk read into its buffer (at `offset` in the file).
        struct Batch {
            let slot: Int
            let offset: Int64
        }
        private let cancelled = Atomic<Bool>(false)

        init(path: String, dialect: SettlementDialect, delimiter: UInt8?) throws {
            self.path = path
            self.dialect = dialect
            knownDelimiter = delimiter
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw SettlementFileError(.unreadable, "\(path) cannot be opened: \(String(cString: strerror(errno)))")
            }
        }

        deinit {
            close(descriptor)
            for buffer in buffers { buffer.deallocate() }
            filled.deallocate()
        }

        /// The bytes of a batch's chunk, whole and without a leading BOM.
        func chunk(_ batch: Batch) -> (raw: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer) {
            let (count, textStart) = filled[batch.slot]
            let raw = UnsafeRawBufferPointer(rebasing: buffers[batch.slot][0..<count])
            return (raw, UnsafeRawBufferPointer(rebasing: raw[textStart...]))
        }

        /// The next batch, or nil once the producer has finished (it touches nothing after).
        func next() -> Batch? {
            ready.wait()
            return published.withLock { $0.removeFirst() }
        }

        func release(_ slot: Int) {
            stream?.release(slot)
            free.signal()
        }

        func cancel() {
            cancelled.store(true, ordering: .sequentiallyConsistent)
            free.signal()
        }

        private func publish(_ batch: Batch?) {
            published.withLock { $0.append(batch) }
            ready.signal()
        }

        /// Hands the current collector's records and chunk (read at `offset`) to the consumer once
        /// the other collector is free; false when the consumer stopped.
        private func handOver(_ stream: CSVStream, offset: Int64) -> Bool {
            free.wait()
            if cancelled.load(ordering: .sequentiallyConsistent) { return false }
            publish(Batch(slot: stream.takeBatch(), offset: offset))
            return true
        }

        func run() {
            defer { publish(nil) }
            let hash = SHA256Stream()
            var text = TextCheck()
            do {
                // The slot the stream fills next; its buffer takes the next chunk.
                var slot = 0
                while !cancelled.load(ordering: .relaxed) {
                    let buffer = buffers[slot]
                    let count = Glibc.read(descriptor, buffer.baseAddress, chunkBytes)
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw SettlementFileError(
                            .unreadable, "\(path) cannot be read: \(String(cString: strerror(errno)))")
                    }
                    if count == 0 { break }
                    var chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                    hash.update(chunk)
                    if sizeBytes == 0 {
                        if count >= 2
                            && ((chunk[0] == 0xFF && chunk[1] == 0xFE) || (chunk[0] == 0xFE && chunk[1] == 0xFF))
                        {
                            throw SettlementFileError(
                                .notText,
                                "the file is UTF-16 text; save it as UTF-8 (CSV UTF-8 in Excel) and import it again")
                        }
                        if count >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF {
                            chunk = UnsafeRawBufferPointer(rebasing: chunk[3...])
                        }
                    }
                    if let problem = text.check(chunk, offset: sizeBytes + Int64(count - chunk.count)) {
                        throw SettlementFileError(.notText, problem)
                    }
                    filled[slot] = (count, count - chunk.count)
                    let offset = sizeBytes
                    sizeBytes += Int64(count)
                    if stream == nil {
                        delimiter = knownDelimiter ?? dialect.delimiter ?? sniffDelimiter(chunk, dialect: dialect)
                        stream = CSVStream(delimiter: delimiter)
                    }
                    // Safe: made just above.
                    let stream = stream!
                    do {
                        try stream.parseOnly(chunk)
                    } catch let error as CSVStreamError {
                        throw fileError(error)
                    }
                    // Every chunk is handed over, records or not: its buffer is reused once released.
                    if !handOver(stream, offset: offset) { return }
                    slot = 1 - slot
                }
                if cancelled.load(ordering: .sequentiallyConsistent) { return }
                guard sizeBytes > 0, let stream else { throw SettlementFileError(.empty, "the file is empty") }
                if let problem = text.finish(offset: sizeBytes) { throw SettlementFileError(.notText, problem) }
                do {
                    try stream.finishOnly()
                } catch let error as CSVStreamError {
                    throw fileError(error)
                }
                if stream.hasRecords {
                    filled[slot] = (0, 0)
                    if !handOver(stream, offset: sizeBytes) { return }
                }
                sha256 = Crypto.hex(hash.finish())
            } catch {
                failure = error
            }
        }
    }

    private static func fileError(_ error: CSVStreamError) -> SettlementFileError {
        switch error {
        case .unterminatedQuote(let line):
            SettlementFileError(
                .unterminatedQuote,
                "the file ends inside a quoted field that starts on line \(line): it is truncated, or a quote is "
                    + "not closed")
        case .recordTooLarge(let line, let limit):
            SettlementFileError(
                .recordTooLarge,
                "the line starting at \(line) runs past \(limit / 1_048_576) MiB: most likely a quote that is not "
                    + "closed")
        case .parser(let line, let code):
            SettlementFileError(.unreadable, "the CSV parser stopped at line \(line) (libcsv error \(code))")
        }
    }

    /// The delimiter of the first line in `chunk` that splits into `dialect`'s header: `,`, `;`,
    /// a tab or `|`. A comma when none does (the reader then says no header was found).
    static func sniffDelimiter(_ chunk: UnsafeRawBufferPointer, dialect: SettlementDialect) -> UInt8 {
        let required = Set(dialect.required.compactMap { dialect.headerKey($0) })
        var lineStart = 0
        var lines = 0
        while lineStart < chunk.count && lines < SettlementReader.preambleLimit {
            var lineEnd = lineStart
            while lineEnd < chunk.count && chunk[lineEnd] != 0x0A && chunk[lineEnd] != 0x0D { lineEnd += 1 }
            let line = String(decoding: UnsafeRawBufferPointer(rebasing: chunk[lineStart..<lineEnd]), as: UTF8.self)
            for delimiter in [",", ";", "\t", "|"] {
                let names = Set(
                    line.split(separator: Character(delimiter)).map { SettlementDialect.headerKey(String($0)) })
                if required.isSubset(of: names) { return UInt8(ascii: Unicode.Scalar(delimiter)!) }
            }
            lineStart = lineEnd + 1
            // A CRLF ends one line, not two.
            if lineEnd < chunk.count && chunk[lineEnd] == 0x0D && lineStart < chunk.count && chunk[lineStart] == 0x0A {
                lineStart += 1
            }
            lines += 1
        }
        return 0x2C
    }
}

/// Checks that a file's bytes are UTF-8 text without NUL bytes, across chunk boundaries: eight
/// bytes at a time while they are ASCII, byte by byte through multi-byte sequences.
struct TextCheck {
    /// Continuation bytes still expected, and the allowed range of the next one.
    private var pending = 0
    private var nextLow: UInt8 = 0x80
    private var nextHigh: UInt8 = 0xBF

    mutating func check(_ bytes: UnsafeRawBufferPointer, offset: Int64) -> String? {
        var index = 0
        let count = bytes.count
        while index < count {
            if pending == 0 && index + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let hasZero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
                if word & 0x8080_8080_8080_8080 == 0 && hasZero == 0 {
                    index += 8
                    continue
                }
            }
            let byte = bytes[index]
            if pending > 0 {
                guard byte >= nextLow && byte <= nextHigh else { return invalid(offset + Int64(index), byte) }
                pending -= 1
                nextLow = 0x80
                nextHigh = 0xBF
            } else if byte == 0 {
                return "the file holds a NUL byte at offset \(offset + Int64(index)): it is not a CSV text file"
            } else if byte >= 0x80 {
                switch byte {
                case 0xC2...0xDF: pending = 1
                case 0xE0:
                    pending = 2
                    nextLow = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2
                case 0xED:
                    pending = 2
                    nextHigh = 0x9F
                case 0xF0:
                    pending = 3
                    nextLow = 0x90
                case 0xF1...0xF3: pending = 3
                case 0xF4:
                    pending = 3
                    nextHigh = 0x8F
                default: return invalid(offset + Int64(index), byte)
                }
            }
            index += 1
        }
        return nil
    }

    func finish(offset: Int64) -> String? {
        pending == 0 ? nil : "the file ends inside a UTF-8 character at offset \(offset): it is truncated"
    }

    private func invalid(_ offset: Int64, _ byte: UInt8) -> String {
        "byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset) is not UTF-8: the file is in "
            + "another encoding; save it as UTF-8 (CSV UTF-8 in Excel) and import it again"
    }
}
