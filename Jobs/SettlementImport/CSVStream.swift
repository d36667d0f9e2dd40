import CCSV

/// One record of a CSV file as libcsv delivered it: its fields' bytes (quotes removed, unquoted
/// fields trimmed of spaces) and the line of the file it starts on. A view into the stream's
/// buffers, valid only inside the call that receives it.
public struct CSVRecord {
    let bytes: UnsafePointer<UInt8>
    let fieldEnds: UnsafePointer<Int>
    let firstFieldStart: Int
    /// How many fields the record has.
    public let count: Int
    /// The 1-based line of the file the record starts on (a quoted field can hold line breaks,
    /// so a record can span several lines).
    public let line: Int

    /// The bytes of field `index` (0-based).
    @inline(__always)
    public func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(index >= 0 && index < count, "field \(index) of a record with \(count)")
        let start = index == 0 ? firstFieldStart : fieldEnds[index - 1]
        return UnsafeBufferPointer(start: bytes + start, count: fieldEnds[index] - start)
    }

    /// Field `index` as text (invalid UTF-8 repaired with U+FFFD; importers check it first).
    public func text(_ index: Int) -> String { String(decoding: field(index), as: UTF8.self) }
}

/// Why a CSV stream cannot be read any further.
public enum CSVStreamError: Error, Equatable, Sendable {
    /// The input ended inside a quoted field: the file is truncated, or a quote is not closed.
    case unterminatedQuote(line: Int)
    /// One record grew past the limit, most often because a quote is never closed.
    case recordTooLarge(line: Int, limitBytes: Int)
    /// libcsv could not go on (out of memory).
    case parser(line: Int, code: Int32)
}

/// The bookkeeping libcsv's callbacks write into: every field of the records of the current
/// chunk, one after another in one buffer, and where each record starts. A plain struct behind a
/// pointer, so the callbacks do no reference counting.
struct CSVCollector {
    var bytes: UnsafeMutablePointer<UInt8>
    var byteCapacity: Int
    var byteCount = 0
    var fieldEnds: UnsafeMutablePointer<Int>
    var fieldCapacity: Int
    var fieldCount = 0
    /// Completed records: index of the first field, field count, starting line.
    var records: UnsafeMutablePointer<(firstField: Int, count: Int, line: Int)>
    var recordCapacity: Int
    var recordCount = 0
    /// The record being read: its first field's index, and the line it started on.
    var openRecordFirstField = 0
    var openRecordLine = 1
    /// The line the parser is on, counting line breaks inside quoted fields.
    var line = 1
    /// The last record ended at a carriage return: a line feed right after it ends the same line.
    var lastEndWasCarriageReturn = false
    var sawNothingSinceCarriageReturn = false
    var overflowed = false

    init() {
        byteCapacity = 1 << 20
        bytes = .allocate(capacity: byteCapacity)
        fieldCapacity = 1 << 16
        fieldEnds = .allocate(capacity: fieldCapacity)
        recordCapacity = 1 << 14
        records = .allocate(capacity: recordCapacity)
    }

    func deallocate() {
        bytes.deallocate()
        fieldEnds.deallocate()
        records.deallocate()
    }

    /// Empty, as a new collector is, with the buffers kept.
    mutating func reset() {
        byteCount = 0
        fieldCount = 0
        recordCount = 0
        openRecordFirstField = 0
        openRecordLine = 1
        line = 1
        lastEndWasCarriageReturn = false
        sawNothingSinceCarriageReturn = false
        overflowed = false
    }

