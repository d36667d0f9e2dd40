import Foundation
import JSONInput
import JobStore
import LedgerCore
import Scheduler

/// A line of a settlement file that was not imported (the job store keeps them).
public typealias RejectedLine = RejectedSettlementLine

/// A line's values, read and checked; its text fields stay in the record until needed.
public struct ParsedSettlementLine: Sendable {
    public var kind: SettlementKind
    public var status: SettlementStatus
    public var transactedAtNanoseconds: Int64
    public var settlementDate: CivilDate?
    public var grossMinor: Int64
    public var feeMinor: Int64
    public var netMinor: Int64
    public var currency: Currency
    /// What was rounded, when a column's digits below the minor unit were rounded half-even.
    public var roundingNote: String?
}

/// What a settlement line records: a payment, money going back (refund, chargeback), or a
/// provider's adjustment.
public enum SettlementKind: String, Sendable, CaseIterable {
    case payment, refund, chargeback, adjustment

    /// Refunds and chargebacks: money going back to the customer.
    var isOutgoing: Bool { self == .refund || self == .chargeback }
}

/// What the provider says became of the transaction.
public enum SettlementStatus: String, Sendable, CaseIterable {
    case settled, failed, reversed
}

/// What one record of a settlement file turned out to be.
public enum SettlementRow {
    /// A title or blank line before the header.
    case preamble
    case header
    /// A line with no values, or a totals line (`Total,,12345.00`) after the data.
    case blank
    case totals
    case line(ParsedSettlementLine)
    case rejected(RejectedLine)
}

/// A problem with a whole file: it is not read at all.
public struct SettlementFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }
        public static let notText = Code(name: "notText")
        public static let empty = Code(name: "empty")
        public static let noHeader = Code(name: "noHeader")
        public static let otherProvider = Code(name: "otherProvider")
        public static let badHeader = Code(name: "badHeader")
        public static let unterminatedQuote = Code(name: "unterminatedQuote")
        public static let recordTooLarge = Code(name: "recordTooLarge")
        public static let unreadable = Code(name: "unreadable")
        public static let changedWhileReading = Code(name: "changedWhileReading")
        public static let badMapping = Code(name: "badMapping")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Reads the records of one settlement file in one dialect: finds the header among the lines
/// before it, then turns each data line into a checked `ParsedSettlementLine` or a
/// `RejectedLine` naming the column and the reason. It keeps nothing from line to line but the
/// header's layout, so a file of any size is read in constant memory.
public struct SettlementReader: @unchecked Sendable {
    // Safe (@unchecked Sendable): its only mutable shared parts are the lookup caches (classes),
    // and a reader crosses to another thread only through `copyForThread`, which gives the copy
    // caches of its own.
    public let dialect: SettlementDialect
    /// Records looked at for a header before the file is refused.
    public static let preambleLimit = 50
    /// The longest identifier accepted (references, transaction ids).
    public static let identifierLimitBytes = 128

    /// Each field's column, once the header is found.
    private var columnOf = FieldColumns()
    private var headerNames: [String] = []
    private var columnCount = 0
    private(set) public var headerLine: Int?
    private var preambleRecords = 0
    /// The preamble record that came closest to a header, for the error message.
    private var closest: (line: Int, missing: [String])?
    private var fixedCurrency: Currency?
    private var kinds: WordTable<SettlementKind>
    private var statuses: WordTable<SettlementStatus>
    /// Each field's rounding, by ordinal.
    private let roundingOf: [SubunitRounding]
    private var currencies = CurrencyCache()

    public init(dialect: SettlementDialect) {
        self.dialect = dialect
        fixedCurrency = dialect.defaultCurrency.flatMap { Currency(code: $0) }
        kinds = WordTable(dialect.kinds.compactMapValues(SettlementKind.init(rawValue:)))
        statuses = WordTable(dialect.statuses.compactMapValues(SettlementStatus.init(rawValue:)))
        roundingOf = SettlementField.allCases.map { dialect.rounding[$0] ?? .reject }
    }

    /// The header's names, in the file's order (after the header is found).
    public var header: [String] { headerNames }

    /// The columns that no field reads, by index and name: kept with each line as extra data.
    public private(set) var extraColumns: [(index: Int, name: String)] = []

    /// Whether the header has been found: from then on `readLine` reads data lines, and a copy
    /// made by `copyForThread` reads them on another thread.
    public var hasHeader: Bool { headerLine != nil }

