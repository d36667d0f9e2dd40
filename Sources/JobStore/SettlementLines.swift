/// A settlement line as every provider's dialect normalizes it (see docs/SETTLEMENT-FORMATS.md):
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
    /// What was rounded half-even below the minor unit, where the dialect does so.
    public var roundingNote: String?
    /// The file's columns that no field reads, as a JSON object of header name to value.
    public var extra: String?
    /// The earlier line of the same provider transaction, when this one repeats it: stored, but
    /// never counted as money.
    public var duplicateOf: SettlementLineKey?

    public init(
        provider: String, providerTxnId: String, ourReference: String, providerPaymentId: String?, kind: String,
        statusRaw: String, status: String, transactedAt: String, settlementDate: String, grossMinor: Int64,
        feeMinor: Int64, netMinor: Int64, currency: String, payerMasked: String?, originalProviderTxnId: String?,
        sourceLine: Int, roundingNote: String? = nil, extra: String? = nil, duplicateOf: SettlementLineKey? = nil
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
        self.roundingNote = roundingNote
        self.extra = extra
        self.duplicateOf = duplicateOf
    }
}

/// Where a settlement line is stored: its file and its line number.
public struct SettlementLineKey: Sendable, Hashable, Comparable {
    public var fileId: Int64
    public var line: Int

    public init(fileId: Int64, line: Int) {
        self.fileId = fileId
        self.line = line
    }

    public static func < (lhs: SettlementLineKey, rhs: SettlementLineKey) -> Bool {
        (lhs.fileId, lhs.line) < (rhs.fileId, rhs.line)
    }
}

/// A line of a settlement file that was not imported: where, which column, and why.
public struct RejectedSettlementLine: Error, Sendable, Equatable {
    public var line: Int
    /// The column's header name as the file writes it; nil when the line as a whole is wrong.
    public var column: String?
    public var reason: String

    public init(line: Int, column: String?, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }
}

/// An imported settlement file as recorded: what it was, who imported it, and what came of it.
public struct SettlementFile: Sendable, Equatable {
    public var id: Int64
    public var provider: String
    /// The dialect it was read in: `bkash`, `nagad`, `sslcommerz`, or a mapping's name.
    public var dialect: String
    public var fileName: String
    public var contentSHA256: String
    public var sizeBytes: Int64
    public var importedAt: String
    public var importedBy: String
    /// The settlement date given to lines without one of their own, `YYYY-MM-DD`.
    public var settlementDate: String?
    /// Data lines read (stored or rejected).
    public var readCount: Int
    /// Lines stored, duplicates included.
    public var lineCount: Int
    /// Stored lines repeating a provider transaction stored before.
    public var duplicateCount: Int
    public var rejectedCount: Int

    /// Lines stored and counted as money.
    public var importedCount: Int { lineCount - duplicateCount }
}

/// A file about to be imported.
public struct NewSettlementFile: Sendable {
    public var provider: String
    public var dialect: String
    public var fileName: String
    public var contentSHA256: String
    public var sizeBytes: Int64
    public var settlementDate: String?
    public var importedBy: String

    public init(
        provider: String, dialect: String, fileName: String, contentSHA256: String, sizeBytes: Int64,
        settlementDate: String?, importedBy: String
    ) {
        self.provider = provider
        self.dialect = dialect
        self.fileName = fileName
        self.contentSHA256 = contentSHA256
        self.sizeBytes = sizeBytes
        self.settlementDate = settlementDate
        self.importedBy = importedBy
    }
}

/// What importing a file did.
public enum SettlementFileImport: Sendable, Equatable {
    /// The file was new: its lines are stored.
    case imported(SettlementFile)
    /// A file with the same content was imported before (that import is answered); nothing changed.
    case alreadyImported(SettlementFile)

    public var file: SettlementFile {
        switch self {
        case .imported(let file), .alreadyImported(let file): file
        }
    }
}

