/// What a reconciliation run reads from the job store: the provider's settlement lines of one
/// date, the files they came from, and the reservations the ledger is asked about.
public struct ReconciliationInput: Sendable {
    /// Every line of the provider settling on the date, repeats included, in key order.
    public var lines: [(key: SettlementLineKey, line: SettlementLine)]
    /// The files those lines came from, in id order.
    public var files: [SettlementFile]
    /// The reservations the lines name, and the provider's reservations made from the window's
    /// start that no settled payment line of an earlier date has settled, by payment reference.
    public var reservations: [String: ReservationRecord]
    /// The references of the second kind: payments that may still be waiting for a settlement.
    public var awaitingSettlement: [String]
}

extension SettlementLines {
    /// Reads a run's input for `provider` (as lines name it, `bkash`) and `settlementDate`;
    /// reservations made at or after `reservedFrom` (UTC text) and before the end of the date
    /// are the candidates still waiting for a settlement.
    public func reconciliationInput(
        provider: String, settlementDate: String, reservedFrom: String, reservedBefore: String
    ) async throws -> ReconciliationInput {
        try await database.perform { connection in
            let lines = try connection.query(
                """
                SELECT \(Self.lineSelect) FROM settlement_lines WHERE provider = ? AND settlement_date = ?
                ORDER BY import_file_id, source_line
                """, [.text(provider), .text(settlementDate)]
            ).map(Self.line)
            var fileIds: [Int64] = []
            for (key, _) in lines where fileIds.last != key.fileId && !fileIds.contains(key.fileId) {
                fileIds.append(key.fileId)
            }
            let files = try fileIds.sorted().compactMap { id in
                try connection.query("SELECT \(Self.fileColumns) FROM import_files WHERE id = ?", [.integer(id)])
                    .first.map(Self.file)
            }
            var reservations: [String: ReservationRecord] = [:]
            for row in try connection.query(
                """
                SELECT \(ReservationRecords.columns) FROM reservations WHERE payment_reference IN
                    (SELECT our_reference FROM settlement_lines WHERE provider = ? AND settlement_date = ?)
                """, [.text(provider), .text(settlementDate)])
            {
                let record = ReservationRecords.record(row)
                reservations[record.paymentReference] = record
            }
            // Reservations keep the provider's name in upper case (`BKASH`), lines in lower case.
            var awaiting: [String] = []
            for row in try connection.query(
                """
                SELECT \(ReservationRecords.columns) FROM reservations r
                WHERE r.provider = ? AND r.created_at >= ? AND r.created_at < ?
                    AND NOT EXISTS (SELECT 1 FROM settlement_lines l WHERE l.our_reference = r.payment_reference
                        AND l.kind = 'payment' AND l.status = 'settled' AND l.duplicate_of_file_id IS NULL
                        AND l.settlement_date < ?)
                ORDER BY r.created_at, r.payment_reference
                """, [.text(provider.uppercased()), .text(reservedFrom), .text(reservedBefore), .text(settlementDate)])
            {
                let record = ReservationRecords.record(row)
                reservations[record.paymentReference] = record
                awaiting.append(record.paymentReference)
            }
            return ReconciliationInput(
                lines: lines, files: files, reservations: reservations, awaitingSettlement: awaiting)
        }
    }
}

extension SettlementLines {
    /// The settlement dates of `provider`'s lines in files imported at or after `importedSince`
    /// (UTC text), earliest first: the dates a late file brought lines for.
    public func settlementDates(provider: String, importedSince: String) async throws -> [String] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT DISTINCT l.settlement_date FROM settlement_lines l
                JOIN import_files f ON f.id = l.import_file_id
                WHERE f.provider = ? AND f.imported_at >= ? ORDER BY l.settlement_date
                """, [.text(provider), .text(importedSince)]
            ).compactMap { $0.first?.text }
        }
    }
}
