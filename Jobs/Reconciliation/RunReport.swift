import JSONInput
import JobStore
import LedgerCore
import Scheduler

/// A reconciliation run's report as a document for the finance team: the run, every mismatch it
/// found (as it stands now) and the totals per category. Written a page of mismatches at a time,
/// so that a run of any size streams in bounded memory.
public struct RunReport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// For Excel and LibreOffice: UTF-8 with a byte-order mark, CRLF, formulas neutralised.
        case csv
        /// The same content for the team's own tools.
        case json
    }

    public let database: JobDatabase
    /// Mismatches read from the store at a time.
    public var pageSize = 2_500
    /// Pages of the CSV report read ahead of the one being written.
    static let pagesAhead = 3

    public init(database: JobDatabase) { self.database = database }

    /// The CSV columns, in order.
    public static let csvHeader = [
        "mismatch", "category", "state", "resolution", "provider", "provider transaction", "payment reference",
        "kind", "currency", "ledger amount", "provider amount", "fee", "contracted fee", "net", "what differs",
        "settlement file", "line", "first found (Asia/Dhaka)", "last changed (Asia/Dhaka)", "first run", "last run",
    ]

    /// Writes run `id`'s report in `format`, handing it to `sink` in pieces (a piece is a few
    /// hundred kilobytes at most). Answers false, having written nothing, when there is no such run.
    public func write(runId id: Int64, format: Format, to sink: ([UInt8]) async throws -> Void) async throws -> Bool {
        let store = Mismatches(database: database)
        guard let run = try await store.run(id: id) else { return false }
        let totals = try await store.totals(runId: id)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 18)
        switch format {
        case .csv:
            out += [0xEF, 0xBB, 0xBF]
            Self.csvRow(&out, Self.csvHeader.map(CSVCell.text))
        case .json:
            out += Array("{\"run\":".utf8)
            Self.json(&out, run)
            out += Array(",\"mismatches\":[".utf8)
        }
        let size = pageSize
        switch format {
        case .csv:
            // Rows as bytes, written out again without becoming records. The run is cut into
            // ranges of ids first, so that the next pages are read (on as many connections as the
            // store has) while this one is written; child tasks keep the caller's executor and
            // are cancelled with it.
            var scales: [String: Int] = [:]
            let ends = try await store.pageBoundaries(runId: id, every: size)
            let ranges = zip([0] + ends, ends.map { Optional($0) } + [nil]).map { (after: $0, through: $1) }
            try await withThrowingTaskGroup(of: (Int, RawRows).self) { group in
                var started = 0
                func start() {
                    let index = started
                    let range = ranges[index]
                    group.addTask {
                        (
                            index,
                            try await store.rawRange(
                                runId: id, after: range.after, through: range.through, expectedRows: size)
                        )
                    }
                    started += 1
                }
                while started < min(Self.pagesAhead, ranges.count) { start() }
                var read: [Int: RawRows] = [:]
                for index in ranges.indices {
                    while read[index] == nil {
                        // Safe: a task for `index` was started and has not been taken.
                        let (done, rows) = try await group.next()!
                        read[done] = rows
                    }
                    // Safe: the loop above waited for it.
                    let rows = read.removeValue(forKey: index)!
                    if started < ranges.count { start() }
                    rows.withView { view in
                        for row in 0..<view.rowCount { Self.csvRow(&out, view, row, scales: &scales) }
                    }
                    if out.count > 1 << 18 {
                        try await sink(out)
                        out.removeAll(keepingCapacity: true)
                    }
                }
            }
        case .json:
            var first = true
            var page = try await store.page(runId: id, after: 0, limit: size)
            while true {
                let after = page.next
                async let following: MismatchPage? = Self.page(store, runId: id, after: after, limit: size)
                for mismatch in page.mismatches {
                    if !first { out.append(0x2C) }
                    Self.json(&out, mismatch)
                    first = false
                }
                if out.count > 1 << 18 {
                    try await sink(out)
                    out.removeAll(keepingCapacity: true)
                }
                guard let next = try await following else { break }
                page = next
            }
        }
        switch format {
        case .csv:
            out += [0x0D, 0x0A]
            Self.csvRow(&out, ["totals", "category", "currency", "count", "amount"].map(CSVCell.text))
            for total in totals {
                Self.csvRow(
                    &out,
                    [
                        .text("total"), .text(total.category), .text(total.currency), .number(String(total.count)),
                        .number(ReconciliationMatcher.major(total.amountMinor, total.currency)),
                    ])
            }
            out += [0x0D, 0x0A]
            Self.csvRow(
                &out,
                [
                    .text("run"), .number(String(run.id)), .text(run.provider), .text(run.settlementDate),
                    .text(run.runBy), .text(Self.dhaka(run.startedAt)), .text(run.outcome),
                ])
        case .json:
            out += Array("],\"totals\":[".utf8)
            for (index, total) in totals.enumerated() {
                if index > 0 { out.append(0x2C) }
                Self.object(
                    &out,
                    [
                        ("category", .string(total.category)), ("currency", .string(total.currency)),
                        ("count", .number(String(total.count))),
                        ("amount", .string(ReconciliationMatcher.major(total.amountMinor, total.currency))),
                    ])
            }
            out += Array("]}\n".utf8)
        }
        try await sink(out)
        return true
    }

    /// The page after `after`, or nil when there is none.
    private static func page(_ store: Mismatches, runId: Int64, after: Int64?, limit: Int) async throws
        -> MismatchPage?
    {
        guard let after else { return nil }
        return try await store.page(runId: runId, after: after, limit: limit)
    }

    // MARK: CSV

    /// A cell: text (quoted as needed, neutralised against formulas) or a number written as is.
    public enum CSVCell: Sendable, Equatable {
        case text(String)
        case number(String)
        case empty
    }

    /// One row and its CRLF.
    public static func csvRow(_ out: inout [UInt8], _ cells: [CSVCell]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { out.append(0x2C) }
            switch cell {
            case .empty: break
            case .number(let text): out += Array(text.utf8)
            case .text(let text): csvText(&out, text)
            }
        }
        out += [0x0D, 0x0A]
    }

    /// A text cell. One that begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be
    /// read by a spreadsheet as a formula: it gets a leading apostrophe, which shows the text as
    /// written. A cell with a comma, a quote, a line break or a blank at either end is quoted.
    static func csvText(_ out: inout [UInt8], _ text: String) {
        var text = text
        text.withUTF8 { csvText(&out, bytes: UnsafeRawBufferPointer($0)) }
    }

    /// `csvText` of UTF-8 bytes.
    static func csvText(_ out: inout [UInt8], bytes: UnsafeRawBufferPointer) {
        let formula: Bool =
            switch bytes.first {
            case 0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D: true
            default: false
            }
        var needsQuotes = bytes.first == 0x20 || bytes.last == 0x20
        if !needsQuotes {
            for byte in bytes where byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                needsQuotes = true
                break
            }
        }
        if needsQuotes { out.append(0x22) }
        if formula { out.append(0x27) }
        if needsQuotes {
            for byte in bytes {
                if byte == 0x22 { out.append(0x22) }
                out.append(byte)
            }
            out.append(0x22)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    /// One mismatch's row from the store's bytes (columns in `MismatchColumn` order), written
    /// straight into `out`: a report has as many as the run found.
    static func csvRow(_ out: inout [UInt8], _ view: RawRows.View, _ row: Int, scales: inout [String: Int]) {
        typealias C = MismatchColumn
        let currency = view.value(row, C.currency.rawValue)
        let scale: Int? = currency.map { bytes in
            let code = String(decoding: bytes, as: UTF8.self)
            if let known = scales[code] { return known }
            // Safe fallback: codes come from lines and payments the import and the ledger checked.
            let scale = Int(Currency(code: code)?.scale ?? 2)
            scales[code] = scale
            return scale
        }
        func comma() { out.append(0x2C) }
        func amount(_ column: C) {
            comma()
            if let minor = view.integer(row, column.rawValue), let scale { decimal(&out, minor, scale: scale) }
        }
        func text(_ column: C) {
            comma()
            if let value = view.value(row, column.rawValue) { csvText(&out, bytes: value) }
        }
        func number(_ column: C) {
            comma()
            if let value = view.value(row, column.rawValue) { out.append(contentsOf: value) }
        }
        func time(_ column: C) {
            comma()
            if let value = view.value(row, column.rawValue) { dhaka(bytes: value, into: &out) }
        }
        if let id = view.value(row, C.id.rawValue) { out.append(contentsOf: id) }
        text(.category)
        text(.state)
        text(.resolution)
        text(.provider)
        text(.providerTxnId)
        text(.ourReference)
        text(.kind)
        text(.currency)
        amount(.ledgerMinor)
        amount(.providerMinor)
        amount(.feeMinor)
        amount(.contractedFeeMinor)
        amount(.netMinor)
        comma()
        if let fields = view.value(row, C.fields.rawValue), fields.count > 2 {
            csvText(&out, MismatchField.summary(MismatchField.decode(String(decoding: fields, as: UTF8.self))))
        }
        number(.settlementFileId)
        number(.settlementSourceLine)
        time(.createdAt)
        time(.updatedAt)
        number(.runId)
        number(.lastRunId)
        out += [0x0D, 0x0A]
    }

    /// `minor` as a plain decimal with `scale` digits after the point (`-1500.05`).
    static func decimal(_ out: inout [UInt8], _ minor: Int64, scale: Int) {
        if minor < 0 { out.append(0x2D) }
        // The digits, least significant first, at least one more than the scale.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            var value = minor.magnitude
            repeat {
                buffer[count] = UInt8(48 + value % 10)
                value /= 10
                count += 1
            } while value > 0 || count <= scale
            for index in stride(from: count - 1, through: 0, by: -1) {
                if index == scale - 1 { out.append(0x2E) }
                out.append(buffer[index])
            }
        }
    }

    /// `dhaka(_:)` written into `out`, without making text on the way for the usual form.
    static func dhaka(_ utc: String, into out: inout [UInt8]) {
        var utc = utc
        utc.withUTF8 { dhaka(bytes: UnsafeRawBufferPointer($0), into: &out) }
    }

    /// `dhaka(_:)` of a time's UTF-8 bytes, written into `out`.
    static func dhaka(bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if bytes.count == 24, bytes[10] == 0x54, bytes[23] == 0x5A {
            let tens = Int(bytes[11]) - 48
            let ones = Int(bytes[12]) - 48
            if (0...9).contains(tens), (0...9).contains(ones), tens * 10 + ones + 6 < 24 {
                let hour = tens * 10 + ones
                // The same date: only the hour moves.
                out.append(contentsOf: bytes[0..<11])
                out.append(UInt8(48 + (hour + 6) / 10))
                out.append(UInt8(48 + (hour + 6) % 10))
                out.append(contentsOf: bytes[13..<19])
                out.append(contentsOf: "+06:00".utf8)
                return
            }
        }
        out.append(contentsOf: dhaka(String(decoding: bytes, as: UTF8.self)).utf8)
    }

    /// A stored UTC time (`2026-11-29T09:30:00.000Z`) in Asia/Dhaka (`2026-11-29T15:30:00+06:00`);
    /// a text that is not such a time is given back as it is.
    public static func dhaka(_ utc: String) -> String {
        guard let nanoseconds = UTCTime.nanoseconds(utc) else { return utc }
        let seconds = Int64(nanoseconds / 1_000_000_000) + 6 * 3_600
        let second = Int(seconds % 86_400)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(CivilDate(daysSinceEpoch: Int(seconds / 86_400)))T\(two(second / 3_600)):\(two(second / 60 % 60)):"
            + "\(two(second % 60))+06:00"
    }

    // MARK: JSON

    enum JSONPiece {
        case string(String)
        case number(String)
        case raw(String)
    }

    static func object(_ out: inout [UInt8], _ members: [(String, JSONPiece?)]) {
        out.append(0x7B)
        var first = true
        for (key, value) in members {
            guard let value else { continue }
            if !first { out.append(0x2C) }
            first = false
            out += Array(JSONStringLiteral.quoted(key).utf8)
            out.append(0x3A)
            switch value {
            case .string(let text): out += Array(JSONStringLiteral.quoted(text).utf8)
            case .number(let text), .raw(let text): out += Array(text.utf8)
            }
        }
        out.append(0x7D)
    }

    static func json(_ out: inout [UInt8], _ run: ReconciliationRun) {
        object(
            &out,
            [
                ("id", .number(String(run.id))), ("provider", .string(run.provider)),
                ("settlementDate", .string(run.settlementDate)), ("runBy", .string(run.runBy)),
                ("startedAt", .string(dhaka(run.startedAt))), ("endedAt", run.endedAt.map { .string(dhaka($0)) }),
                ("outcome", .string(run.outcome)), ("linesRead", .number(String(run.linesRead))),
                ("matched", .number(String(run.matchedCount))), ("mismatches", .number(String(run.mismatchCount))),
                ("carried", .number(String(run.carriedCount))), ("cleared", .number(String(run.clearedCount))),
            ])
    }

    static func json(_ out: inout [UInt8], _ mismatch: Mismatch) {
        let found = mismatch.found
        func amount(_ minor: Int64?) -> JSONPiece? {
            guard let minor, let currency = found.currency else { return nil }
            return .string(ReconciliationMatcher.major(minor, currency))
        }
        var fields: [UInt8] = [0x5B]
        for (index, field) in found.fields.enumerated() {
            if index > 0 { fields.append(0x2C) }
            object(
                &fields,
                [
                    ("name", .string(field.name)), ("ledger", .string(field.ledger)),
                    ("provider", .string(field.provider)),
                ])
        }
        fields.append(0x5D)
        object(
            &out,
            [
                ("id", .number(String(mismatch.id))), ("category", .string(found.category.rawValue)),
                ("state", .string(mismatch.state.rawValue)), ("resolution", mismatch.resolution.map(JSONPiece.string)),
                ("provider", .string(mismatch.provider)), ("providerTxnId", found.providerTxnId.map(JSONPiece.string)),
                ("paymentReference", found.ourReference.map(JSONPiece.string)), ("kind", .string(found.kind)),
                ("currency", found.currency.map(JSONPiece.string)), ("ledgerAmount", amount(found.ledgerMinor)),
                ("providerAmount", amount(found.providerMinor)), ("fee", amount(found.feeMinor)),
                ("contractedFee", amount(found.contractedFeeMinor)), ("net", amount(found.netMinor)),
                ("fields", .raw(String(decoding: fields, as: UTF8.self))),
                ("settlementFileId", found.settlementFileId.map { .number(String($0)) }),
                ("settlementLine", found.settlementSourceLine.map { .number(String($0)) }),
                ("firstFound", .string(dhaka(mismatch.createdAt))), ("lastChanged", .string(dhaka(mismatch.updatedAt))),
                ("runId", .number(String(mismatch.runId))), ("lastRunId", .number(String(mismatch.lastRunId))),
            ])
    }
}