    /// The bytes of `field` in a data line's record, trimmed as the stored text is (see
    /// `settlementLine`); empty when the file has no such column. Valid only while `record` is.
    public func trimmedBytes(_ field: SettlementField, in record: CSVRecord) -> UnsafeBufferPointer<UInt8> {
        guard let column = columnOf[field], column < record.count else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return record.trimmedField(column)
    }

    /// A data line after the header, as `read` reads it; changes nothing but its caches.
    public func readLine(_ record: CSVRecord) -> SettlementRow {
        precondition(headerLine != nil, "data lines are read after the header")
        return readData(record)
    }

    /// A copy with caches of its own, for reading lines on another thread at the same time.
    public func copyForThread() -> SettlementReader {
        var copy = self
        copy.kinds = kinds.fresh()
        copy.statuses = statuses.fresh()
        copy.currencies = CurrencyCache()
        return copy
    }

    public mutating func read(_ record: CSVRecord) throws(SettlementFileError) -> SettlementRow {
        guard headerLine != nil else { return try readPreamble(record) }
        return readData(record)
    }

    /// Called at the end of the file: a file whose header never came is refused.
    public func finish() throws(SettlementFileError) {
        guard headerLine == nil else { return }
        throw noHeaderError()
    }

    private func noHeaderError() -> SettlementFileError {
        let expected = dialect.required.sorted().compactMap { dialect.columns[$0] }.joined(separator: ", ")
        var message =
            "no \(dialect.name) header line in the file's first \(Self.preambleLimit) lines; "
            + "a \(dialect.name) header names \(expected)"
        if let closest {
            message += " (line \(closest.line) comes closest; it lacks \(closest.missing.joined(separator: ", ")))"
        }
        return SettlementFileError(.noHeader, message)
    }

    private mutating func readPreamble(_ record: CSVRecord) throws(SettlementFileError) -> SettlementRow {
        let names = (0..<record.count).map { SettlementDialect.headerKey(record.text($0)) }
        if let columns = match(names, dialect: dialect) {
            var seen: [String: Int] = [:]
            for (index, name) in names.enumerated() where !name.isEmpty {
                if let first = seen[name] {
                    throw SettlementFileError(
                        .badHeader,
                        "line \(record.line): the header names column \"\(record.text(index))\" twice "
                            + "(columns \(first + 1) and \(index + 1))")
                }
                seen[name] = index
            }
            columnOf = FieldColumns(columns)
            headerNames = (0..<record.count).map {
                let text = record.text($0)
                return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
            }
            columnCount = record.count
            headerLine = record.line
            let used = Set(columnOf.values)
            extraColumns = headerNames.enumerated().filter { !used.contains($0.offset) && !$0.element.isEmpty }.map {
                ($0.offset, $0.element)
            }
            return .header
        }
        for other in SettlementDialect.providers where other.name != dialect.name && match(names, dialect: other) != nil
        {
            throw SettlementFileError(
                .otherProvider,
                "line \(record.line) is a \(other.name) header, not \(dialect.name)'s: "
                    + "import the file with --provider \(other.name)")
        }
        let present = Set(names)
        let missing = dialect.required.sorted().compactMap { field -> String? in
            guard let key = dialect.headerKey(field), !present.contains(key) else { return nil }
            return dialect.columns[field]
        }
        if missing.count < dialect.required.count && missing.count < (closest?.missing.count ?? Int.max) {
            closest = (record.line, missing)
        }
        preambleRecords += 1
        if preambleRecords >= Self.preambleLimit { throw noHeaderError() }
        return .preamble
    }

    /// The column of each field when `names` is a header of `dialect`.
    private func match(_ names: [String], dialect: SettlementDialect) -> [SettlementField: Int]? {
        var columns: [SettlementField: Int] = [:]
        for field in SettlementField.allCases {
            guard let key = dialect.headerKey(field) else { continue }
            if let index = names.firstIndex(of: key) { columns[field] = index }
        }
        guard dialect.required.allSatisfy({ columns[$0] != nil }) else { return nil }
        return columns
    }

    private func readData(_ record: CSVRecord) -> SettlementRow {
        // Most lines have their first field; only the others need the scan for blank lines.
        if record.field(0).isEmpty || isBlank(record.field(0)) {
            var allEmpty = true
            for index in 1..<record.count where !isBlank(record.field(index)) {
                allEmpty = false
                break
            }
            if allEmpty { return .blank }
        }
        if startsWithTotal(record.field(0)) {
            // A totals line leaves the identifiers empty (the word Total may sit in the first
            // of them), or does not span the header's columns.
            let identifiers = [SettlementField.providerTxnId, .ourReference].compactMap { columnOf[$0] }
            if record.count != columnCount || identifiers.contains(where: { isBlank(record.field($0)) }) {
                return .totals
            }
        }
        guard record.count == columnCount else {
            return .rejected(
                RejectedLine(
                    line: record.line, column: nil,
                    reason: "the line has \(record.count) columns; the header has \(columnCount)"))
        }
        switch parse(record) {
        case .success(let line): return .line(line)
        case .failure(let rejected): return .rejected(rejected)
        }
    }