    mutating func appendField(_ data: UnsafeRawPointer?, _ length: Int) {
        if fieldCount == openRecordFirstField {
            // The first field of a record: the record starts on the current line.
            openRecordLine = line
        }
        sawNothingSinceCarriageReturn = false
        if byteCount + length > byteCapacity { grow(bytesTo: byteCount + length) }
        if let data, length > 0 {
            let source = data.assumingMemoryBound(to: UInt8.self)
            let target = bytes + byteCount
            // A quoted field can hold line breaks; count them so later records know their line.
            // Eight bytes at a time: a word with no byte below 14 holds neither CR nor LF.
            target.update(from: source, count: length)
            var index = 0
            while index + 8 <= length {
                let word = UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)
                if (word &- 0x0E0E_0E0E_0E0E_0E0E) & ~word & 0x8080_8080_8080_8080 != 0 { break }
                index += 8
            }
            var mayBreakLine = false
            while index < length {
                if source[index] < 14 { mayBreakLine = true }
                index += 1
            }
            if mayBreakLine {
                for index in 0..<length {
                    let byte = source[index]
                    if byte == 10 {
                        line += 1
                    } else if byte == 13 && (index + 1 == length || source[index + 1] != 10) {
                        line += 1
                    }
                }
            }
            byteCount += length
        }
        if fieldCount == fieldCapacity { grow(fieldsTo: fieldCapacity * 2) }
        fieldEnds[fieldCount] = byteCount
        fieldCount += 1
    }

    /// A record ends at `terminator` (CR, LF, or -1 at the end of input). libcsv reports every
    /// unquoted line break (`CSV_REPALL_NL`), including those of blank lines, as an empty record,
    /// which is how lines are counted exactly.
    mutating func endRecord(_ terminator: Int32) {
        let fields = fieldCount - openRecordFirstField
        if fields == 0 && terminator == 10 && lastEndWasCarriageReturn && sawNothingSinceCarriageReturn {
            // The LF of a CRLF: the line already ended at the CR.
            lastEndWasCarriageReturn = false
            return
        }
        if fields > 0 {
            if recordCount == recordCapacity { grow(recordsTo: recordCapacity * 2) }
            records[recordCount] = (openRecordFirstField, fields, openRecordLine)
            recordCount += 1
            openRecordFirstField = fieldCount
        }
        if terminator == 13 || terminator == 10 { line += 1 }
        lastEndWasCarriageReturn = terminator == 13
        sawNothingSinceCarriageReturn = true
    }

    private mutating func grow(bytesTo needed: Int) {
        var capacity = byteCapacity
        while capacity < needed { capacity *= 2 }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        larger.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = larger
        byteCapacity = capacity
    }

    private mutating func grow(fieldsTo capacity: Int) {
        let larger = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        larger.update(from: fieldEnds, count: fieldCount)
        fieldEnds.deallocate()
        fieldEnds = larger
        fieldCapacity = capacity
    }

    private mutating func grow(recordsTo capacity: Int) {
        let larger = UnsafeMutablePointer<(firstField: Int, count: Int, line: Int)>.allocate(capacity: capacity)
        larger.update(from: records, count: recordCount)
        records.deallocate()
        records = larger
        recordCapacity = capacity
    }

    /// Forgets the records handed out, keeping the fields of the record still open (it continues
    /// in the next chunk) at the front.
    mutating func compact() {
        let keptFields = fieldCount - openRecordFirstField
        let keptStart = openRecordFirstField == 0 ? 0 : fieldEnds[openRecordFirstField - 1]
        let keptBytes = byteCount - keptStart
        if keptStart > 0 { bytes.update(from: bytes + keptStart, count: keptBytes) }
        for index in 0..<keptFields { fieldEnds[index] = fieldEnds[openRecordFirstField + index] - keptStart }
        byteCount = keptBytes
        fieldCount = keptFields
        openRecordFirstField = 0
        recordCount = 0
    }

    /// Bytes held by the record still open.
    var openRecordBytes: Int {
        byteCount - (openRecordFirstField == 0 ? 0 : fieldEnds[openRecordFirstField - 1])
    }
}

/// A CSV reader over libcsv that takes its input in chunks and hands out whole records, so that a
/// file of any size is read in the memory of one chunk and its largest record. Line numbers count
/// every line of the file (blank ones, and breaks inside quoted fields), as an editor shows them.
public final class CSVStream {
    private var parser = csv_parser()
    private let collector: UnsafeMutablePointer<CSVCollector>
    /// The largest record accepted; past it the input is refused rather than buffered.
    public let recordLimitBytes: Int
    /// Added to the line numbers handed out: the lines before where this stream's input starts.
    public var lineOffset = 0

    /// The byte fields are split at.
    public let delimiter: UInt8

    /// A stream splitting fields at `delimiter` (`,`, `;`, `|` or a tab).
    public init(delimiter: UInt8, recordLimitBytes: Int = 1 << 20) {
        self.recordLimitBytes = recordLimitBytes
        self.delimiter = delimiter
        collector = .allocate(capacity: 1)
        collector.initialize(to: CSVCollector())
        startParser()
    }

    /// Back at the start of an input, keeping the buffers grown so far.
    func reset() {
        csv_free(&parser)
        parser = csv_parser()
        collector.pointee.reset()
        lineOffset = 0
        startParser()
    }

