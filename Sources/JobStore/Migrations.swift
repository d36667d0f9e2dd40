import Foundation

/// The job state's schema as numbered migrations, applied in order, each in its own transaction,
/// and recorded in `schema_migrations`. A migration once released is never edited: changes are
/// new migrations.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
        /// PostgreSQL's own text, where adapting the SQLite text is not enough.
        public var postgresSQL: String? = nil
    }

    public static let all: [Migration] = [
        Migration(version: 1, name: "reservations, confirmation attempts, webhook deliveries, API keys", sql: v1),
        Migration(version: 2, name: "job runs and schedule slots", sql: v2),
        Migration(version: 3, name: "import files and settlement lines", sql: v3),
        Migration(
            version: 4,
            name: "reconciliation runs, mismatches and their history, contacts, notifications, scheduler leases",
            sql: v4),
        Migration(
            version: 5, name: "settlement lines keyed by file and line, a cheaper index by reference",
            sql: v5(tableOptions: " WITHOUT ROWID")
                + "CREATE INDEX settlement_lines_by_reference ON settlement_lines (our_reference);",
            postgresSQL: adapted(v5(tableOptions: ""), to: .postgres)
                + "CREATE INDEX settlement_lines_by_reference ON settlement_lines USING hash (our_reference);"),
        Migration(
            version: 6,
            name: "settlement imports: file summaries, rejected lines, rounding notes, extra columns, duplicates",
            sql: v6 + "CREATE INDEX settlement_lines_by_txn ON settlement_lines (provider_txn_id);",
            postgresSQL: adapted(v6, to: .postgres)
                + "CREATE INDEX settlement_lines_by_txn ON settlement_lines USING hash (provider_txn_id);"),
        Migration(
            version: 7,
            name: "reconciliation: runs by settlement date with totals, one mismatch per identity across runs",
            sql: v7,
            postgresSQL: adapted(v7, to: .postgres) + restartIdentity(of: ["mismatches", "mismatch_events"])),
        Migration(
            version: 8, name: "the finance review: resolution kinds and the ledger postings of each change",
            sql: v8),
        Migration(version: 9, name: "the review pages' sign-in sessions", sql: v9),
        Migration(version: 10, name: "contacts: a preferred channel and opting out of each channel", sql: v10),
        Migration(
            version: 11,
            name:
                "notifications: events read from the ledger with their cursor, messages' validity and delivery status",
            sql: v11,
            postgresSQL: adapted(v11, to: .postgres)
                + restartIdentity(of: ["notification_deliveries", "notification_attempts"])),
        Migration(version: 12, name: "notifications: due deliveries found in claim order by one index", sql: v12),
    ]

    /// Applies every migration newer than the database's version (up to `lastVersion`, for tests
    /// of upgrades). A database newer than this program is refused rather than misread.
    public static func apply(to connection: any DatabaseConnection, upTo lastVersion: Int? = nil) throws {
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """)
        let newest = all.last?.version ?? 0
        for migration in all where migration.version <= lastVersion ?? newest {
            try connection.transaction {
                // Processes that open one PostgreSQL database at once migrate one at a time (the
                // lock ends with the transaction); SQLite's BEGIN IMMEDIATE already serializes.
                if connection.dialect == .postgres { try connection.execute("SELECT pg_advisory_xact_lock(7504211)") }
                let current = try currentVersion(of: connection)
                guard current <= newest else {
                    throw DatabaseError(
                        kind: .other, code: "KHATA-SCHEMA",
                        message: "the database is at schema version \(current), newer than this program's \(newest)",
                        sql: "")
                }
                guard migration.version > current else { return }
                let sql =
                    connection.dialect == .postgres
                    ? migration.postgresSQL ?? adapted(migration.sql, to: .postgres) : migration.sql
                try connection.execute(sql)
                try connection.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(UTCTime.now())])
            }
        }
    }

    /// The migrations are written for SQLite; PostgreSQL's types differ in name only.
    static func adapted(_ sql: String, to dialect: Dialect) -> String {
        guard dialect == .postgres else { return sql }
        return sql.replacingOccurrences(
            of: "INTEGER PRIMARY KEY", with: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )
        .replacingOccurrences(of: " INTEGER", with: " BIGINT").replacingOccurrences(of: " BLOB", with: " BYTEA")
    }

    public static func currentVersion(of connection: any DatabaseConnection) throws -> Int {
        let rows = try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return Int(rows.first?.first?.integer ?? 0)
    }

    static let v1 = """
        CREATE TABLE reservations (
            booking_id TEXT PRIMARY KEY,
            hold_id TEXT NOT NULL UNIQUE,
            payment_reference TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            service_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            currency TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            customer_phone TEXT NOT NULL,
            customer_email TEXT NOT NULL,
            payment_window_seconds INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE confirmation_attempts (
            id INTEGER PRIMARY KEY,
            hold_id TEXT NOT NULL,
            payment_reference TEXT NOT NULL,
            provider TEXT NOT NULL,
            provider_transaction_id TEXT NOT NULL,
            amount_minor INTEGER,
            source TEXT NOT NULL CHECK (source IN ('api', 'webhook')),
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL,
            attempted_at TEXT NOT NULL
        );
        CREATE INDEX confirmation_attempts_by_hold ON confirmation_attempts (hold_id);
        CREATE TABLE webhook_deliveries (
            provider TEXT NOT NULL,
            provider_transaction_id TEXT NOT NULL,
            payment_reference TEXT NOT NULL,
            hold_id TEXT,
            outcome TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (provider, provider_transaction_id)
        );
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            secret_sha256 BLOB NOT NULL,
            scopes TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        """

    static let v2 = """
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
            slot_unix INTEGER,
            worker TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted', 'abandoned')),
            read_count INTEGER NOT NULL DEFAULT 0,
            written_count INTEGER NOT NULL DEFAULT 0,
            failed_count INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX job_runs_by_job ON job_runs (job, id);
        CREATE TABLE job_schedule (
            job TEXT PRIMARY KEY,
            last_slot_unix INTEGER NOT NULL
        );
        """

    // settlement_lines.import_file_id has no foreign key: the row-by-row check cost most of a
    // bulk load's time on PostgreSQL, and lines are only written by `SettlementLines.insert`
    // after their file's row.
    static let v3 = """
        CREATE TABLE import_files (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            file_name TEXT NOT NULL,
            content_sha256 TEXT NOT NULL UNIQUE,
            imported_at TEXT NOT NULL,
            line_count INTEGER NOT NULL DEFAULT 0,
            rejected_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE settlement_lines (
            id INTEGER PRIMARY KEY,
            import_file_id INTEGER NOT NULL,
            provider TEXT NOT NULL,
            provider_txn_id TEXT NOT NULL,
            our_reference TEXT NOT NULL,
            provider_payment_id TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'chargeback', 'adjustment')),
            status_raw TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('settled', 'failed', 'reversed')),
            transacted_at TEXT NOT NULL,
            settlement_date TEXT NOT NULL,
            gross_minor INTEGER NOT NULL,
            fee_minor INTEGER NOT NULL,
            net_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            payer_masked TEXT,
            original_provider_txn_id TEXT,
            source_line INTEGER NOT NULL
        );
        CREATE INDEX settlement_lines_by_reference ON settlement_lines (provider, our_reference);
        CREATE INDEX settlement_lines_by_file ON settlement_lines (import_file_id);
        """

    // Mismatches carry a stable `identity` (category and the references it concerns), so that a
    // rerun of the same input finds the same mismatch instead of adding another. Their state
    // changes are kept in mismatch_events, never overwritten. A notification's idempotency key is
    // unique: the event that made it cannot queue it twice, and the key goes to the transport.
    // Checks are written with OR rather than IN (see v5 for why).
    static let v4 = """
        CREATE TABLE reconciliation_runs (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            input_sha256 TEXT NOT NULL,
            job_run_id INTEGER,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            outcome TEXT NOT NULL CHECK (outcome = 'running' OR outcome = 'succeeded' OR outcome = 'failed'),
            lines_read INTEGER NOT NULL DEFAULT 0,
            matched_count INTEGER NOT NULL DEFAULT 0,
            mismatch_count INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX reconciliation_runs_by_provider ON reconciliation_runs (provider, id);
        CREATE TABLE mismatches (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES reconciliation_runs (id),
            provider TEXT NOT NULL,
            category TEXT NOT NULL
                CHECK (category = 'amount_mismatch' OR category = 'fee_mismatch' OR category = 'missing_in_ledger' OR
                    category = 'missing_at_provider' OR category = 'duplicate_settlement' OR
                    category = 'status_mismatch' OR category = 'currency_mismatch' OR category = 'late_settlement'),
            identity TEXT NOT NULL,
            settlement_file_id INTEGER,
            settlement_source_line INTEGER,
            our_reference TEXT,
            provider_txn_id TEXT,
            ledger_transfer_id TEXT,
            currency TEXT,
            expected_minor INTEGER,
            actual_minor INTEGER,
            detail TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state = 'open' OR state = 'acknowledged' OR state = 'resolved'),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (run_id, identity)
        );
        CREATE INDEX mismatches_by_state ON mismatches (state, provider, category);
        CREATE INDEX mismatches_by_identity ON mismatches (identity);
        CREATE TABLE mismatch_events (
            id INTEGER PRIMARY KEY,
            mismatch_id INTEGER NOT NULL REFERENCES mismatches (id),
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            actor TEXT NOT NULL,
            note TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX mismatch_events_by_mismatch ON mismatch_events (mismatch_id, id);
        CREATE TABLE contacts (
            customer_id TEXT PRIMARY KEY,
            phone TEXT,
            whatsapp TEXT,
            email TEXT,
            language TEXT NOT NULL DEFAULT 'bn' CHECK (language = 'bn' OR language = 'en'),
            opted_out INTEGER NOT NULL DEFAULT 0 CHECK (opted_out = 0 OR opted_out = 1),
            updated_at TEXT NOT NULL
        );
        CREATE TABLE notification_deliveries (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            ledger_sequence INTEGER NOT NULL,
            event TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL
                CHECK (channel = 'sms' OR channel = 'whatsapp' OR channel = 'email' OR channel = 'webhook'),
            recipient TEXT NOT NULL,
            language TEXT NOT NULL CHECK (language = 'bn' OR language = 'en'),
            body TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state = 'pending' OR state = 'sending' OR state = 'delivered' OR state = 'dead'),
            attempt_count INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_by TEXT,
            claimed_until TEXT,
            provider_message_id TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at);
        CREATE TABLE notification_attempts (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES notification_deliveries (id),
            attempt INTEGER NOT NULL,
            worker TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome = 'delivered' OR outcome = 'retry' OR outcome = 'dead'),
            http_status INTEGER,
            error TEXT,
            UNIQUE (delivery_id, attempt)
        );
        CREATE TABLE scheduler_leases (
            job TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        );
        """

    // A settlement line is identified by its file and its line number: that key replaces the
    // identity column and the index by file, two of the three indexes a bulk load had to keep up.
    // Lines are looked up by reference for equality only, and references come in no order, so
    // PostgreSQL gets a hash index: a B-tree on (provider, reference) took a random leaf and a
    // strcoll per comparison for every row. In a COPY of 1,000,000 lines with random references
    // (psql, same server) the B-tree loaded 205,000 rows/s, the hash index 375,000. SQLite has
    // no hash index and keeps a B-tree on the reference; its table is stored in key order
    // (WITHOUT ROWID), which spares it a separate index for the key. Its checks are written with
    // OR, not IN: SQLite builds a small table for an IN list each time the statement runs, which
    // for a row-by-row load cost more than the insert itself (a third of the time).
    static func v5(tableOptions: String) -> String {
        """
        CREATE TABLE settlement_lines_v5 (
            import_file_id INTEGER NOT NULL,
            source_line INTEGER NOT NULL,
            provider TEXT NOT NULL,
            provider_txn_id TEXT NOT NULL,
            our_reference TEXT NOT NULL,
            provider_payment_id TEXT,
            kind TEXT NOT NULL
                CHECK (kind = 'payment' OR kind = 'refund' OR kind = 'chargeback' OR kind = 'adjustment'),
            status_raw TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status = 'settled' OR status = 'failed' OR status = 'reversed'),
            transacted_at TEXT NOT NULL,
            settlement_date TEXT NOT NULL,
            gross_minor INTEGER NOT NULL,
            fee_minor INTEGER NOT NULL,
            net_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            payer_masked TEXT,
            original_provider_txn_id TEXT,
            PRIMARY KEY (import_file_id, source_line)
        )\(tableOptions);
        INSERT INTO settlement_lines_v5 (import_file_id, source_line, provider, provider_txn_id, our_reference,
            provider_payment_id, kind, status_raw, status, transacted_at, settlement_date, gross_minor, fee_minor,
            net_minor, currency, payer_masked, original_provider_txn_id)
        SELECT import_file_id, source_line, provider, provider_txn_id, our_reference, provider_payment_id, kind,
            status_raw, status, transacted_at, settlement_date, gross_minor, fee_minor, net_minor, currency,
            payer_masked, original_provider_txn_id
        FROM settlement_lines;
        DROP TABLE settlement_lines;
        ALTER TABLE settlement_lines_v5 RENAME TO settlement_lines;
        """
    }

    // An import records what it read (counts, the settlement date it gave lines without one, who
    // imported), every line it refused with the column and reason, and on each stored line the
    // rounding it did and the columns no field reads. A line repeating a provider transaction
    // already stored points at the first one and is never counted as money. Lines are found by
    // transaction id to find such repeats, and by provider and settlement date to reconcile.
    static let v6 = """
        ALTER TABLE import_files ADD COLUMN dialect TEXT NOT NULL DEFAULT '';
        ALTER TABLE import_files ADD COLUMN settlement_date TEXT;
        ALTER TABLE import_files ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE import_files ADD COLUMN read_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE import_files ADD COLUMN duplicate_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE import_files ADD COLUMN imported_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE settlement_lines ADD COLUMN rounding_note TEXT;
        ALTER TABLE settlement_lines ADD COLUMN extra TEXT;
        ALTER TABLE settlement_lines ADD COLUMN duplicate_of_file_id INTEGER;
        ALTER TABLE settlement_lines ADD COLUMN duplicate_of_line INTEGER;
        CREATE INDEX settlement_lines_by_date ON settlement_lines (provider, settlement_date);
        CREATE TABLE rejected_lines (
            import_file_id INTEGER NOT NULL,
            source_line INTEGER NOT NULL,
            column_name TEXT,
            reason TEXT NOT NULL,
            PRIMARY KEY (import_file_id, source_line)
        );
        """

    // A mismatch is one row per identity across runs (a provider transaction, a duplicate line, or
    // a ledger payment), no longer one per run: a later run updates it or resolves it, and which
    // runs found it is kept in reconciliation_findings. Changing the category check and the unique
    // key needs new tables; the event table is rebuilt beside them so that its reference follows
    // the renamed table (SQLite rewrites references on RENAME; PostgreSQL keeps them by table).
    // An identity repeated by two runs' rows is kept on the newest row; the older ones get their
    // id appended. Reservations are found by provider and creation time for the payments that
    // are still waiting for a settlement.
    static let v7 = """
        ALTER TABLE reconciliation_runs ADD COLUMN settlement_date TEXT;
        ALTER TABLE reconciliation_runs ADD COLUMN run_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE reconciliation_runs ADD COLUMN input_files TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE reconciliation_runs ADD COLUMN carried_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reconciliation_runs ADD COLUMN cleared_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reconciliation_runs ADD COLUMN resolved_count INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX reconciliation_runs_by_date ON reconciliation_runs (provider, settlement_date);
        CREATE TABLE reconciliation_totals (
            run_id INTEGER NOT NULL REFERENCES reconciliation_runs (id),
            category TEXT NOT NULL,
            currency TEXT NOT NULL,
            item_count INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL,
            PRIMARY KEY (run_id, category, currency)
        );
        CREATE TABLE mismatches_v7 (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES reconciliation_runs (id),
            last_run_id INTEGER NOT NULL REFERENCES reconciliation_runs (id),
            provider TEXT NOT NULL,
            category TEXT NOT NULL
                CHECK (category = 'amount_mismatch' OR category = 'fee_mismatch' OR category = 'missing_in_ledger' OR
                    category = 'missing_at_provider' OR category = 'duplicate_settlement' OR
                    category = 'status_mismatch' OR category = 'currency_mismatch' OR category = 'late_settlement' OR
                    category = 'adjustment'),
            identity TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL DEFAULT 'payment',
            settlement_file_id INTEGER,
            settlement_source_line INTEGER,
            our_reference TEXT,
            provider_txn_id TEXT,
            ledger_transfer_id TEXT,
            currency TEXT,
            expected_minor INTEGER,
            actual_minor INTEGER,
            fee_minor INTEGER,
            contracted_fee_minor INTEGER,
            net_minor INTEGER,
            fields TEXT NOT NULL DEFAULT '[]',
            detail TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state = 'open' OR state = 'acknowledged' OR state = 'resolved'),
            resolution TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        INSERT INTO mismatches_v7 (id, run_id, last_run_id, provider, category, identity, settlement_file_id,
            settlement_source_line, our_reference, provider_txn_id, ledger_transfer_id, currency, expected_minor,
            actual_minor, detail, state, created_at, updated_at)
        SELECT id, run_id, run_id, provider, category,
            CASE WHEN EXISTS (SELECT 1 FROM mismatches later WHERE later.identity = m.identity AND later.id > m.id)
                THEN m.identity || '#' || CAST(m.id AS TEXT) ELSE m.identity END,
            settlement_file_id, settlement_source_line, our_reference, provider_txn_id, ledger_transfer_id, currency,
            expected_minor, actual_minor, detail, state, created_at, updated_at
        FROM mismatches m;
        CREATE TABLE mismatch_events_v7 (
            id INTEGER PRIMARY KEY,
            mismatch_id INTEGER NOT NULL REFERENCES mismatches_v7 (id),
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            actor TEXT NOT NULL,
            note TEXT NOT NULL,
            at TEXT NOT NULL,
            run_id INTEGER
        );
        INSERT INTO mismatch_events_v7 (id, mismatch_id, from_state, to_state, actor, note, at)
        SELECT id, mismatch_id, from_state, to_state, actor, note, at FROM mismatch_events;
        CREATE TABLE reconciliation_findings (
            run_id INTEGER NOT NULL REFERENCES reconciliation_runs (id),
            mismatch_id INTEGER NOT NULL REFERENCES mismatches_v7 (id),
            category TEXT NOT NULL,
            PRIMARY KEY (run_id, mismatch_id)
        );
        INSERT INTO reconciliation_findings (run_id, mismatch_id, category) SELECT run_id, id, category FROM mismatches;
        DROP TABLE mismatch_events;
        DROP TABLE mismatches;
        ALTER TABLE mismatches_v7 RENAME TO mismatches;
        ALTER TABLE mismatch_events_v7 RENAME TO mismatch_events;
        CREATE INDEX mismatches_by_state ON mismatches (state, provider, category);
        CREATE INDEX mismatches_by_reference ON mismatches (our_reference);
        CREATE INDEX mismatch_events_by_mismatch ON mismatch_events (mismatch_id, id);
        CREATE INDEX reconciliation_findings_by_mismatch ON reconciliation_findings (mismatch_id);
        CREATE INDEX reservations_by_provider_time ON reservations (provider, created_at);
        """

    static let v8 = """
        ALTER TABLE mismatch_events ADD COLUMN resolution TEXT;
        ALTER TABLE mismatch_events ADD COLUMN postings TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE mismatch_events ADD COLUMN posted INTEGER NOT NULL DEFAULT 1;
        CREATE INDEX mismatch_events_unposted ON mismatch_events (id) WHERE posted = 0;
        CREATE INDEX mismatches_by_txn ON mismatches (provider_txn_id);
        """

    static let v9 = """
        CREATE TABLE review_sessions (
            token_sha256 BLOB PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES api_keys (id),
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT
        );
        CREATE INDEX review_sessions_by_key ON review_sessions (key_id);
        CREATE INDEX review_sessions_by_expiry ON review_sessions (expires_at);
        """

    static let v10 = """
        ALTER TABLE contacts ADD COLUMN preferred_channel TEXT
            CHECK (preferred_channel IN ('sms', 'whatsapp', 'email', 'webhook'));
        ALTER TABLE contacts ADD COLUMN opted_out_channels TEXT NOT NULL DEFAULT '';
        """

    /// PostgreSQL's statements that move identity columns past rows copied in with their ids.
    static func restartIdentity(of tables: [String]) -> String {
        tables.map { table in
            "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, "
                + "false);"
        }.joined(separator: "\n")
    }
}