    /// Empty, or blanks only (spaces, tabs, no-break spaces).
    private func isBlank(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < field.count {
            let byte = field[index]
            if byte == 0x20 || byte == 0x09 {
                index += 1
            } else if byte == 0xC2 && index + 1 < field.count && field[index + 1] == 0xA0 {
                index += 2
            } else {
                return false
            }
        }
        return true
    }

    private static let totalWords = ["total", "grand total", "sum"].map { Array($0.utf8) }

    private func startsWithTotal(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        // Most first fields are ids: a look at the first byte settles them.
        if let first = field.first, first != 0x20 {
            let lowered = first | 0x20
            // t(otal), g(rand total), s(um)
            if lowered != 0x74 && lowered != 0x67 && lowered != 0x73 { return false }
        }
        var start = 0
        while start < field.count && field[start] == 0x20 { start += 1 }
        for utf8 in Self.totalWords {
            if field.count - start >= utf8.count
                && utf8.indices.allSatisfy({ field[start + $0] | 0x20 == utf8[$0] | 0x20 })
            {
                return true
            }
        }
        return false
    }

    private func reject(_ record: CSVRecord, _ field: SettlementField?, _ reason: String) -> RejectedLine {
        RejectedLine(line: record.line, column: field.flatMap { columnOf[$0] }.map { headerNames[$0] }, reason: reason)
    }

    private func quoted(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        return "\"" + text + (bytes.count > 64 ? "…" : "") + "\""
    }

