import Foundation

/// One reconciliation run as recorded.
public struct ReconciliationRun: Sendable, Equatable {
    public var id: Int64
    public var provider: String
    /// The settlement date reconciled (`YYYY-MM-DD`).
    public var settlementDate: String
    /// The first and last Asia/Dhaka capture dates whose payments the run looked at.
    public var windowStart: String
    public var windowEnd: String
    /// SHA-256 (hex) over the content hashes of the input files, in order.
    public var inputSHA256: String
    /// The import files whose lines the run read.
    public var inputFiles: [Int64]
    /// Who ran it: the API key's name, `cli`, or `scheduler`.
    public var runBy: String
    public var jobRunId: Int64?
    public var startedAt: String
    public var endedAt: String?
    /// `running`, `succeeded` or `failed`.
    public var outcome: String
    public var linesRead: Int
    public var matchedCount: Int
    /// Items that are not matched (lines and payments).
    public var mismatchCount: Int
    /// Captured payments not settled yet whose window is still open.
    public var carriedCount: Int
    /// Matched lines cleared in the ledger by this run (a rerun clears none again).
    public var clearedCount: Int
    /// Mismatches of earlier runs this run found settled.
    public var resolvedCount: Int
    public var error: String?
}

/// The count and amount of one category in one currency.
public struct ReconciliationTotal: Sendable, Equatable {
    public var category: String
    public var currency: String
    public var count: Int
    public var amountMinor: Int64

    public init(category: String, currency: String, count: Int, amountMinor: Int64) {
        self.category = category
        self.currency = currency
        self.count = count
        self.amountMinor = amountMinor
    }
}

/// What a run found, to be kept at once.
public struct ReconciliationFindings: Sendable {
    /// Every item that is not matched.
    public var mismatches: [NewMismatch]
    /// Identities this run found settled (matched lines and the payments they settle), each with
    /// what settled it: an open or acknowledged mismatch with one of them is resolved.
    public var settled: [(identity: String, note: String)]
    public var totals: [ReconciliationTotal]
    public var linesRead: Int
    public var matchedCount: Int
    public var carriedCount: Int
    public var clearedCount: Int

    public init(
        mismatches: [NewMismatch], settled: [(identity: String, note: String)], totals: [ReconciliationTotal],
        linesRead: Int, matchedCount: Int, carriedCount: Int, clearedCount: Int
    ) {
        self.mismatches = mismatches
        self.settled = settled
        self.totals = totals
        self.linesRead = linesRead
        self.matchedCount = matchedCount
        self.carriedCount = carriedCount
        self.clearedCount = clearedCount
    }
}

/// What keeping a run's findings did.
public struct RecordedFindings: Sendable, Equatable {
    /// The stored mismatch of each finding, by identity.
    public var mismatchIds: [String: Int64]
    /// Mismatches new with this run.
    public var added: Int
    /// Mismatches of earlier runs that this run resolved, and those it opened again.
    public var resolved: [Int64]
    public var reopened: [Int64]
}

extension Mismatches {
    /// The actor of the changes a run makes by itself.
    public static let automaticActor = "reconciliation"

    /// Records a run of `provider` for `settlementDate` as started; answers its id.
    public func startRun(
        provider: String, settlementDate: String, windowStart: String, windowEnd: String, inputSHA256: String,
        inputFiles: [Int64], runBy: String, jobRunId: Int64?, at nanoseconds: UInt64
    ) async throws -> Int64 {
        try await database.perform { connection in
            try connection.query(
                """
                INSERT INTO reconciliation_runs (provider, settlement_date, window_start, window_end, input_sha256,
                    input_files, run_by, job_run_id, started_at, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING id
                """,
                [
                    .text(provider), .text(settlementDate), .text(windowStart), .text(windowEnd), .text(inputSHA256),
                    .text("[" + inputFiles.map(String.init).joined(separator: ",") + "]"), .text(runBy),
                    jobRunId.map(SQLValue.integer) ?? .null, .text(UTCTime.text(nanoseconds: nanoseconds)),
                ]
            ).first?.first?.integer ?? 0
        }
    }

