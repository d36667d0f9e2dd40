/// What kind of difference reconciliation found between a provider's settlement and the ledger.
public enum MismatchCategory: String, Sendable, CaseIterable {
    case amountMismatch = "amount_mismatch"
    case feeMismatch = "fee_mismatch"
    case missingInLedger = "missing_in_ledger"
    case missingAtProvider = "missing_at_provider"
    case duplicateSettlement = "duplicate_settlement"
    case statusMismatch = "status_mismatch"
    case currencyMismatch = "currency_mismatch"
    case lateSettlement = "late_settlement"
}

/// Where a mismatch stands in the finance team's review.
public enum MismatchState: String, Sendable, CaseIterable {
    case open, acknowledged, resolved

    /// The moves a person may make: acknowledge or resolve an open one, resolve an acknowledged
    /// one, and reopen a resolved one that turned out not to be.
    public func canMove(to next: MismatchState) -> Bool {
        switch (self, next) {
        case (.open, .acknowledged), (.open, .resolved), (.acknowledged, .resolved), (.resolved, .open): true
        default: false
        }
    }
}

/// A mismatch as reconciliation reports it.
public struct NewMismatch: Sendable, Equatable {
    public var category: MismatchCategory
    /// The same difference found again (by a rerun, or carried over) has the same identity, e.g.
    /// `amount_mismatch:bkash:TRX123`.
    public var identity: String
    /// The settlement line concerned, by its file and line number, if one is.
    public var settlementFileId: Int64?
    public var settlementSourceLine: Int?
    public var ourReference: String?
    public var providerTxnId: String?
    public var ledgerTransferId: String?
    public var currency: String?
    public var expectedMinor: Int64?
    public var actualMinor: Int64?
    public var detail: String

    public init(
        category: MismatchCategory, identity: String, settlementFileId: Int64? = nil, settlementSourceLine: Int? = nil,
        ourReference: String? = nil,
        providerTxnId: String? = nil, ledgerTransferId: String? = nil, currency: String? = nil,
        expectedMinor: Int64? = nil, actualMinor: Int64? = nil, detail: String
    ) {
        self.category = category
        self.identity = identity
        self.settlementFileId = settlementFileId
        self.settlementSourceLine = settlementSourceLine
        self.ourReference = ourReference
        self.providerTxnId = providerTxnId
        self.ledgerTransferId = ledgerTransferId
        self.currency = currency
        self.expectedMinor = expectedMinor
        self.actualMinor = actualMinor
        self.detail = detail
    }
}

/// A stored mismatch.
public struct Mismatch: Sendable, Equatable {
    public var id: Int64
    public var runId: Int64
    public var provider: String
    public var found: NewMismatch
    public var state: MismatchState
    public var createdAt: String
    public var updatedAt: String
}

/// One change of a mismatch's state, by whom and why.
public struct MismatchEvent: Sendable, Equatable {
    public var from: MismatchState
    public var to: MismatchState
    public var actor: String
    public var note: String
    public var at: String
}

/// A change of state refused: what and why. Nothing was written. The shape of every error of
/// Khata: a stable code, extensible without breaking callers, and the details some codes carry.
public struct MismatchError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        public static let notFound = Code(name: "notFound")
        public static let notAllowed = Code(name: "notAllowed")
        /// Someone else moved it first: it is no longer in the state the caller saw.
        public static let changedMeanwhile = Code(name: "changedMeanwhile")
        public static let emptyField = Code(name: "emptyField")
    }

    public var code: Code
    public var message: String
    /// The mismatch concerned.
    public var id: Int64?
    /// The state it was in (or was expected in), and the state asked for or found.
    public var from: MismatchState?
    public var to: MismatchState?

    public init(_ code: Code, _ message: String, id: Int64? = nil, from: MismatchState? = nil, to: MismatchState? = nil)
    {
        self.code = code
        self.message = message
        self.id = id
        self.from = from
        self.to = to
    }

    public var description: String { message }

    public static func notFound(id: Int64) -> MismatchError {
        MismatchError(.notFound, "mismatch \(id) does not exist", id: id)
    }

    public static func notAllowed(id: Int64, from: MismatchState, to: MismatchState) -> MismatchError {
        MismatchError(.notAllowed, "mismatch \(id) cannot move from \(from) to \(to)", id: id, from: from, to: to)
    }

    public static func changedMeanwhile(id: Int64, expected: MismatchState, actual: MismatchState) -> MismatchError {
        MismatchError(
            .changedMeanwhile, "mismatch \(id) is \(actual) now, not \(expected): it was changed meanwhile", id: id,
            from: expected, to: actual)
    }

    public static func emptyField(_ field: String) -> MismatchError {
        MismatchError(.emptyField, "\(field) must not be empty")
    }
}

