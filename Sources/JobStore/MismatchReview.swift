import Foundation

/// How a person resolved a mismatch. Some kinds move money (see `ReviewPosting`); the others
/// only record the decision.
public enum ResolutionKind: String, Sendable, CaseIterable, Codable {
    /// The difference is lost (or gained): written off against an expense account.
    case writtenOff = "written_off"
    /// The customer was refunded outside the ledger's refund flow.
    case refunded
    /// The provider corrected its figures to the ledger's: the line is cleared at the ledger's.
    case providerCorrected = "provider_corrected"
    /// The ledger's figures were wrong and the provider's stand: the line is cleared at the
    /// provider's, the difference moved to the ledger-corrections account.
    case ledgerCorrected = "ledger_corrected"
    /// Nothing was wrong (a confirmed duplicate, a chargeback dealt with elsewhere).
    case notAnError = "not_an_error"
}

/// One ledger transfer a review posts, kept with the change that posts it so that a failed
/// posting is retried with the same id, and a reopening knows what to reverse.
public struct ReviewPosting: Sendable, Equatable, Codable {
    /// The transfer's id, decimal.
    public var transferId: String
    public var debitAccount: String
    public var creditAccount: String
    /// Positive, in the currency's minor units.
    public var amountMinor: Int64
    public var currency: String
    /// What the leg is (`net`, `fee`, `write-off`, `correction`, or `reversal of …`).
    public var leg: String

    public init(
        transferId: String, debitAccount: String, creditAccount: String, amountMinor: Int64, currency: String,
        leg: String
    ) {
        self.transferId = transferId
        self.debitAccount = debitAccount
        self.creditAccount = creditAccount
        self.amountMinor = amountMinor
        self.currency = currency
        self.leg = leg
    }
}

/// A change of a mismatch's state by a person, with its money, as the history keeps it.
public struct ReviewEvent: Sendable, Equatable {
    public var id: Int64
    public var mismatchId: Int64
    public var event: MismatchEvent
    public var resolution: ResolutionKind?
    public var postings: [ReviewPosting]
    /// Whether the postings are in the ledger (false: to be retried).
    public var posted: Bool
}

/// One page of a run's mismatches, and where the next starts.
public struct MismatchPage: Sendable, Equatable {
    public var mismatches: [Mismatch]
    /// The `after` of the next page; nil on the last.
    public var next: Int64?
}

/// The columns of `Mismatches.rawPage`'s rows, in order.
public enum MismatchColumn: Int, CaseIterable, Sendable {
    case id, runId, lastRunId, provider, category, identity, kind, settlementFileId, settlementSourceLine
    case ourReference, providerTxnId, ledgerTransferId, currency, ledgerMinor, providerMinor, feeMinor
    case contractedFeeMinor, netMinor, fields, detail, state, resolution, createdAt, updatedAt
}

extension Mismatches {
    /// The largest page `page(…)` answers.
    public static let maximumPageSize = 5_000

    /// A run's mismatches after id `after`, in id order, optionally of one category and state.
    public func page(
        runId: Int64, category: MismatchCategory? = nil, state: MismatchState? = nil, after: Int64 = 0, limit: Int
    ) async throws -> MismatchPage {
        let (sql, values) = Self.pageQuery(runId: runId, category: category, state: state, after: after, limit: limit)
        let rows = try await database.perform { connection in
            try connection.query(connection.dialect == .postgres ? sql.postgres : sql.sqlite, values)
        }
        let mismatches = rows.prefix(limit).map(Self.mismatch)
        return MismatchPage(mismatches: mismatches, next: rows.count > limit ? mismatches.last?.id : nil)
    }

