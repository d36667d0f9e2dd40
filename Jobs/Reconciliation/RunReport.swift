import JSONInput
import JobStore
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
    public var pageSize = 1_000

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
        var after: Int64 = 0
        var first = true
        while true {
            let page = try await store.page(runId: id, after: after, limit: pageSize)
            for mismatch in page.mismatches {
                switch format {
                case .csv: Self.csvRow(&out, Self.cells(mismatch))
                case .json:
                    if !first { out.append(0x2C) }
                    Self.json(&out, mismatch)
                }
                first = false
            }
            if out.count > 1 << 18 {
                try await sink(out)
                out.removeAll(keepingCapacity: true)
            }
            guard let next = page.next else { break }
            after = next
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
        var bytes = Array(text.utf8)
        if let first = bytes.first, [0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D].contains(first) { bytes.insert(0x27, at: 0) }
        let needsQuotes =
            bytes.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
            || bytes.first == 0x20 || bytes.last == 0x20
        guard needsQuotes else {
            out += bytes
            return
        }
        out.append(0x22)
        for byte in bytes {
            if byte == 0x22 { out.append(0x22) }
            out.append(byte)
        }
        out.append(0x22)
    }

    static func cells(_ mismatch: Mismatch) -> [CSVCell] {
        let found = mismatch.found
        func amount(_ minor: Int64?) -> CSVCell {
            guard let minor, let currency = found.currency else { return .empty }
            return .number(ReconciliationMatcher.major(minor, currency))
        }
        func text(_ value: String?) -> CSVCell { value.map(CSVCell.text) ?? .empty }
        return [
            .number(String(mismatch.id)), .text(found.category.rawValue), .text(mismatch.state.rawValue),
            text(mismatch.resolution), .text(mismatch.provider), text(found.providerTxnId), text(found.ourReference),
            .text(found.kind), text(found.currency), amount(found.ledgerMinor), amount(found.providerMinor),
            amount(found.feeMinor), amount(found.contractedFeeMinor), amount(found.netMinor),
            .text(differences(found.fields)),
            found.settlementFileId.map { .number(String($0)) } ?? .empty,
            found.settlementSourceLine.map { .number(String($0)) } ?? .empty, .text(dhaka(mismatch.createdAt)),
            .text(dhaka(mismatch.updatedAt)), .number(String(mismatch.runId)), .number(String(mismatch.lastRunId)),
        ]
    }

    /// The fields that differ in one cell: `amount: ledger 1500.00, provider 1499.00; fee: …`.
    static func differences(_ fields: [MismatchField]) -> String {
        fields.map { "\($0.name): ledger \($0.ledger), provider \($0.provider)" }.joined(separator: "; ")
    }

    /// A stored UTC time (`2026-11-29T09:30:00.000Z`) in Asia/Dhaka (`2026-11-29T15:30:00+06:00`).
    public static func dhaka(_ utc: String) -> String {
        guard let nanoseconds = UTCTime.nanoseconds(utc) else { return utc }
        let seconds = Int64(nanoseconds / 1_000_000_000) + 6 * 3_600
        let date = CivilDate(daysSinceEpoch: Int(seconds / 86_400))
        let second = Int(seconds % 86_400)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(date)T\(two(second / 3_600)):\(two(second / 60 % 60)):\(two(second % 60))+06:00"
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