/// Takes a file's lines as an importer reads them and writes them in batches inside the
/// import's transaction, so that a file of any size is stored in the memory of one batch.
public final class SettlementLineSink {
    let connection: any DatabaseConnection
    let fileId: Int64
    private var lines: [SettlementLine] = []
    private var rejected: [RejectedSettlementLine] = []
    public private(set) var storedCount = 0
    public private(set) var rejectedCount = 0
    static let batchSize = 8_192

    init(connection: any DatabaseConnection, fileId: Int64) {
        self.connection = connection
        self.fileId = fileId
        lines.reserveCapacity(Self.batchSize)
    }

    /// Stores a line (whether it repeats an earlier one is worked out when the file is complete).
    public func append(_ line: SettlementLine) throws {
        lines.append(line)
        storedCount += 1
        if lines.count == Self.batchSize { try flushLines() }
    }

    /// Records a line the importer refused.
    public func reject(_ line: RejectedSettlementLine) throws {
        rejected.append(line)
        rejectedCount += 1
        if rejected.count == Self.batchSize { try flushRejected() }
    }

    func flush() throws {
        try flushLines()
        try flushRejected()
    }

    private func flushLines() throws {
        guard !lines.isEmpty else { return }
        let fileId = fileId
        try lines.withUnsafeBufferPointer { batch in
            _ = try connection.bulkInsert(
                table: "settlement_lines", columns: SettlementLines.columns, count: batch.count,
                withinTransaction: true
            ) { index, values in SettlementLines.values(of: batch[index], fileId: fileId, into: &values) }
        }
        lines.removeAll(keepingCapacity: true)
    }

    private func flushRejected() throws {
        guard !rejected.isEmpty else { return }
        let fileId = fileId
        try rejected.withUnsafeBufferPointer { batch in
            _ = try connection.bulkInsert(
                table: "rejected_lines", columns: ["import_file_id", "source_line", "column_name", "reason"],
                count: batch.count, withinTransaction: true
            ) { index, values in
                values.append(.integer(fileId))
                values.append(.integer(Int64(batch[index].line)))
                values.append(batch[index].column.map(SQLValue.text) ?? .null)
                values.append(.text(batch[index].reason))
            }
        }
        rejected.removeAll(keepingCapacity: true)
    }
}