    /// Where a run's mismatches split into pages of `every`: the id that ends each full page, in
    /// order (none for a run of `every` or fewer). With them, the pages are independent ranges
    /// (`rawRange`) that several connections can read at once.
    public func pageBoundaries(runId: Int64, every: Int) async throws -> [Int64] {
        precondition(every > 0, "pages of \(every)")
        // Each end found by skipping `every - 1` entries of the findings' key (run, mismatch) past
        // the last: index entries only, never the rows, all in one call to the store.
        let sql = """
            SELECT mismatch_id FROM reconciliation_findings WHERE run_id = ? AND mismatch_id > ?
            ORDER BY mismatch_id LIMIT 1 OFFSET ?
            """
        return try await database.perform { connection in
            var ends: [Int64] = []
            var after: Int64 = 0
            while let end = try connection.query(
                sql, [.integer(runId), .integer(after), .integer(Int64(every - 1))]
            ).first?.first?.integer {
                ends.append(end)
                after = end
            }
            // The last end found may close the run exactly: then no page follows it.
            if let last = ends.last,
                try connection.query(sql, [.integer(runId), .integer(last), .integer(0)]).isEmpty
            {
                ends.removeLast()
            }
            return ends
        }
    }

    /// A run's mismatches with ids in `after + 1 ... through` (no upper end when nil), in id
    /// order, as bytes (see `RawRows`; columns in `MismatchColumn` order): for a report that
    /// writes every mismatch of a run out again. `expectedRows` is how many findings the range
    /// holds (a page of `pageBoundaries`), or 0 when unknown; it only chooses how to read.
    public func rawRange(runId: Int64, after: Int64, through: Int64?, expectedRows: Int = 0) async throws -> RawRows {
        let columns = Self.columns.split(separator: ",").map {
            "m." + $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        .joined(separator: ", ")
        var values: [SQLValue] = [.integer(runId), .integer(after)]
        if let through { values.append(.integer(through)) }
        let range = "f.run_id = ? AND f.mismatch_id > ?" + (through == nil ? "" : " AND f.mismatch_id <= ?")
        let sql: (sqlite: String, postgres: String)
        sql.sqlite = """
            SELECT \(columns) FROM reconciliation_findings f JOIN mismatches m ON m.id = f.mismatch_id
            WHERE \(range) ORDER BY f.mismatch_id
            """
        if let through, expectedRows > 0, through - after <= 2 * Int64(expectedRows) {
            // Mostly this run's own mismatches, made together: their ids nearly fill the range,
            // so PostgreSQL reads it as two ordered index ranges merged (a third of the work of
            // one lookup per finding). Bounding mismatches' ids too is what lets it.
            values += [.integer(after), .integer(through)]
            sql.postgres = """
                SELECT \(columns) FROM reconciliation_findings f JOIN mismatches m ON m.id = f.mismatch_id
                WHERE \(range) AND m.id > ? AND m.id <= ? ORDER BY f.mismatch_id
                """
        } else {
            // Scattered ids (mismatches carried from older runs): PostgreSQL, once it has
            // statistics, would hash every mismatch in the range, or the whole table, for a few
            // thousand findings (six times slower at 100,000 mismatches, and worse as the table
            // grows); a lateral subquery it cannot flatten (OFFSET 0) keeps it to one index lookup
            // per finding. SQLite joins that way by itself.
            sql.postgres = """
                SELECT \(columns) FROM reconciliation_findings f
                CROSS JOIN LATERAL (SELECT * FROM mismatches WHERE id = f.mismatch_id OFFSET 0) m
                WHERE \(range) ORDER BY f.mismatch_id
                """
        }
        let bound = values
        return try await database.perform { connection in
            // SQLite's statement takes the first values only.
            connection.dialect == .postgres
                ? try connection.rawQuery(sql.postgres, bound)
                : try connection.rawQuery(sql.sqlite, Array(bound.prefix(through == nil ? 2 : 3)))
        }
    }

    /// A page's statement: ranged and ordered on the findings' key (run, mismatch), so that a
    /// page reads its own rows only; one row more than `limit`, to tell whether another follows.
    static func pageQuery(
        runId: Int64, category: MismatchCategory?, state: MismatchState?, after: Int64, limit: Int
    ) -> ((sqlite: String, postgres: String), [SQLValue]) {
        precondition(limit > 0 && limit <= maximumPageSize, "a page of \(limit)")
        var conditions = ["f.run_id = ?", "f.mismatch_id > ?"]
        var values: [SQLValue] = [.integer(runId), .integer(after)]
        if let category {
            conditions.append("f.category = ?")
            values.append(.text(category.rawValue))
        }
        if let state {
            conditions.append("m.state = ?")
            values.append(.text(state.rawValue))
        }
        values.append(.integer(Int64(limit + 1)))
        let columns = Self.columns.split(separator: ",").map {
            "m." + $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        .joined(separator: ", ")
        let sqlite = """
            SELECT \(columns) FROM reconciliation_findings f JOIN mismatches m ON m.id = f.mismatch_id
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY f.mismatch_id LIMIT ?
            """
        // PostgreSQL with statistics merges the two tables from their first rows for a page deep
        // in a run (15 ms past the middle of 100,000 mismatches instead of 1); a lateral
        // subquery it cannot flatten keeps it to one index lookup per finding of the page.
        let postgres = """
            SELECT \(columns) FROM reconciliation_findings f
            CROSS JOIN LATERAL (SELECT * FROM mismatches WHERE id = f.mismatch_id OFFSET 0) m
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY f.mismatch_id LIMIT ?
            """
        return ((sqlite, postgres), values)
    }

    /// Mismatches whose payment reference or provider transaction id is `text`, newest first.
    public func search(_ text: String, limit: Int = 50) async throws -> [Mismatch] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT \(Self.columns) FROM mismatches WHERE our_reference = ? OR provider_txn_id = ?
                ORDER BY id DESC LIMIT ?
                """, [.text(text), .text(text), .integer(Int64(limit))]
            ).map(Self.mismatch)
        }
    }

    /// A person's change of mismatch `id` from `expected` to `next`: refused, with nothing
    /// written, when the move is not allowed, the actor is empty, a resolve or reopen has no note,
    /// a resolve has no kind (or a move other than resolve has one), or someone moved it first.
    /// `postings` makes the change's ledger transfers from the id of the event that records it
    /// (so that two changes never share an id, and one change's retries always do), given the
    /// mismatch as it stands; they are kept with the event, unposted until `markPosted`.
    public func review(
        id: Int64, from expected: MismatchState, to next: MismatchState, resolution: ResolutionKind?, actor: String,
        note: String, at nanoseconds: UInt64,
        postings: @escaping @Sendable (_ eventId: Int64, _ mismatch: Mismatch) throws -> [ReviewPosting]
    ) async throws -> ReviewEvent {
        guard !actor.isEmpty else { throw MismatchError.emptyField("actor") }
        if next != .acknowledged && note.allSatisfy(\.isWhitespace) { throw MismatchError.emptyField("note") }
        guard expected.canMove(to: next) else { throw MismatchError.notAllowed(id: id, from: expected, to: next) }
        guard (next == .resolved) == (resolution != nil) else {
            throw MismatchError(
                .emptyField, next == .resolved ? "resolution must name a kind" : "only a resolve takes a resolution")
        }
        let now = UTCTime.text(nanoseconds: nanoseconds)
        return try await database.perform { connection in
            try connection.transaction {
                let changed = try connection.run(
                    "UPDATE mismatches SET state = ?, resolution = ?, updated_at = ? WHERE id = ? AND state = ?",
                    [
                        .text(next.rawValue), resolution.map { .text($0.rawValue) } ?? .null, .text(now), .integer(id),
                        .text(expected.rawValue),
                    ])
                guard changed == 1 else {
                    let actual = try connection.query("SELECT state FROM mismatches WHERE id = ?", [.integer(id)])
                    guard let word = actual.first?.first?.text, let state = MismatchState(rawValue: word) else {
                        throw MismatchError.notFound(id: id)
                    }
                    throw MismatchError.changedMeanwhile(id: id, expected: expected, actual: state)
                }
                let inserted = try connection.query(
                    """
                    INSERT INTO mismatch_events (mismatch_id, from_state, to_state, actor, note, at, resolution, posted)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING id
                    """,
                    [
                        .integer(id), .text(expected.rawValue), .text(next.rawValue), .text(actor), .text(note),
                        .text(now), resolution.map { .text($0.rawValue) } ?? .null,
                    ])
                // Safe: RETURNING answers the row just inserted.
                let eventId = inserted[0][0].integer!
                let row = try connection.query("SELECT \(Self.columns) FROM mismatches WHERE id = ?", [.integer(id)])
                let legs = try postings(eventId, Self.mismatch(row[0]))
                if !legs.isEmpty {
                    try connection.run(
                        "UPDATE mismatch_events SET postings = ?, posted = 0 WHERE id = ?",
                        [.text(try Self.postingsText(legs)), .integer(eventId)])
                }
                return ReviewEvent(
                    id: eventId, mismatchId: id,
                    event: MismatchEvent(from: expected, to: next, actor: actor, note: note, at: now),
                    resolution: resolution, postings: legs, posted: legs.isEmpty)
            }
        }
    }

    /// Of `identities`, those of mismatches a person resolved with ledger postings (whose line
    /// the resolution cleared, so that no run clears it again).
    public func settledByReviewers(identities: [String]) async throws -> Set<String> {
        guard !identities.isEmpty else { return [] }
        var found: Set<String> = []
        // In slices: a statement takes a bounded number of values on both backends.
        for start in stride(from: 0, to: identities.count, by: 500) {
            let slice = Array(identities[start..<min(start + 500, identities.count)])
            let marks = Array(repeating: "?", count: slice.count).joined(separator: ", ")
            let rows = try await database.perform { connection in
                try connection.query(
                    """
                    SELECT identity FROM mismatches m WHERE state = 'resolved' AND identity IN (\(marks))
                    AND EXISTS (SELECT 1 FROM mismatch_events e WHERE e.mismatch_id = m.id AND e.postings <> '[]'
                        AND e.id = (SELECT max(id) FROM mismatch_events l WHERE l.mismatch_id = m.id))
                    """, slice.map(SQLValue.text))
            }
            for row in rows { if let identity = row[0].text { found.insert(identity) } }
        }
        return found
    }

    /// Records that event `eventId`'s postings are in the ledger.
    public func markPosted(eventId: Int64) async throws {
        _ = try await database.perform { connection in
            try connection.run("UPDATE mismatch_events SET posted = 1 WHERE id = ?", [.integer(eventId)])
        }
    }

    /// Changes whose postings are not yet in the ledger, oldest first.
    public func unposted(limit: Int = 100) async throws -> [ReviewEvent] {
        try await reviewEvents(where: "posted = 0", [], limit: limit)
    }

    /// Every change of one mismatch with its resolution and postings, first first.
    public func reviewHistory(id: Int64) async throws -> [ReviewEvent] {
        try await reviewEvents(where: "mismatch_id = ?", [.integer(id)], limit: 10_000)
    }

    private func reviewEvents(where condition: String, _ values: [SQLValue], limit: Int) async throws
        -> [ReviewEvent]
    {
        let rows = try await database.perform { connection in
            try connection.query(
                """
                SELECT id, mismatch_id, from_state, to_state, actor, note, at, run_id, resolution, postings, posted
                FROM mismatch_events WHERE \(condition) ORDER BY id LIMIT ?
                """, values + [.integer(Int64(limit))])
        }
        return try rows.map { row in
            ReviewEvent(
                id: row[0].integer ?? 0, mismatchId: row[1].integer ?? 0,
                event: MismatchEvent(
                    from: MismatchState(rawValue: row[2].text ?? "") ?? .open,
                    to: MismatchState(rawValue: row[3].text ?? "") ?? .open, actor: row[4].text ?? "",
                    note: row[5].text ?? "", at: row[6].text ?? "", runId: row[7].integer),
                resolution: row[8].text.flatMap(ResolutionKind.init(rawValue:)),
                postings: try JSONDecoder().decode([ReviewPosting].self, from: Data((row[9].text ?? "[]").utf8)),
                posted: row[10].integer != 0)
        }
    }

    static func postingsText(_ postings: [ReviewPosting]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(postings), as: UTF8.self)
    }
}