    /// Keeps what run `id` found and how it ended, in one transaction, so that a run is never
    /// seen half-recorded: each mismatch is added, or updated when its identity was found
    /// before (one the run itself resolved earlier is opened again; one a person resolved stays
    /// resolved); each settled identity resolves its open mismatch, with the run in its history.
    public func finishRun(id: Int64, provider: String, findings: ReconciliationFindings, at nanoseconds: UInt64)
        async throws -> RecordedFindings
    {
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.transaction {
                var recorded = RecordedFindings(mismatchIds: [:], added: 0, resolved: [], reopened: [])
                for total in findings.totals {
                    try connection.run(
                        """
                        INSERT INTO reconciliation_totals (run_id, category, currency, item_count, amount_minor)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                        [
                            .integer(id), .text(total.category), .text(total.currency),
                            .integer(Int64(total.count)), .integer(total.amountMinor),
                        ])
                }
                for found in findings.mismatches where recorded.mismatchIds[found.identity] == nil {
                    let (mismatchId, reopened) = try Self.keep(
                        found, run: id, provider: provider, now: now, connection: connection)
                    recorded.mismatchIds[found.identity] = mismatchId
                    if reopened { recorded.reopened.append(mismatchId) }
                    try connection.run(
                        "INSERT INTO reconciliation_findings (run_id, mismatch_id, category) VALUES (?, ?, ?)",
                        [.integer(id), .integer(mismatchId), .text(found.category.rawValue)])
                }
                recorded.added =
                    try connection.query(
                        "SELECT COUNT(*) FROM mismatches WHERE run_id = ?", [.integer(id)]
                    ).first?.first?.integer.map { Int($0) } ?? 0
                // Few mismatches are open at a time: read them once rather than look up every
                // matched line.
                var open: [String: (id: Int64, state: String)] = [:]
                for row in try connection.query(
                    "SELECT identity, id, state FROM mismatches WHERE provider = ? AND state <> 'resolved'",
                    [.text(provider)])
                {
                    open[row[0].text ?? ""] = (row[1].integer ?? 0, row[2].text ?? "")
                }
                for (identity, note) in findings.settled {
                    guard let mismatch = open.removeValue(forKey: identity) else { continue }
                    try connection.run(
                        """
                        UPDATE mismatches SET state = 'resolved', resolution = 'automatic', last_run_id = ?,
                            updated_at = ?
                        WHERE id = ?
                        """, [.integer(id), .text(now), .integer(mismatch.id)])
                    try Self.addEvent(
                        mismatch.id, from: mismatch.state, to: "resolved", note: note, run: id, now: now,
                        connection: connection)
                    recorded.resolved.append(mismatch.id)
                }
                try connection.run(
                    """
                    UPDATE reconciliation_runs SET ended_at = ?, outcome = 'succeeded', lines_read = ?,
                        matched_count = ?, mismatch_count = ?, carried_count = ?, cleared_count = ?, resolved_count = ?
                    WHERE id = ?
                    """,
                    [
                        .text(now), .integer(Int64(findings.linesRead)), .integer(Int64(findings.matchedCount)),
                        .integer(Int64(findings.mismatches.count)), .integer(Int64(findings.carriedCount)),
                        .integer(Int64(findings.clearedCount)), .integer(Int64(recorded.resolved.count)),
                        .integer(id),
                    ])
                return recorded
            }
        }
    }

    /// Records that run `id` could not finish, and why.
    public func failRun(id: Int64, error: String, at nanoseconds: UInt64) async throws {
        try await database.perform { connection in
            try connection.run(
                "UPDATE reconciliation_runs SET ended_at = ?, outcome = 'failed', error = ? WHERE id = ?",
                [.text(UTCTime.text(nanoseconds: nanoseconds)), .text(error), .integer(id)])
        }
    }

    /// Runs newest first, of one provider or of all.
    public func runs(provider: String?, limit: Int = 50) async throws -> [ReconciliationRun] {
        try await database.perform { connection in
            let rows =
                if let provider {
                    try connection.query(
                        Self.runSelect + " WHERE provider = ? ORDER BY id DESC LIMIT ?",
                        [.text(provider), .integer(Int64(limit))])
                } else {
                    try connection.query(Self.runSelect + " ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))])
                }
            return rows.map(Self.run)
        }
    }

    /// Runs newest first, before run `before` (a page's cursor), of one provider or all, whose
    /// settlement dates (`YYYY-MM-DD`) fall in `from...to` (either end open when nil).
    public func runs(
        provider: String?, from: String?, to: String?, before: Int64?, limit: Int
    ) async throws -> [ReconciliationRun] {
        var conditions: [String] = []
        var values: [SQLValue] = []
        for (condition, value) in [
            ("provider = ?", provider.map(SQLValue.text)), ("settlement_date >= ?", from.map(SQLValue.text)),
            ("settlement_date <= ?", to.map(SQLValue.text)), ("id < ?", before.map(SQLValue.integer)),
        ] {
            guard let value else { continue }
            conditions.append(condition)
            values.append(value)
        }
        let sql =
            Self.runSelect + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY id DESC LIMIT ?"
        let bound = values + [.integer(Int64(limit))]
        return try await database.perform { connection in try connection.query(sql, bound).map(Self.run) }
    }

    public func run(id: Int64) async throws -> ReconciliationRun? {
        try await database.perform { connection in
            try connection.query(Self.runSelect + " WHERE id = ?", [.integer(id)]).first.map(Self.run)
        }
    }

    /// The count and amount per category and currency of one run, in category order.
    public func totals(runId: Int64) async throws -> [ReconciliationTotal] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT category, currency, item_count, amount_minor FROM reconciliation_totals
                WHERE run_id = ? ORDER BY category, currency
                """, [.integer(runId)]
            ).map { row in
                ReconciliationTotal(
                    category: row[0].text ?? "", currency: row[1].text ?? "", count: Int(row[2].integer ?? 0),
                    amountMinor: row[3].integer ?? 0)
            }
        }
    }

    // MARK: Rows

    /// Adds `found`, or updates the mismatch with its identity; answers its id and whether it
    /// was opened again.
    private static func keep(
        _ found: NewMismatch, run: Int64, provider: String, now: String, connection: any DatabaseConnection
    ) throws -> (Int64, reopened: Bool) {
        let values: [SQLValue] = [
            .text(found.category.rawValue), .text(found.kind), found.settlementFileId.map(SQLValue.integer) ?? .null,
            found.settlementSourceLine.map { .integer(Int64($0)) } ?? .null,
            found.ourReference.map(SQLValue.text) ?? .null, found.providerTxnId.map(SQLValue.text) ?? .null,
            found.ledgerTransferId.map(SQLValue.text) ?? .null, found.currency.map(SQLValue.text) ?? .null,
            found.ledgerMinor.map(SQLValue.integer) ?? .null, found.providerMinor.map(SQLValue.integer) ?? .null,
            found.feeMinor.map(SQLValue.integer) ?? .null, found.contractedFeeMinor.map(SQLValue.integer) ?? .null,
            found.netMinor.map(SQLValue.integer) ?? .null, .text(MismatchField.encode(found.fields)),
            .text(found.detail),
        ]
        let existing = try connection.query(
            "SELECT id, state, resolution FROM mismatches WHERE identity = ?", [.text(found.identity)]
        ).first
        guard let existing, let mismatchId = existing[0].integer else {
            let id = try connection.query(
                """
                INSERT INTO mismatches (category, kind, settlement_file_id, settlement_source_line, our_reference,
                    provider_txn_id, ledger_transfer_id, currency, expected_minor, actual_minor, fee_minor,
                    contracted_fee_minor, net_minor, fields, detail, run_id, last_run_id, provider, identity, state,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id
                """,
                values + [
                    .integer(run), .integer(run), .text(provider), .text(found.identity), .text(now), .text(now),
                ]
            ).first?.first?.integer
            // Safe: an insert that succeeded returns its id.
            return (id!, false)
        }
        let reopen = existing[1].text == "resolved" && existing[2].text == "automatic"
        try connection.run(
            """
            UPDATE mismatches SET category = ?, kind = ?, settlement_file_id = ?, settlement_source_line = ?,
                our_reference = ?, provider_txn_id = ?, ledger_transfer_id = ?, currency = ?, expected_minor = ?,
                actual_minor = ?, fee_minor = ?, contracted_fee_minor = ?, net_minor = ?, fields = ?, detail = ?,
                last_run_id = ?, updated_at = ?\(reopen ? ", state = 'open', resolution = NULL" : "")
            WHERE id = ?
            """, values + [.integer(run), .text(now), .integer(mismatchId)])
        if reopen {
            try addEvent(
                mismatchId, from: "resolved", to: "open",
                note: "found again by run \(run): \(found.category.rawValue)", run: run, now: now,
                connection: connection)
        }
        return (mismatchId, reopen)
    }

    private static func addEvent(
        _ mismatchId: Int64, from: String, to: String, note: String, run: Int64, now: String,
        connection: any DatabaseConnection
    ) throws {
        try connection.run(
            """
            INSERT INTO mismatch_events (mismatch_id, from_state, to_state, actor, note, at, run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(mismatchId), .text(from), .text(to), .text(automaticActor), .text(note), .text(now),
                .integer(run),
            ])
    }

    static let runSelect = """
        SELECT id, provider, settlement_date, window_start, window_end, input_sha256, input_files, run_by, job_run_id,
            started_at, ended_at, outcome, lines_read, matched_count, mismatch_count, carried_count, cleared_count,
            resolved_count, error
        FROM reconciliation_runs
        """

    static func run(_ row: [SQLValue]) -> ReconciliationRun {
        let files = (row[6].text ?? "[]").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            .split(separator: ",").compactMap { Int64($0) }
        return ReconciliationRun(
            id: row[0].integer ?? 0, provider: row[1].text ?? "", settlementDate: row[2].text ?? "",
            windowStart: row[3].text ?? "", windowEnd: row[4].text ?? "", inputSHA256: row[5].text ?? "",
            inputFiles: files, runBy: row[7].text ?? "", jobRunId: row[8].integer, startedAt: row[9].text ?? "",
            endedAt: row[10].text, outcome: row[11].text ?? "", linesRead: Int(row[12].integer ?? 0),
            matchedCount: Int(row[13].integer ?? 0), mismatchCount: Int(row[14].integer ?? 0),
            carriedCount: Int(row[15].integer ?? 0), clearedCount: Int(row[16].integer ?? 0),
            resolvedCount: Int(row[17].integer ?? 0), error: row[18].text)
    }
}