    private func startParser() {
        // Non-strict: a stray quote inside an unquoted field is kept as text, as spreadsheets
        // do; only an input that ends inside a quoted field is refused (see `finish`).
        let status = csv_init(&parser, UInt8(CSV_REPALL_NL))
        precondition(status == 0, "libcsv could not start")
        csv_set_delim(&parser, delimiter)
        // libcsv trims spaces and tabs around unquoted fields; with a tab delimiter a tab must
        // separate, so only spaces are trimmed then. Otherwise its built-in test is kept: a
        // function of our own would be called for every byte.
        if delimiter == 0x09 { csv_set_space_func(&parser) { $0 == 0x20 ? 1 : 0 } }
    }

    deinit {
        csv_free(&parser)
        collector.pointee.deallocate()
        collector.deinitialize(count: 1)
        collector.deallocate()
    }

    /// The line the stream has reached, counted from its own input's first line.
    public var line: Int { collector.pointee.line }

    /// Whether the parser stands between two records (not inside one, nor inside a quoted field).
    public var isBetweenRecords: Bool { parser.pstate == 0 && collector.pointee.openRecordBytes == 0 }

    /// Reads `chunk`, calling `onRecord` for every record it completes, in order.
    public func parse(_ chunk: UnsafeRawBufferPointer, onRecord: (CSVRecord) throws -> Void) throws {
        try parseOnly(chunk)
        try deliver(onRecord)
    }

    /// Reads `chunk`, keeping the records it completes until `completedRecords`.
    public func parseOnly(_ chunk: UnsafeRawBufferPointer) throws {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        let consumed = csv_parse(&parser, base, chunk.count, Self.onField, Self.onRecordEnd, collector)
        if consumed != chunk.count {
            throw CSVStreamError.parser(line: collector.pointee.line, code: Int32(csv_error(&parser)))
        }
        if collector.pointee.openRecordBytes + parser.entry_pos > recordLimitBytes {
            throw CSVStreamError.recordTooLarge(line: collector.pointee.openRecordLine, limitBytes: recordLimitBytes)
        }
    }

    /// Ends the input: the last record, if it has no line break after it, is handed out; an
    /// input ending inside a quoted field is refused.
    public func finish(onRecord: (CSVRecord) throws -> Void) throws {
        try finishOnly()
        try deliver(onRecord)
    }

    /// Ends the input, keeping the last record until `completedRecords`.
    public func finishOnly() throws {
        let startLine =
            collector.pointee.fieldCount > collector.pointee.openRecordFirstField
            ? collector.pointee.openRecordLine : collector.pointee.line
        // libcsv reports an open quote at the end (CSV_STRICT_FINI) only in strict mode, which
        // would also refuse stray quotes; its state says the same: a quoted field begun and not
        // closed (state 2, FIELD_BEGUN; a closing quote moves it to 3).
        if parser.quoted != 0 && parser.pstate == 2 { throw CSVStreamError.unterminatedQuote(line: startLine) }
        if csv_fini(&parser, Self.onField, Self.onRecordEnd, collector) != 0 {
            throw CSVStreamError.unterminatedQuote(line: startLine)
        }
    }

    /// Calls `onRecord` for every record completed and kept so far, in order.
    public func completedRecords(_ onRecord: (CSVRecord) throws -> Void) throws {
        let state = collector.pointee
        for index in 0..<state.recordCount {
            let entry = state.records[index]
            let start = entry.firstField == 0 ? 0 : state.fieldEnds[entry.firstField - 1]
            try onRecord(
                CSVRecord(
                    bytes: UnsafePointer(state.bytes), fieldEnds: UnsafePointer(state.fieldEnds + entry.firstField),
                    firstFieldStart: start, count: entry.count, line: entry.line + lineOffset))
        }
    }

    /// Forgets the records already handed out, keeping the one still open.
    public func dropDelivered() { collector.pointee.compact() }

    private func deliver(_ onRecord: (CSVRecord) throws -> Void) throws {
        defer { collector.pointee.compact() }
        try completedRecords(onRecord)
    }

    private static let onField: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void = {
        data, length, context in
        // Safe: libcsv passes back the collector given to csv_parse.
        context!.assumingMemoryBound(to: CSVCollector.self).pointee.appendField(UnsafeRawPointer(data), length)
    }

    private static let onRecordEnd: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { terminator, context in
        // Safe: libcsv passes back the collector given to csv_parse.
        context!.assumingMemoryBound(to: CSVCollector.self).pointee.endRecord(terminator)
    }
}
