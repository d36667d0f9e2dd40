/// A settlement line as every provider's dialect normalizes it (see ../shared/PROVIDERS.md):
/// money in integer minor units, times in UTC.
public struct SettlementLine: Sendable, Equatable {
    public var provider: String
    public var providerTxnId: String
    public var ourReference: String
    public var providerPaymentId: String?
    /// `payment`, `refund`, `chargeback` or `adjustment`.
    public var kind: String
    public var statusRaw: String
    /// `settled`, `failed` or `reversed`.
    public var status: String
    /// UTC text (see `UTCTime`).
    public var transactedAt: String
    /// The provider's local settlement date, `YYYY-MM-DD`.
    public var settlementDate: String
    public var grossMinor: Int64
    public var feeMinor: Int64
    public var netMinor: Int64
    public var currency: String
    public var payerMasked: String?
    public var originalProviderTxnId: String?
    /// The line's number in its file.
    public var sourceLine: Int

    public init(
        provider: String, providerTxnId: String, ourReference: String, providerPaymentId: String?, kind: String,
        statusRaw: String, status: String, transactedAt: String, settlementDate: String, grossMinor: Int64,
        feeMinor: Int64, netMinor: Int64, currency: String, payerMasked: String?, originalProviderTxnId: String?,
        sourceLine: Int
    ) {
        self.provider = provider
        self.providerTxnId = providerTxnId
        self.ourReference = ourReference
        self.providerPaymentId = providerPaymentId
        self.kind = kind
        self.statusRaw = statusRaw
        self.status = status
        self.transactedAt = transactedAt
        self.settlementDate = settlementDate
        self.grossMinor = grossMinor
        self.feeMinor = feeMinor
        self.netMinor = netMinor
        self.currency = currency
        self.payerMasked = payerMasked
        self.originalProviderTxnId = originalProviderTxnId
        self.sourceLine = sourceLine
    }
}

/// Imported files and their settlement lines.
public struct SettlementLines: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    static let columns = [
        "import_file_id", "source_line", "provider", "provider_txn_id", "our_reference", "provider_payment_id", "kind",
        "status_raw", "status", "transacted_at", "settlement_date", "gross_minor", "fee_minor", "net_minor", "currency",
        "payer_masked", "original_provider_txn_id",
    ]

    /// Records an imported file by its content's SHA-256; answers its id and whether it is new
    /// (importing the same content again is a no-op for the importer).
    public func recordFile(provider: String, fileName: String, contentSHA256: String, at nanoseconds: UInt64)
        async throws -> (id: Int64, isNew: Bool)
    {
        try await database.perform { connection in
            try connection.transaction {
                if let id = try connection.query(
                    "SELECT id FROM import_files WHERE content_sha256 = ?", [.text(contentSHA256)]
                ).first?.first?.integer {
                    return (id, false)
                }
                let id =
                    try connection.query(
                        """
                        INSERT INTO import_files (provider, file_name, content_sha256, imported_at)
                        VALUES (?, ?, ?, ?) RETURNING id
                        """,
                        [
                            .text(provider), .text(fileName), .text(contentSHA256),
                            .text(UTCTime.text(nanoseconds: nanoseconds)),
                        ]
                    ).first?.first?.integer ?? 0
                return (id, true)
            }
        }
    }

    /// Inserts `lines` of the file `fileId` in one transaction (`COPY` on PostgreSQL): all of
    /// them, or, on any error, none.
    public func insert(_ lines: [SettlementLine], fileId: Int64) async throws -> Int {
        try await database.perform { connection in
            try connection.bulkInsert(table: "settlement_lines", columns: Self.columns, count: lines.count) {
                index, values in
                let line = lines[index]
                values.append(.integer(fileId))
                values.append(.integer(Int64(line.sourceLine)))
                values.append(.text(line.provider))
                values.append(.text(line.providerTxnId))
                values.append(.text(line.ourReference))
                values.append(line.providerPaymentId.map(SQLValue.text) ?? .null)
                values.append(.text(line.kind))
                values.append(.text(line.statusRaw))
                values.append(.text(line.status))
                values.append(.text(line.transactedAt))
                values.append(.text(line.settlementDate))
                values.append(.integer(line.grossMinor))
                values.append(.integer(line.feeMinor))
                values.append(.integer(line.netMinor))
                values.append(.text(line.currency))
                values.append(line.payerMasked.map(SQLValue.text) ?? .null)
                values.append(line.originalProviderTxnId.map(SQLValue.text) ?? .null)
            }
        }
    }

    /// The lines of a file, in file order.
    public func lines(fileId: Int64) async throws -> [SettlementLine] {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.columns.dropFirst().joined(separator: ", ")) FROM settlement_lines "
                    + "WHERE import_file_id = ? ORDER BY source_line", [.integer(fileId)]
            ).map { row in
                SettlementLine(
                    provider: row[1].text ?? "", providerTxnId: row[2].text ?? "", ourReference: row[3].text ?? "",
                    providerPaymentId: row[4].text, kind: row[5].text ?? "", statusRaw: row[6].text ?? "",
                    status: row[7].text ?? "", transactedAt: row[8].text ?? "", settlementDate: row[9].text ?? "",
                    grossMinor: row[10].integer ?? 0, feeMinor: row[11].integer ?? 0, netMinor: row[12].integer ?? 0,
                    currency: row[13].text ?? "", payerMasked: row[14].text, originalProviderTxnId: row[15].text,
                    sourceLine: Int(row[0].integer ?? 0))
            }
        }
    }
}
