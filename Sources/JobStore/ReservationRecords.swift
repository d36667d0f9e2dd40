/// What Khata keeps about a reservation beside its hold in the ledger: who booked what, and how
/// to reach them. The money and the state (pending, confirmed, cancelled, expired) live in the
/// ledger; this row never decides them.
public struct ReservationRecord: Hashable, Sendable {
    public var bookingId: String
    /// The hold's transfer id in the ledger, which is also the reservation's id.
    public var holdId: UInt128
    public var paymentReference: String
    public var customerId: String
    public var serviceId: String
    public var provider: String
    public var currency: String
    public var amountMinor: Int64
    public var customerPhone: String
    public var customerEmail: String
    public var paymentWindowSeconds: Int
    /// UTC text (see `UTCTime`).
    public var createdAt: String

    public init(
        bookingId: String, holdId: UInt128, paymentReference: String, customerId: String, serviceId: String,
        provider: String, currency: String, amountMinor: Int64, customerPhone: String, customerEmail: String,
        paymentWindowSeconds: Int, createdAt: String
    ) {
        self.bookingId = bookingId
        self.holdId = holdId
        self.paymentReference = paymentReference
        self.customerId = customerId
        self.serviceId = serviceId
        self.provider = provider
        self.currency = currency
        self.amountMinor = amountMinor
        self.customerPhone = customerPhone
        self.customerEmail = customerEmail
        self.paymentWindowSeconds = paymentWindowSeconds
        self.createdAt = createdAt
    }

    /// True when `other` asks for the same reservation (everything but the creation time).
    public func sameRequest(as other: ReservationRecord) -> Bool {
        var copy = other
        copy.createdAt = createdAt
        return copy == self
    }
}

/// A confirmation that was refused (after expiry, for a different amount, of a cancelled
/// reservation…), kept for reconciliation: the provider may still settle that payment.
public struct ConfirmationAttempt: Hashable, Sendable {
    public var holdId: UInt128
    public var paymentReference: String
    public var provider: String
    public var providerTransactionId: String
    public var amountMinor: Int64?
    /// `api` or `webhook`.
    public var source: String
    /// A stable word: `expired`, `amount-mismatch`, `cancelled`, `conflict`.
    public var outcome: String
    public var detail: String
    public var attemptedAt: String

    public init(
        holdId: UInt128, paymentReference: String, provider: String, providerTransactionId: String,
        amountMinor: Int64?, source: String, outcome: String, detail: String, attemptedAt: String
    ) {
        self.holdId = holdId
        self.paymentReference = paymentReference
        self.provider = provider
        self.providerTransactionId = providerTransactionId
        self.amountMinor = amountMinor
        self.source = source
        self.outcome = outcome
        self.detail = detail
        self.attemptedAt = attemptedAt
    }
}