    /// Checks an identifier: present (when `required`), printable, not too long.
    private func identifier(_ record: CSVRecord, _ field: SettlementField, required: Bool) -> RejectedLine? {
        guard let column = columnOf[field] else {
            return required ? reject(record, nil, "the file has no \(field.rawValue) column") : nil
        }
        let bytes = record.field(column)
        // One pass, eight bytes at a time: whether anything but blanks is there, and whether a
        // control character (below 0x20, or DEL) is.
        var printable = false
        var control = false
        var index = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= bytes.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let delete = word ^ 0x7F7F_7F7F_7F7F_7F7F
                if (word &- 0x2020_2020_2020_2020) & ~word & 0x8080_8080_8080_8080 != 0
                    || (delete &- 0x0101_0101_0101_0101) & ~delete & 0x8080_8080_8080_8080 != 0
                {
                    control = true
                }
                if word != 0x2020_2020_2020_2020 { printable = true }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x7F {
                control = true
            } else if byte != 0x20 {
                printable = true
            }
            index += 1
        }
        if !printable && (bytes.isEmpty || isBlank(bytes)) {
            return required ? reject(record, field, "the \(field.rawValue) is missing") : nil
        }
        if bytes.count > Self.identifierLimitBytes {
            return reject(record, field, "longer than \(Self.identifierLimitBytes) bytes")
        }
        if control, let found = bytes.first(where: { $0 < 0x20 || $0 == 0x7F }) {
            return reject(record, field, "\(quoted(bytes)) holds a control character (0x\(String(found, radix: 16)))")
        }
        return nil
    }

    /// The amount in `field`'s column: nil when the file has no such column, or (fee and net)
    /// leaves it blank. A rounding is added to `note`.
    private func amount(
        _ record: CSVRecord, _ field: SettlementField, currency: Currency, note: inout String?
    ) -> Result<DecimalAmount?, RejectedLine> {
        guard let column = columnOf[field] else { return .success(nil) }
        let bytes = record.field(column)
        if field != .amount && isBlank(bytes) { return .success(nil) }
        let scale = Int(currency.scale)
        switch DecimalAmount.parse(bytes, scale: scale, style: dialect.decimals, rounding: roundingOf[field.ordinal]) {
        case .success(let value):
            if value.wasRounded {
                let rounded = DecimalAmount.format(value.signedMinor, scale: scale)
                let written = String(decoding: bytes, as: UTF8.self).trimmingBlanks
                let text = "\(headerNames[column]) \(written) rounded half-even to \(rounded)"
                note = note.map { $0 + "; " + text } ?? text
            }
            return .success(value)
        case .failure(let problem):
            var reason = "\(quoted(bytes)): \(problem)"
            if case .belowMinorUnit = problem {
                reason =
                    "\(quoted(bytes)) has a non-zero digit below the minor unit: \(currency.code) has "
                    + "\(scale) decimal places, and \(dialect.name) does not round this column"
            }
            return .failure(reject(record, field, reason))
        }
    }

    private func parse(_ record: CSVRecord) -> Result<ParsedSettlementLine, RejectedLine> {
        if let problem = identifier(record, .providerTxnId, required: true) { return .failure(problem) }
        if let problem = identifier(record, .ourReference, required: true) { return .failure(problem) }
        if let problem = identifier(record, .providerPaymentId, required: false) { return .failure(problem) }
        if let problem = identifier(record, .originalProviderTxnId, required: false) { return .failure(problem) }
        if let problem = identifier(record, .payer, required: false) { return .failure(problem) }
        var kind = SettlementKind.payment
        if let column = columnOf[.kind] {
            guard let known = kinds.lookup(record.field(column)) else {
                let words = Set(dialect.kinds.values).sorted().joined(separator: ", ")
                let written = WordTable<SettlementKind>.lowercased(record.field(column))
                return .failure(reject(record, .kind, "unknown transaction type \"\(written)\" (known: \(words))"))
            }
            kind = known
        }
        var status = SettlementStatus.settled
        if let column = columnOf[.status] {
            guard let known = statuses.lookup(record.field(column)) else {
                let words = dialect.statuses.keys.sorted().joined(separator: ", ")
                let written = WordTable<SettlementStatus>.lowercased(record.field(column))
                return .failure(reject(record, .status, "unknown status \"\(written)\" (known: \(words))"))
            }
            status = known
        }
        let currency: Currency
        if let column = columnOf[.currency], !isBlank(record.field(column)) {
            let bytes = record.field(column)
            guard let found = currencies.currency(bytes) else {
                return .failure(reject(record, .currency, "unknown currency \(quoted(bytes))"))
            }
            currency = found
        } else if let fixedCurrency {
            currency = fixedCurrency
        } else {
            return .failure(reject(record, .currency, "the currency is missing"))
        }
        let scale = Int(currency.scale)
        var roundingNote: String?
        let gross: DecimalAmount
        switch amount(record, .amount, currency: currency, note: &roundingNote) {
        case .failure(let problem): return .failure(problem)
        case .success(let value):
            guard let value else { return .failure(reject(record, nil, "the file has no amount column")) }
            gross = value
        }
        let fee: DecimalAmount?
        switch amount(record, .fee, currency: currency, note: &roundingNote) {
        case .failure(let problem): return .failure(problem)
        case .success(let value): fee = value
        }
        let net: DecimalAmount?
        switch amount(record, .net, currency: currency, note: &roundingNote) {
        case .failure(let problem): return .failure(problem)
        case .success(let value): net = value
        }
        if gross.isNegative && kind == .payment {
            return .failure(reject(record, .amount, "a payment's amount cannot be negative"))
        }
        if net?.isNegative == true && kind == .payment {
            return .failure(reject(record, .net, "a payment's net amount cannot be negative"))
        }
        // Refunds and chargebacks are money going back whatever sign the file gives them;
        // adjustments keep their sign (in our favour or against).
        let grossMinor = kind == .adjustment ? gross.signedMinor : gross.minor
        let outgoing = kind.isOutgoing
        let feeMinor: Int64
        let netMinor: Int64
        switch (fee, net) {
        case (let fee?, let net?):
            feeMinor = fee.minor
            netMinor = kind == .adjustment ? net.signedMinor : net.minor
            let expected = outgoing ? gross.minor + fee.minor : grossMinor - fee.minor
            let alternative = outgoing ? gross.minor - fee.minor : expected
            guard netMinor == expected || netMinor == alternative else {
                return .failure(
                    reject(
                        record, .net,
                        "\(DecimalAmount.format(netMinor, scale: scale)) is not the amount "
                            + DecimalAmount.format(grossMinor, scale: scale)
                            + (outgoing ? " plus" : " minus") + " the fee "
                            + DecimalAmount.format(feeMinor, scale: scale)))
            }
        case (let fee?, nil):
            feeMinor = fee.minor
            netMinor = outgoing ? gross.minor + fee.minor : grossMinor - fee.minor
        case (nil, let net?):
            netMinor = kind == .adjustment ? net.signedMinor : net.minor
            if outgoing {
                // Money going back: the provider may add its fee or keep it back.
                feeMinor = abs(netMinor - gross.minor)
            } else {
                guard grossMinor - netMinor >= 0 else {
                    let name = columnOf[.net].map { headerNames[$0] } ?? "net"
                    return .failure(
                        reject(
                            record, .net,
                            "\(name) \(DecimalAmount.format(netMinor, scale: scale)) is more than the amount "
                                + DecimalAmount.format(grossMinor, scale: scale)))
                }
                feeMinor = grossMinor - netMinor
            }
        case (nil, nil):
            feeMinor = 0
            netMinor = grossMinor
        }
        guard let timeColumn = columnOf[.transactedAt] else {
            return .failure(reject(record, nil, "the file has no time column"))
        }
        let timeBytes = record.field(timeColumn)
        let transactedAt: Int64
        switch dialect.time.parse(timeBytes) {
        case .success(let value): transactedAt = value
        case .failure(let problem): return .failure(reject(record, .transactedAt, "\(quoted(timeBytes)): \(problem)"))
        }
        var settlementDate: CivilDate?
        if let column = columnOf[.settlementDate], !isBlank(record.field(column)) {
            let bytes = record.field(column)
            guard let date = CivilDate.parse(String(decoding: bytes, as: UTF8.self).trimmingBlanks) else {
                return .failure(reject(record, .settlementDate, "\(quoted(bytes)) is not a date (YYYY-MM-DD)"))
            }
            settlementDate = date
        }
        return .success(
            ParsedSettlementLine(
                kind: kind, status: status, transactedAtNanoseconds: transactedAt, settlementDate: settlementDate,
                grossMinor: grossMinor, feeMinor: feeMinor, netMinor: netMinor, currency: currency,
                roundingNote: roundingNote))
    }

    /// The stored form of a parsed line: its text fields taken from the record, the payer masked,
    /// the unread columns kept as a JSON object.
    public func settlementLine(
        _ parsed: ParsedSettlementLine, record: CSVRecord, defaultSettlementDate: CivilDate
    ) -> SettlementLine {
        settlementLine(parsed, record: record, defaultSettlementDateText: defaultSettlementDate.description)
    }

    /// As `settlementLine(_:record:defaultSettlementDate:)`, with the date already written
    /// (`YYYY-MM-DD`), as the importer does once per file.
    public func settlementLine(
        _ parsed: ParsedSettlementLine, record: CSVRecord, defaultSettlementDateText: String
    ) -> SettlementLine {
        func text(_ field: SettlementField) -> String? {
            guard let column = columnOf[field] else { return nil }
            return record.trimmedText(column)
        }
        var extra: String?
        let extras = extraColumns
        if !extras.isEmpty {
            var pairs: [String] = []
            for (index, name) in extras where index < record.count {
                let value = record.text(index)
                if !value.isEmpty {
                    pairs.append(JSONStringLiteral.quoted(name) + ":" + JSONStringLiteral.quoted(value))
                }
            }
            if !pairs.isEmpty { extra = "{" + pairs.joined(separator: ",") + "}" }
        }
        return SettlementLine(
            provider: dialect.provider, providerTxnId: text(.providerTxnId) ?? "",
            ourReference: text(.ourReference) ?? "", providerPaymentId: text(.providerPaymentId),
            kind: parsed.kind.rawValue, statusRaw: text(.status) ?? parsed.status.rawValue,
            status: parsed.status.rawValue,
            transactedAt: UTCText.milliseconds(parsed.transactedAtNanoseconds),
            settlementDate: parsed.settlementDate.map(\.description) ?? defaultSettlementDateText,
            grossMinor: parsed.grossMinor, feeMinor: parsed.feeMinor, netMinor: parsed.netMinor,
            currency: parsed.currency.code, payerMasked: text(.payer).map(Self.masked),
            originalProviderTxnId: text(.originalProviderTxnId), sourceLine: record.line,
            roundingNote: parsed.roundingNote, extra: extra)
    }

    /// A payer's number with its middle hidden (`01770XXX618`), unless the file masked it already.
    static func masked(_ payer: String) -> String {
        let utf8 = payer.utf8
        guard utf8.count >= 9, !utf8.contains(where: { $0 == 0x58 || $0 == 0x78 || $0 == 0x2A }) else { return payer }
        let characters = Array(payer)
        guard characters.count >= 9 else { return payer }
        return String(characters[..<5]) + String(repeating: "X", count: characters.count - 8)
            + String(characters[(characters.count - 3)...])
    }
}

extension String {
    /// Without blanks at either end.
    var trimmingBlanks: String { trimmingCharacters(in: [" ", "\t", "\u{00A0}"]) }
}
