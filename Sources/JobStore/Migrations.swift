/// The job state's schema as numbered migrations, applied in order, each in its own transaction,
/// and recorded in `schema_migrations`. A migration once released is never edited: changes are
/// new migrations.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(version: 1, name: "reservations, confirmation attempts, webhook deliveries, API keys", sql: v1),
        Migration(version: 2, name: "job runs and schedule slots", sql: v2),
    ]

    /// Applies every migration newer than the database's version. A database newer than this
    /// program is refused rather than misread.
    public static func apply(to connection: SQLiteConnection) throws {
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """)
        let current = try currentVersion(of: connection)
        let newest = all.last?.version ?? 0
        guard current <= newest else {
            throw DatabaseError(
                kind: .other, code: "KHATA-SCHEMA",
                message: "the database is at schema version \(current), newer than this program's \(newest)",
                sql: "")
        }
        for migration in all where migration.version > current {
            try connection.transaction {
                try connection.execute(migration.sql)
                try connection.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(UTCTime.now())])
            }
        }
    }

    public static func currentVersion(of connection: SQLiteConnection) throws -> Int {
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
}