/// Reservation rows, refused confirmations and webhook deliveries.
public struct ReservationRecords: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Inserts `record`, or answers the row already kept for its booking (which the caller
    /// compares): creating a reservation is idempotent by booking id.
    public func insertOrFetch(_ record: ReservationRecord) async throws -> ReservationRecord {
        try await database.perform { connection in
            try connection.transaction {
                if let existing = try Self.fetch(connection, column: "booking_id", .text(record.bookingId)) {
                    return existing
                }
                try connection.run(
                    """
                    INSERT INTO reservations (booking_id, hold_id, payment_reference, customer_id, service_id,
                        provider, currency, amount_minor, customer_phone, customer_email,
                        payment_window_seconds, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(record.bookingId), .text(String(record.holdId)), .text(record.paymentReference),
                        .text(record.customerId), .text(record.serviceId), .text(record.provider),
                        .text(record.currency), .integer(record.amountMinor), .text(record.customerPhone),
                        .text(record.customerEmail), .integer(Int64(record.paymentWindowSeconds)),
                        .text(record.createdAt),
                    ])
                return record
            }
        }
    }

    public func reservation(holdId: UInt128) async throws -> ReservationRecord? {
        try await database.perform { try Self.fetch($0, column: "hold_id", .text(String(holdId))) }
    }

    /// The stored reservations of many holds at once, by hold (holds with none stored are left
    /// out): one query per 500 holds where one each would cost a round trip each.
    public func reservations(holdIds: [UInt128]) async throws -> [UInt128: ReservationRecord] {
        let unique = Set(holdIds).map { SQLValue.text(String($0)) }
        guard !unique.isEmpty else { return [:] }
        return try await database.perform { connection in
            let rows = try connection.rows("SELECT \(Self.columns) FROM reservations WHERE hold_id IN", in: unique)
            return Dictionary(rows.map(Self.record).map { ($0.holdId, $0) }) { first, _ in first }
        }
    }

    public func reservation(paymentReference: String) async throws -> ReservationRecord? {
        try await database.perform { try Self.fetch($0, column: "payment_reference", .text(paymentReference)) }
    }

    /// Keeps a refused confirmation for reconciliation.
    public func record(_ attempt: ConfirmationAttempt) async throws {
        try await database.perform { connection in
            try connection.run(
                """
                INSERT INTO confirmation_attempts (hold_id, payment_reference, provider, provider_transaction_id,
                    amount_minor, source, outcome, detail, attempted_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(String(attempt.holdId)), .text(attempt.paymentReference), .text(attempt.provider),
                    .text(attempt.providerTransactionId), attempt.amountMinor.map(SQLValue.integer) ?? .null,
                    .text(attempt.source), .text(attempt.outcome), .text(attempt.detail), .text(attempt.attemptedAt),
                ])
        }
    }

    /// The refused confirmations of a reservation, oldest first.
    public func attempts(holdId: UInt128) async throws -> [ConfirmationAttempt] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT hold_id, payment_reference, provider, provider_transaction_id, amount_minor, source, outcome,
                    detail, attempted_at
                FROM confirmation_attempts WHERE hold_id = ? ORDER BY id
                """, [.text(String(holdId))]
            ).map { row in
                ConfirmationAttempt(
                    holdId: UInt128(row[0].text ?? "") ?? 0, paymentReference: row[1].text ?? "",
                    provider: row[2].text ?? "", providerTransactionId: row[3].text ?? "",
                    amountMinor: row[4].integer, source: row[5].text ?? "", outcome: row[6].text ?? "",
                    detail: row[7].text ?? "", attemptedAt: row[8].text ?? "")
            }
        }
    }

    /// The outcome and reservation of a provider's webhook delivered before for the same
    /// transaction (a retry or a replay), or nil for a first delivery.
    public func delivery(provider: String, providerTransactionId: String) async throws -> (
        outcome: String, holdId: String?
    )? {
        try await database.perform { connection in
            let rows = try connection.query(
                "SELECT outcome, hold_id FROM webhook_deliveries WHERE provider = ? AND provider_transaction_id = ?",
                [.text(provider), .text(providerTransactionId)])
            return rows.first.map { ($0[0].text ?? "", $0[1].text) }
        }
    }

    /// Records a provider's webhook by its transaction id; a second record of the same
    /// transaction keeps the first.
    public func recordDelivery(
        provider: String, providerTransactionId: String, paymentReference: String, holdId: String?, outcome: String
    ) async throws {
        try await database.perform { connection in
            try connection.run(
                """
                INSERT INTO webhook_deliveries (provider, provider_transaction_id, payment_reference, hold_id, outcome,
                    received_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (provider, provider_transaction_id) DO NOTHING
                """,
                [
                    .text(provider), .text(providerTransactionId), .text(paymentReference),
                    holdId.map(SQLValue.text) ?? .null, .text(outcome), .text(UTCTime.now()),
                ])
        }
    }

    private static func fetch(
        _ connection: any DatabaseConnection, column: String, _ value: SQLValue
    ) throws -> ReservationRecord? {
        try connection.query("SELECT \(columns) FROM reservations WHERE \(column) = ?", [value]).first.map(record)
    }

    static let columns = """
        booking_id, hold_id, payment_reference, customer_id, service_id, provider, currency, amount_minor,
            customer_phone, customer_email, payment_window_seconds, created_at
        """

    /// The record of a row of `columns`.
    static func record(_ row: [SQLValue]) -> ReservationRecord {
        ReservationRecord(
            bookingId: row[0].text ?? "", holdId: UInt128(row[1].text ?? "") ?? 0,
            paymentReference: row[2].text ?? "", customerId: row[3].text ?? "", serviceId: row[4].text ?? "",
            provider: row[5].text ?? "", currency: row[6].text ?? "", amountMinor: row[7].integer ?? 0,
            customerPhone: row[8].text ?? "", customerEmail: row[9].text ?? "",
            paymentWindowSeconds: Int(row[10].integer ?? 0), createdAt: row[11].text ?? "")
    }
}
