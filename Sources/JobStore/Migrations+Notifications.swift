extension Migrations {
    /// Notifications read from the ledger: the readers' cursors, the events they recorded, and
    /// the deliveries rebuilt with what sending needs (a subject, the hold and event they come
    /// from, a validity, the states of a provider's delivery report, each attempt's latency).
    /// The due index ends with the id, so that a claim's order (next attempt, then id) is the
    /// index's and a claim reads only the rows it takes: without it PostgreSQL read and sorted
    /// every due delivery for each claim of 256.
    static let v12 = """
        DROP INDEX notification_deliveries_due;
        CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at, id);
        """

    static let v11 = """
        CREATE TABLE ledger_cursors (
            name TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE notification_events (
            id INTEGER PRIMARY KEY,
            event_key TEXT NOT NULL UNIQUE,
            event TEXT NOT NULL CHECK (event IN ('reservation_created', 'payment_confirmed', 'cancelled', 'expired',
                'refunded')),
            ledger_sequence INTEGER NOT NULL,
            hold_id TEXT NOT NULL,
            amount_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            window_ends_at TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('waiting', 'queued', 'dead')),
            tries INTEGER NOT NULL DEFAULT 0,
            next_try_at TEXT NOT NULL,
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX notification_events_due ON notification_events (state, next_try_at);
        CREATE INDEX notification_events_by_hold ON notification_events (hold_id);
        CREATE TABLE notification_deliveries_v11 (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            ledger_sequence INTEGER NOT NULL,
            event TEXT NOT NULL,
            event_id INTEGER REFERENCES notification_events (id),
            hold_id TEXT,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email', 'webhook')),
            recipient TEXT NOT NULL,
            language TEXT NOT NULL CHECK (language IN ('bn', 'en')),
            subject TEXT,
            body TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sending', 'accepted', 'delivered', 'failed', 'dead', 'expired')),
            attempt_count INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            valid_until TEXT,
            claimed_by TEXT,
            claimed_until TEXT,
            provider_message_id TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        INSERT INTO notification_deliveries_v11 (id, idempotency_key, ledger_sequence, event, customer_id, channel,
            recipient, language, body, state, attempt_count, next_attempt_at, claimed_by, claimed_until,
            provider_message_id, last_error, created_at, updated_at)
        SELECT id, idempotency_key, ledger_sequence, event, customer_id, channel, recipient, language, body, state,
            attempt_count, next_attempt_at, claimed_by, claimed_until, provider_message_id, last_error, created_at,
            updated_at
        FROM notification_deliveries;
        CREATE TABLE notification_attempts_v11 (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES notification_deliveries_v11 (id),
            attempt INTEGER NOT NULL,
            worker TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            latency_milliseconds INTEGER,
            outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'accepted', 'retry', 'dead', 'expired')),
            http_status INTEGER,
            error TEXT,
            UNIQUE (delivery_id, attempt)
        );
        INSERT INTO notification_attempts_v11 (id, delivery_id, attempt, worker, started_at, ended_at, outcome,
            http_status, error)
        SELECT id, delivery_id, attempt, worker, started_at, ended_at, outcome, http_status, error
        FROM notification_attempts;
        DROP TABLE notification_attempts;
        DROP TABLE notification_deliveries;
        ALTER TABLE notification_deliveries_v11 RENAME TO notification_deliveries;
        ALTER TABLE notification_attempts_v11 RENAME TO notification_attempts;
        CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at);
        CREATE INDEX notification_deliveries_by_hold ON notification_deliveries (hold_id);
        CREATE INDEX notification_deliveries_by_customer ON notification_deliveries (customer_id, id);
        CREATE INDEX notification_deliveries_by_provider_id ON notification_deliveries (provider_message_id);
        """
}