/// One reconciliation run as recorded.
public struct ReconciliationRun: Sendable, Equatable {
    public var id: Int64
    public var provider: String
    public var windowStart: String
    public var windowEnd: String
    /// SHA-256 (hex) of the run's inputs, so that a rerun of the same input can be recognised.
    public var inputSHA256: String
    public var jobRunId: Int64?
    public var startedAt: String
    public var endedAt: String?
    /// `running`, `succeeded` or `failed`.
    public var outcome: String
    public var linesRead: Int
    public var matchedCount: Int
    public var mismatchCount: Int
    public var error: String?
}

/// Reconciliation runs, their mismatches, and the finance team's review of them.
public struct Mismatches: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Records a run as started; answers its id.
    public func startRun(
        provider: String, windowStart: String, windowEnd: String, inputSHA256: String, jobRunId: Int64?,
        at nanoseconds: UInt64
    ) async throws -> Int64 {
        try await database.perform { connection in
            try connection.query(
                """
                INSERT INTO reconciliation_runs (provider, window_start, window_end, input_sha256, job_run_id,
                    started_at, outcome)
                VALUES (?, ?, ?, ?, ?, ?, 'running') RETURNING id
                """,
                [
                    .text(provider), .text(windowStart), .text(windowEnd), .text(inputSHA256),
                    jobRunId.map(SQLValue.integer) ?? .null, .text(UTCTime.text(nanoseconds: nanoseconds)),
                ]
            ).first?.first?.integer ?? 0
        }
    }

    /// Records the run's mismatches and how it ended, in one transaction, so that a run is never
    /// seen half-reported. A mismatch whose identity the run already has is not added twice.
    public func finishRun(
        id: Int64, provider: String, mismatches: [NewMismatch], linesRead: Int, matchedCount: Int, error: String?,
        at nanoseconds: UInt64
    ) async throws {
        let now = UTCTime.text(nanoseconds: nanoseconds)
        try await database.perform { connection in
            try connection.transaction {
                var added = 0
                for found in mismatches {
                    added += try connection.run(
                        """
                        INSERT INTO mismatches (run_id, provider, category, identity, settlement_file_id,
                            settlement_source_line, our_reference, provider_txn_id, ledger_transfer_id, currency,
                            expected_minor, actual_minor, detail, state, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
                        ON CONFLICT (run_id, identity) DO NOTHING
                        """,
                        [
                            .integer(id), .text(provider), .text(found.category.rawValue), .text(found.identity),
                            found.settlementFileId.map(SQLValue.integer) ?? .null,
                            found.settlementSourceLine.map { .integer(Int64($0)) } ?? .null,
                            found.ourReference.map(SQLValue.text) ?? .null,
                            found.providerTxnId.map(SQLValue.text) ?? .null,
                            found.ledgerTransferId.map(SQLValue.text) ?? .null,
                            found.currency.map(SQLValue.text) ?? .null,
                            found.expectedMinor.map(SQLValue.integer) ?? .null,
                            found.actualMinor.map(SQLValue.integer) ?? .null, .text(found.detail), .text(now),
                            .text(now),
                        ])
                }
                try connection.run(
                    """
                    UPDATE reconciliation_runs SET ended_at = ?, outcome = ?, lines_read = ?, matched_count = ?,
                        mismatch_count = ?, error = ?
                    WHERE id = ?
                    """,
                    [
                        .text(now), .text(error == nil ? "succeeded" : "failed"), .integer(Int64(linesRead)),
                        .integer(Int64(matchedCount)), .integer(Int64(added)), error.map(SQLValue.text) ?? .null,
                        .integer(id),
                    ])
            }
        }
    }

    /// Runs newest first, of one provider or of all.
    public func runs(provider: String?, limit: Int = 50) async throws -> [ReconciliationRun] {
        try await database.perform { connection in
            let select = """
                SELECT id, provider, window_start, window_end, input_sha256, job_run_id, started_at, ended_at, outcome,
                    lines_read, matched_count, mismatch_count, error FROM reconciliation_runs
                """
            let rows =
                if let provider {
                    try connection.query(
                        select + " WHERE provider = ? ORDER BY id DESC LIMIT ?",
                        [.text(provider), .integer(Int64(limit))])
                } else {
                    try connection.query(select + " ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))])
                }
            return rows.map { row in
                ReconciliationRun(
                    id: row[0].integer ?? 0, provider: row[1].text ?? "", windowStart: row[2].text ?? "",
                    windowEnd: row[3].text ?? "", inputSHA256: row[4].text ?? "", jobRunId: row[5].integer,
                    startedAt: row[6].text ?? "", endedAt: row[7].text, outcome: row[8].text ?? "",
                    linesRead: Int(row[9].integer ?? 0), matchedCount: Int(row[10].integer ?? 0),
                    mismatchCount: Int(row[11].integer ?? 0), error: row[12].text)
            }
        }
    }

    /// The mismatches of one run, or in one state, in the order found.
    public func list(runId: Int64? = nil, state: MismatchState? = nil, limit: Int = 1_000) async throws -> [Mismatch] {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let runId {
            conditions.append("run_id = ?")
            values.append(.integer(runId))
        }
        if let state {
            conditions.append("state = ?")
            values.append(.text(state.rawValue))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let bound = values + [.integer(Int64(limit))]
        return try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM mismatches\(filter) ORDER BY id LIMIT ?", bound)
                .map(Self.mismatch)
        }
    }

    public func mismatch(id: Int64) async throws -> Mismatch? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM mismatches WHERE id = ?", [.integer(id)]).first
                .map(Self.mismatch)
        }
    }

    /// Count and sum of the differences (actual − expected) per category, for one run.
    public func totals(runId: Int64) async throws -> [MismatchCategory: (count: Int, differenceMinor: Int64)] {
        let rows = try await database.perform { connection in
            try connection.query(
                """
                SELECT category, COUNT(*), COALESCE(SUM(COALESCE(actual_minor, 0) - COALESCE(expected_minor, 0)), 0)
                FROM mismatches WHERE run_id = ? GROUP BY category
                """, [.integer(runId)])
        }
        var totals: [MismatchCategory: (count: Int, differenceMinor: Int64)] = [:]
        for row in rows {
            guard let category = row[0].text.flatMap(MismatchCategory.init(rawValue:)) else { continue }
            totals[category] = (Int(row[1].integer ?? 0), row[2].integer ?? Int64(row[2].text ?? "") ?? 0)
        }
        return totals
    }

    /// Moves mismatch `id` from `expected` to `next`, with who did it and why, kept in its history.
    /// Refused, with nothing written, when the move is not allowed, the note or actor is empty, or
    /// someone moved it first.
    public func move(
        id: Int64, from expected: MismatchState, to next: MismatchState, actor: String, note: String,
        at nanoseconds: UInt64
    ) async throws {
        guard !actor.isEmpty else { throw MismatchError.emptyField("actor") }
        guard !note.allSatisfy(\.isWhitespace) else { throw MismatchError.emptyField("note") }
        guard expected.canMove(to: next) else { throw MismatchError.notAllowed(id: id, from: expected, to: next) }
        let now = UTCTime.text(nanoseconds: nanoseconds)
        try await database.perform { connection in
            try connection.transaction {
                let changed = try connection.run(
                    "UPDATE mismatches SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                    [.text(next.rawValue), .text(now), .integer(id), .text(expected.rawValue)])
                guard changed == 1 else {
                    let actual = try connection.query("SELECT state FROM mismatches WHERE id = ?", [.integer(id)])
                    guard let word = actual.first?.first?.text, let state = MismatchState(rawValue: word) else {
                        throw MismatchError.notFound(id: id)
                    }
                    throw MismatchError.changedMeanwhile(id: id, expected: expected, actual: state)
                }
                try connection.run(
                    """
                    INSERT INTO mismatch_events (mismatch_id, from_state, to_state, actor, note, at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .integer(id), .text(expected.rawValue), .text(next.rawValue), .text(actor), .text(note),
                        .text(now),
                    ])
            }
        }
    }

    /// The changes of one mismatch's state, first first.
    public func history(id: Int64) async throws -> [MismatchEvent] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT from_state, to_state, actor, note, at FROM mismatch_events
                WHERE mismatch_id = ? ORDER BY id
                """, [.integer(id)]
            ).map { row in
                MismatchEvent(
                    from: MismatchState(rawValue: row[0].text ?? "") ?? .open,
                    to: MismatchState(rawValue: row[1].text ?? "") ?? .open, actor: row[2].text ?? "",
                    note: row[3].text ?? "", at: row[4].text ?? "")
            }
        }
    }

    static let columns = """
        id, run_id, provider, category, identity, settlement_file_id, settlement_source_line, our_reference,
            provider_txn_id, ledger_transfer_id, currency, expected_minor, actual_minor, detail, state, created_at,
            updated_at
        """

    static func mismatch(_ row: [SQLValue]) -> Mismatch {
        Mismatch(
            id: row[0].integer ?? 0, runId: row[1].integer ?? 0, provider: row[2].text ?? "",
            found: NewMismatch(
                category: MismatchCategory(rawValue: row[3].text ?? "") ?? .amountMismatch,
                identity: row[4].text ?? "", settlementFileId: row[5].integer,
                settlementSourceLine: row[6].integer.map { Int($0) }, ourReference: row[7].text,
                providerTxnId: row[8].text, ledgerTransferId: row[9].text, currency: row[10].text,
                expectedMinor: row[11].integer, actualMinor: row[12].integer, detail: row[13].text ?? ""),
            state: MismatchState(rawValue: row[14].text ?? "") ?? .open, createdAt: row[15].text ?? "",
            updatedAt: row[16].text ?? "")
    }
}