/// Imported files, their settlement lines and the lines they refused.
public struct SettlementLines: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    static let columns = [
        "import_file_id", "source_line", "provider", "provider_txn_id", "our_reference", "provider_payment_id", "kind",
        "status_raw", "status", "transacted_at", "settlement_date", "gross_minor", "fee_minor", "net_minor", "currency",
        "payer_masked", "original_provider_txn_id", "rounding_note", "extra",
    ]

    static let fileColumns = """
        id, provider, dialect, file_name, content_sha256, size_bytes, imported_at, imported_by, settlement_date,
            read_count, line_count, duplicate_count, rejected_count
        """

    static func file(_ row: [SQLValue]) -> SettlementFile {
        SettlementFile(
            id: row[0].integer ?? 0, provider: row[1].text ?? "", dialect: row[2].text ?? "",
            fileName: row[3].text ?? "", contentSHA256: row[4].text ?? "", sizeBytes: row[5].integer ?? 0,
            importedAt: row[6].text ?? "", importedBy: row[7].text ?? "", settlementDate: row[8].text,
            readCount: Int(row[9].integer ?? 0), lineCount: Int(row[10].integer ?? 0),
            duplicateCount: Int(row[11].integer ?? 0), rejectedCount: Int(row[12].integer ?? 0))
    }

    static func values(of line: SettlementLine, fileId: Int64, into values: inout [SQLValue]) {
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
        values.append(line.roundingNote.map(SQLValue.text) ?? .null)
        values.append(line.extra.map(SQLValue.text) ?? .null)
    }

    /// Records a file by its content's SHA-256 alone; answers its id and whether it is new. For
    /// tools that load lines without an importer (`khata db bench`).
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

    /// Imports a file in one transaction: records it by its content's SHA-256 (a file with the
    /// same content imported before is answered as such, and `write` is not called), lets
    /// `write` store its lines and rejections through the sink, then marks every stored line
    /// that repeats a provider transaction stored before as a duplicate of the first. When
    /// `write` throws, nothing of the file is stored. `write` runs on the job store's own thread
    /// and may block.
    public func importFile(
        _ file: NewSettlementFile, at nanoseconds: UInt64,
        write: @escaping @Sendable (SettlementLineSink) throws -> Void
    ) async throws -> SettlementFileImport {
        try await database.perform { connection in
            try connection.transaction {
                if let earlier = try connection.query(
                    "SELECT \(Self.fileColumns) FROM import_files WHERE content_sha256 = ?", [.text(file.contentSHA256)]
                ).first {
                    return .alreadyImported(Self.file(earlier))
                }
                let id =
                    try connection.query(
                        """
                        INSERT INTO import_files (provider, dialect, file_name, content_sha256, size_bytes, imported_at,
                            imported_by, settlement_date)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                        """,
                        [
                            .text(file.provider), .text(file.dialect), .text(file.fileName), .text(file.contentSHA256),
                            .integer(file.sizeBytes), .text(UTCTime.text(nanoseconds: nanoseconds)),
                            .text(file.importedBy), file.settlementDate.map(SQLValue.text) ?? .null,
                        ]
                    ).first?.first?.integer ?? 0
                let sink = SettlementLineSink(connection: connection, fileId: id)
                try write(sink)
                try sink.flush()
                let duplicates = try Self.markDuplicates(fileId: id, connection: connection)
                try connection.run(
                    """
                    UPDATE import_files SET read_count = ?, line_count = ?, duplicate_count = ?, rejected_count = ?
                    WHERE id = ?
                    """,
                    [
                        .integer(Int64(sink.storedCount + sink.rejectedCount)), .integer(Int64(sink.storedCount)),
                        .integer(Int64(duplicates)), .integer(Int64(sink.rejectedCount)), .integer(id),
                    ])
                let stored = try connection.query(
                    "SELECT \(Self.fileColumns) FROM import_files WHERE id = ?", [.integer(id)])
                // Safe: the row was inserted above, in this transaction.
                return .imported(Self.file(stored.first!))
            }
        }
    }

    /// Points every line of file `fileId` that repeats an earlier line's provider transaction
    /// (same provider, kind and transaction id; earlier by file, then by line) at the first such
    /// line. Answers how many lines of the file are duplicates.
    static func markDuplicates(fileId: Int64, connection: any DatabaseConnection) throws -> Int {
        let pairs = try connection.query(
            """
            SELECT n.source_line, o.import_file_id, o.source_line
            FROM settlement_lines n
            JOIN settlement_lines o ON o.provider_txn_id = n.provider_txn_id AND o.provider = n.provider
                AND o.kind = n.kind AND o.duplicate_of_file_id IS NULL
                AND (o.import_file_id < n.import_file_id
                    OR (o.import_file_id = n.import_file_id AND o.source_line < n.source_line))
            WHERE n.import_file_id = ?
            """, [.integer(fileId)])
        var firstOf: [Int64: SettlementLineKey] = [:]
        for pair in pairs {
            guard let line = pair[0].integer, let otherFile = pair[1].integer, let otherLine = pair[2].integer else {
                continue
            }
            let candidate = SettlementLineKey(fileId: otherFile, line: Int(otherLine))
            if let known = firstOf[line], known < candidate { continue }
            firstOf[line] = candidate
        }
        for (line, first) in firstOf {
            try connection.run(
                """
                UPDATE settlement_lines SET duplicate_of_file_id = ?, duplicate_of_line = ?
                WHERE import_file_id = ? AND source_line = ?
                """, [.integer(first.fileId), .integer(Int64(first.line)), .integer(fileId), .integer(line)])
        }
        return firstOf.count
    }

    /// Inserts `lines` of the file `fileId` in one transaction (`COPY` on PostgreSQL): all of
    /// them, or, on any error, none.
    public func insert(_ lines: [SettlementLine], fileId: Int64) async throws -> Int {
        try await database.perform { connection in
            try connection.bulkInsert(table: "settlement_lines", columns: Self.columns, count: lines.count) {
                index, values in Self.values(of: lines[index], fileId: fileId, into: &values)
            }
        }
    }

    /// The file imported with id `id`.
    public func file(id: Int64) async throws -> SettlementFile? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.fileColumns) FROM import_files WHERE id = ?", [.integer(id)]).first
                .map(Self.file)
        }
    }

    /// Files imported, newest first, of one provider or of all.
    public func files(provider: String? = nil, limit: Int = 100) async throws -> [SettlementFile] {
        try await database.perform { connection in
            let select = "SELECT \(Self.fileColumns) FROM import_files"
            let rows =
                if let provider {
                    try connection.query(
                        select + " WHERE provider = ? ORDER BY id DESC LIMIT ?",
                        [.text(provider), .integer(Int64(limit))])
                } else {
                    try connection.query(select + " ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))])
                }
            return rows.map(Self.file)
        }
    }

    /// The lines of file `fileId` that were refused, in file order, up to `limit`.
    public func rejectedLines(fileId: Int64, limit: Int = 1_000) async throws -> [RejectedSettlementLine] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT source_line, column_name, reason FROM rejected_lines WHERE import_file_id = ?
                ORDER BY source_line LIMIT ?
                """, [.integer(fileId), .integer(Int64(limit))]
            ).map { row in
                RejectedSettlementLine(line: Int(row[0].integer ?? 0), column: row[1].text, reason: row[2].text ?? "")
            }
        }
    }

    /// The lines of a file, in file order.
    public func lines(fileId: Int64) async throws -> [SettlementLine] {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.lineSelect) FROM settlement_lines WHERE import_file_id = ? ORDER BY source_line",
                [.integer(fileId)]
            ).map { Self.line($0).line }
        }
    }

    /// The line stored under `key`, if any.
    public func line(_ key: SettlementLineKey) async throws -> SettlementLine? {
        try await database.perform { connection in
            try connection.query(
                "SELECT \(Self.lineSelect) FROM settlement_lines WHERE import_file_id = ? AND source_line = ?",
                [.integer(key.fileId), .integer(Int64(key.line))]
            ).first.map { Self.line($0).line }
        }
    }

    /// The columns `line(_:)` reads, in its order.
    static let lineSelect =
        columns.joined(separator: ", ") + ", duplicate_of_file_id, duplicate_of_line"

    /// The line of a row of `lineSelect`, and its key.
    static func line(_ row: [SQLValue]) -> (key: SettlementLineKey, line: SettlementLine) {
        let line = SettlementLine(
            provider: row[2].text ?? "", providerTxnId: row[3].text ?? "", ourReference: row[4].text ?? "",
            providerPaymentId: row[5].text, kind: row[6].text ?? "", statusRaw: row[7].text ?? "",
            status: row[8].text ?? "", transactedAt: row[9].text ?? "", settlementDate: row[10].text ?? "",
            grossMinor: row[11].integer ?? 0, feeMinor: row[12].integer ?? 0, netMinor: row[13].integer ?? 0,
            currency: row[14].text ?? "", payerMasked: row[15].text, originalProviderTxnId: row[16].text,
            sourceLine: Int(row[1].integer ?? 0), roundingNote: row[17].text, extra: row[18].text,
            duplicateOf: row[19].integer.map { SettlementLineKey(fileId: $0, line: Int(row[20].integer ?? 0)) })
        return (SettlementLineKey(fileId: row[0].integer ?? 0, line: line.sourceLine), line)
    }
}
