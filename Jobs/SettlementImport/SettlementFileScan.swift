import Dispatch
import Foundation
import Glibc
import JobStore
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
        latestTransactionNanoseconds.map { CivilDate.dhaka(nanoseconds: $0) }
    }
}

/// Reads a settlement file from start to end, once: hashes its bytes, checks they are UTF-8 text,
/// finds its delimiter and header, and hands every record with what the reader made of it to
/// `onRow`. The importer reads a file twice with it: to check it whole before storing anything,
/// then to store it.
public enum SettlementFileScan {
    /// Bytes read at a time.
    public static let chunkBytes = 1 << 20

    /// Chunks parsed ahead of the one being read: bounds the memory a read takes.
    static let chunksInFlight = 4

    /// Reads the file at `path` in `dialect`. `progress` hears the bytes read so far. Two
    /// threads split chunks of the file into records at the same time (`ChunkScan`); the
    /// caller's thread checks the bytes and reads the records, in file order (the workers hash,
    /// unless `hashing` is false: the facts' `sha256` is then empty).
    public static func read(
        path: String, dialect: SettlementDialect, delimiter knownDelimiter: UInt8? = nil, hashing: Bool = true,
        progress: ((Int64) -> Void)? = nil,
        onRow: (SettlementRow, CSVRecord, SettlementReader) throws -> Void
    ) throws -> SettlementFileFacts {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SettlementFileError(.unreadable, "\(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw SettlementFileError(.unreadable, "\(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        let sizeBytes = Int64(status.st_size)
        guard sizeBytes > 0 else { throw SettlementFileError(.empty, "the file is empty") }
        // The first bytes: another encoding's mark, a byte-order mark, the delimiter.
        let head = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { head.deallocate() }
        let headCount = try ChunkScan.read(descriptor, into: head, at: 0)
        if headCount >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)) {
            throw SettlementFileError(
                .notText, "the file is UTF-16 text; save it as UTF-8 (CSV UTF-8 in Excel) and import it again")
        }
        let markBytes = headCount >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF ? 3 : 0
        let delimiter =
            knownDelimiter ?? dialect.delimiter
            ?? sniffDelimiter(UnsafeRawBufferPointer(rebasing: head[markBytes..<headCount]), dialect: dialect)

        var reader = SettlementReader(dialect: dialect)
        var facts = SettlementFileFacts(
            sha256: "", sizeBytes: sizeBytes, delimiter: delimiter, headerLine: 0, lineCount: 0, rejectedCount: 0,
            totalsLines: 0, latestTransactionNanoseconds: nil)
        func handle(_ record: CSVRecord) throws { try tally(try reader.read(record), record) }
        /// Counts a row and hands it on.
        func tally(_ row: SettlementRow, _ record: CSVRecord) throws {
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

        let scan = ChunkScan(
            descriptor: descriptor, sizeBytes: sizeBytes, delimiter: delimiter, firstRecordOffset: Int64(markBytes),
            hashing: hashing)
        var pending: [ChunkScan.Chunk] = []
        // Every chunk handed to the workers is waited for before the file is closed.
        defer {
            scan.stop()
            for chunk in pending { chunk.done.wait() }
        }
        var scheduled = 0
        while scheduled < min(chunksInFlight, scan.chunkCount) {
            pending.append(scan.schedule(scheduled))
            scheduled += 1
        }
        /// Continuation bytes the last chunk read past its end, which the next must have skipped.
        var carried = 0
        /// Takes one chunk's raw bytes, which must be all the file had there, and its text check
        /// (made beside it), in file order. The workers hash the bytes.
        func take(raw: UnsafeRawBufferPointer, at offset: Int64, text: ChunkTextCheck) throws {
            let expected = Int(min(Int64(chunkBytes), sizeBytes - offset))
            guard raw.count == expected else {
                throw SettlementFileError(.changedWhileReading, "the file changed while it was being read")
            }
            if text.skipped != carried {
                let byte = raw[min(carried, raw.count - 1)]
                throw SettlementFileError(
                    .notText,
                    "byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset + Int64(carried)) is not "
                        + "UTF-8: the file is in another encoding; save it as UTF-8 (CSV UTF-8 in Excel) and import it "
                        + "again")
            }
            if let problem = text.problem { throw SettlementFileError(.notText, problem) }
            carried = text.carried
        }
        var lineOffset = 0
        var previous: (chunk: ChunkScan.Chunk, lineOffset: Int)?
        while !pending.isEmpty {
            let chunk = pending.removeFirst()
            chunk.done.wait()
            try take(
                raw: UnsafeRawBufferPointer(rebasing: chunk.raw[0..<chunk.rawCount]), at: chunk.rawOffset,
                text: chunk.text)
            if let before = previous,
                chunk.start == nil || !before.chunk.endedBetweenRecords || before.chunk.end != chunk.start
            {
                // The guess did not hold: a quoted field runs across the chunk's first line
                // break. The parser of the chunk before goes on, reading the rest in order.
                // The chunks already handed out are hashed and checked; the rest is read here.
                for later in pending {
                    later.done.wait()
                    try take(
                        raw: UnsafeRawBufferPointer(rebasing: later.raw[0..<later.rawCount]), at: later.rawOffset,
                        text: later.text)
                }
                pending.removeAll()
                try continueInOrder(
                    before.chunk, lineOffset: before.lineOffset, scan: scan,
                    hashFrom: Int64(scheduled) * Int64(chunkBytes), take: take, handle: handle)
                progress?(sizeBytes)
                break
            }
            if let failure = chunk.failure {
                if let error = failure as? CSVStreamError { throw fileError(error) }
                throw failure
            }
            let chunkLineOffset = lineOffset
            if let stream = chunk.stream {
                stream.lineOffset = lineOffset
                if let rows = chunk.rows {
                    // Read by the worker: only counted and handed on here, in order.
                    var index = 0
                    try stream.completedRecords { record in
                        var row = rows[index]
                        index += 1
                        if case .rejected(var rejected) = row {
                            rejected.line += chunkLineOffset
                            row = .rejected(rejected)
                        }
                        try tally(row, record)
                    }
                } else {
                    try stream.completedRecords(handle)
                }
                lineOffset += stream.line - 1
            }
            if reader.hasHeader && scan.layout.withLock({ $0 == nil }) {
                let shared = reader.copyForThread()
                scan.layout.withLock { $0 = shared }
            }
            previous = (chunk, chunkLineOffset)
            if scheduled < scan.chunkCount {
                pending.append(scan.schedule(scheduled))
                scheduled += 1
            }
            progress?(min(sizeBytes, chunk.rawOffset + Int64(chunk.rawCount)))
        }
        try reader.finish()
        facts.sha256 = hashing ? Crypto.hex(scan.hash.finish()) : ""
        facts.headerLine = reader.headerLine ?? 0
        return facts
    }

    /// After a chunk boundary that did not hold: `chunk`'s parser reads on from where it stopped
    /// to the end of the file, in order, while the raw bytes from `hashFrom` on are hashed.
    private static func continueInOrder(
        _ chunk: ChunkScan.Chunk, lineOffset: Int, scan: ChunkScan, hashFrom: Int64,
        take: (UnsafeRawBufferPointer, Int64, ChunkTextCheck) throws -> Void, handle: (CSVRecord) throws -> Void
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var offset = hashFrom
        while offset < scan.sizeBytes {
            let got = try ChunkScan.read(scan.descriptor, into: buffer, at: offset)
            let raw = UnsafeRawBufferPointer(rebasing: buffer[0..<got])
            let text = try ChunkTextCheck(raw, offset: offset, textStart: 0) { count in
                try scan.bytes(count, at: offset + Int64(got))
            }
            try take(raw, offset, text)
            if scan.hashing { scan.hash.update(raw) }
            if got == 0 { break }
            offset += Int64(got)
        }
        // Safe: a chunk whose parser ran has its stream.
        let stream = chunk.stream!
        stream.dropDelivered()
        stream.lineOffset = lineOffset
        var position = chunk.end
        do {
            while position < scan.sizeBytes {
                let got = try ChunkScan.read(scan.descriptor, into: buffer, at: position)
                if got == 0 { break }
                try stream.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), onRecord: handle)
                position += Int64(got)
            }
            try stream.finish(onRecord: handle)
        } catch let error as CSVStreamError {
            throw fileError(error)
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
    private(set) var pending = 0
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

/// The text check of one chunk on its own, so that chunks are checked at the same time: the
/// continuation bytes it starts with belong to the character the chunk before ends with (which
/// reads them to finish it), so the two counts must agree.
struct ChunkTextCheck {
    /// The first problem in the chunk, with its offset in the file.
    var problem: String?
    /// Continuation bytes skipped at the start (0 to 3).
    var skipped = 0
    /// Bytes past the end read to finish the chunk's last character.
    var carried = 0

    /// A chunk not checked (its worker stopped first).
    init() {}

    /// Checks `raw`, at `offset` in the file; `textStart` skips a byte-order mark; `after` reads
    /// the bytes that follow the chunk (up to 3), empty at the end of the file.
    init(_ raw: UnsafeRawBufferPointer, offset: Int64, textStart: Int, after: (Int) throws -> [UInt8]) rethrows {
        var start = min(textStart, raw.count)
        if offset > 0 {
            while start < min(3, raw.count) && raw[start] & 0xC0 == 0x80 { start += 1 }
            skipped = start
        }
        var check = TextCheck()
        problem = check.check(UnsafeRawBufferPointer(rebasing: raw[start...]), offset: offset + Int64(start))
        guard problem == nil, check.pending > 0 else { return }
        let next = try after(check.pending)
        carried = next.count
        problem = next.withUnsafeBytes { check.check($0, offset: offset + Int64(raw.count)) }
        if problem == nil { problem = check.finish(offset: offset + Int64(raw.count) + Int64(next.count)) }
    }
}
