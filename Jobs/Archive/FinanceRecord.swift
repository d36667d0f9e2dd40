import JSONInput
import JobStore
import KhataCrypto

/// The finance record an export carries (`finance.jsonl.zst`): the settlement files imported,
/// the reconciliation runs with their totals and findings, the mismatches and every review event
/// of the export's period, copied from the job store as JSON lines, one row per line.
///
/// The period is the ledger time after the previous export's last record (exclusive) up to the
/// export's last record (inclusive), cut at the millisecond the job store writes, so that a
/// chain of incremental exports holds every row once. A row that the job store writes later
/// than the ledger's last record waits for the next export. A run is placed by when it ended
/// (with its totals and findings), so that it is copied finished; one still running waits. A
/// mismatch is copied as it stands when exported; how it changed afterwards is in the
/// `mismatch_event` lines of later exports.
public enum FinanceRecord {
    /// A table copied: the record name its lines carry, the columns copied (in order) and the
    /// time column that places a row in a period (`nil`: rows follow their run).
    struct Table {
        let name: String
        let record: String
        let columns: [String]
        let timeColumn: String?
    }

    static let importFiles = Table(
        name: "import_files", record: "import_file",
        columns: [
            "id", "provider", "file_name", "dialect", "settlement_date", "content_sha256", "size_bytes", "imported_at",
            "imported_by", "line_count", "read_count", "rejected_count", "duplicate_count",
        ], timeColumn: "imported_at")
    static let runs = Table(
        name: "reconciliation_runs", record: "reconciliation_run",
        columns: [
            "id", "provider", "settlement_date", "window_start", "window_end", "input_sha256", "input_files", "run_by",
            "job_run_id", "started_at", "ended_at", "outcome", "lines_read", "matched_count", "mismatch_count",
            "carried_count", "cleared_count", "resolved_count", "error",
        ], timeColumn: "ended_at")
    static let totals = Table(
        name: "reconciliation_totals", record: "reconciliation_total",
        columns: ["run_id", "category", "currency", "item_count", "amount_minor"], timeColumn: nil)
    static let findings = Table(
        name: "reconciliation_findings", record: "reconciliation_finding",
        columns: ["run_id", "mismatch_id", "category"], timeColumn: nil)
    static let mismatches = Table(
        name: "mismatches", record: "mismatch",
        columns: [
            "id", "run_id", "last_run_id", "provider", "category", "kind", "identity", "settlement_file_id",
            "settlement_source_line", "our_reference", "provider_txn_id", "ledger_transfer_id", "currency",
            "expected_minor", "actual_minor", "fee_minor", "contracted_fee_minor", "net_minor", "fields", "detail",
            "state", "resolution", "created_at", "updated_at",
        ], timeColumn: "created_at")
    static let events = Table(
        name: "mismatch_events", record: "mismatch_event",
        columns: [
            "id", "mismatch_id", "run_id", "from_state", "to_state", "actor", "note", "resolution", "postings",
            "posted", "at",
        ], timeColumn: "at")

    /// Rows read per query, so that a run with a million mismatches is copied in bounded memory.
    static let pageRows = 5_000

    /// Hands `emit` the record's lines for the period after `afterNanoseconds` (exclusive; `nil`:
    /// from the beginning) through `throughNanoseconds` (inclusive): first a `period` line, then
    /// import files, runs (each followed by its totals and findings), mismatches and events, each
    /// in the order of its id. Blocks the caller's thread on the database's.
    public static func write(
        from database: JobDatabase, afterNanoseconds: UInt64?, throughNanoseconds: UInt64,
        emit: (String) throws -> Void
    ) throws {
        let after = afterNanoseconds.map { UTCTime.text(nanoseconds: $0) }
        let through = UTCTime.text(nanoseconds: throughNanoseconds)
        try emit(
            line(
                record: "period",
                [("after", after.map(SQLValue.text) ?? .null), ("through", .text(through))]))
        try copy(importFiles, from: database, after: after, through: through, emit: emit)
        try copy(runs, from: database, after: after, through: through, emit: emit) { ids in
            for table in [totals, findings] {
                let rows = try database.performNow { connection in
                    try connection.query(
                        "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) WHERE run_id IN ("
                            + Array(repeating: "?", count: ids.count).joined(separator: ", ")
                            + ") ORDER BY \(table.columns[0]), \(table.columns[1]), \(table.columns[2])",
                        ids.map(SQLValue.integer))
                }
                for row in rows { try emit(line(record: table.record, Array(zip(table.columns, row)))) }
            }
        }
        try copy(mismatches, from: database, after: after, through: through, emit: emit)
        try copy(events, from: database, after: after, through: through, emit: emit)
    }

    /// Copies the rows of `table` in the period, a page at a time; `afterPage` gets each page's
    /// ids once its lines are out.
    private static func copy(
        _ table: Table, from database: JobDatabase, after: String?, through: String,
        emit: (String) throws -> Void, afterPage: ([Int64]) throws -> Void = { _ in }
    ) throws {
        // Safe: every table copied this way is placed by a time column.
        let time = table.timeColumn!
        var lastId: Int64 = 0
        while true {
            var sql =
                "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) WHERE id > ? AND \(time) <= ?"
            var values: [SQLValue] = [.integer(lastId), .text(through)]
            if let after {
                sql += " AND \(time) > ?"
                values.append(.text(after))
            }
            sql += " ORDER BY id LIMIT \(pageRows)"
            let bound = values
            let rows = try database.performNow { connection in try connection.query(sql, bound) }
            guard !rows.isEmpty else { return }
            var ids: [Int64] = []
            ids.reserveCapacity(rows.count)
            for row in rows {
                try emit(line(record: table.record, Array(zip(table.columns, row))))
                // Safe: `id` is every table's first column and an integer primary key.
                ids.append(row[0].integer!)
            }
            try afterPage(ids)
            lastId = ids[ids.count - 1]
            if rows.count < pageRows { return }
        }
    }

    /// One JSON object: `record` first, then the columns in order; money and counts are numbers,
    /// times and texts strings (a text holding JSON, such as `postings`, stays a string, as stored).
    static func line(record: String, _ fields: [(String, SQLValue)]) -> String {
        var out = "{\"record\":" + JSONStringLiteral.quoted(record)
        for (name, value) in fields {
            out += "," + JSONStringLiteral.quoted(name) + ":"
            switch value {
            case .null: out += "null"
            case .integer(let number): out += String(number)
            case .text(let text): out += JSONStringLiteral.quoted(text)
            case .blob(let bytes): out += JSONStringLiteral.quoted(Crypto.hex(bytes))
            }
        }
        return out + "}"
    }
}
