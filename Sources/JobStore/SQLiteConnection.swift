import CJobStoreSupport
import CSQLite

/// One SQLite connection. Not thread-safe by itself: `JobDatabase` owns it and runs every call on
/// its own thread, so no blocking call runs on a Swift concurrency or event-loop thread.
public final class SQLiteConnection: DatabaseConnection {
    public var dialect: Dialect { .sqlite }
    /// A file never disconnects.
    public var sessionGeneration: Int { 0 }

    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    public let path: String

    /// Opens (creating) the database at `path` in WAL mode with full durability: a commit is on
    /// disk before it returns, as acknowledged state must be.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws(DatabaseError) {
        self.path = path
        _ = Self.configured
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        handle = opened
        guard status == SQLITE_OK else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(opened)
            handle = nil
            throw DatabaseError(kind: .other, code: "\(status)", message: message, sql: "open \(path)")
        }
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        // 16 KiB pages for a new database (an existing one keeps its size): fewer levels and
        // splits in the indexes a bulk load fills at random places; 1,000,000 settlement lines
        // loaded about a seventh faster than with 4 KiB pages.
        try execute("PRAGMA page_size = 16384")
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
        try execute("PRAGMA foreign_keys = ON")
        // 64 MiB of page cache instead of SQLite's 2 MiB: a bulk load inserts into the reference
        // index at random places, and with the small cache nearly every insert read a page back.
        try execute("PRAGMA cache_size = -65536")
    }

    /// Once per process, before the first connection: SQLite's memory statistics off (their
    /// global mutex was 15% of a bulk insert's time).
    private static let configured: Bool = khata_sqlite_disable_memory_statistics() == SQLITE_OK

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs `sql` (one or more statements, no parameters): schema changes and pragmas.
    public func execute(_ sql: String) throws(DatabaseError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw error(status, text, sql)
        }
    }

    /// Runs a statement with every value bound as a parameter; answers the rows changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> Int {
        _ = try query(sql, values)
        return Int(sqlite3_changes(handle))
    }

    /// The rows of a query, every value bound as a parameter. Statements are prepared once and
    /// kept.
    public func query(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> [[SQLValue]] {
        try query(try prepared(sql), values, sql)
    }

    /// The rows as bytes: SQLite gives an integer's decimal text itself, and every value is
    /// copied once, into the rows' one buffer.
    public func rawQuery(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> RawRows {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bind(statement, values, sql)
        let columns = sqlite3_column_count(statement)
        var rows = RawRows(columnCount: Int(columns))
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw error(status, String(cString: sqlite3_errmsg(handle)), sql) }
            for column in 0..<columns {
                if sqlite3_column_type(statement, column) == SQLITE_NULL {
                    rows.append(nil)
                    continue
                }
                // The pointer first, then the length, as SQLite asks: the text may be made on the call.
                let text = sqlite3_column_text(statement, column)
                let count = Int(sqlite3_column_bytes(statement, column))
                rows.append(UnsafeRawBufferPointer(start: text, count: text == nil ? 0 : count))
            }
            rows.endRow()
        }
        return rows
    }

    /// Binds `values` to `statement`'s parameters in order.
    private func bind(_ statement: OpaquePointer, _ values: [SQLValue], _ sql: String) throws(DatabaseError) {
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, position)
            case .integer(let number): status = sqlite3_bind_int64(statement, position, number)
            case .text(let text) where text.isEmpty:
                status = sqlite3_bind_text(statement, position, "", 0, transientDestructor)
            case .text(var text):
                // The UTF-8 bytes in place (SQLite copies them), not a C string made for the call.
                status = text.withUTF8 { bytes in
                    UnsafeRawBufferPointer(bytes).withMemoryRebound(to: CChar.self) { characters in
                        sqlite3_bind_text(
                            statement, position, characters.baseAddress, Int32(characters.count), transientDestructor)
                    }
                }
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), transientDestructor)
                }
            }
            guard status == SQLITE_OK else { throw error(status, String(cString: sqlite3_errmsg(handle)), sql) }
        }
    }

    private func query(_ statement: OpaquePointer, _ values: [SQLValue], _ sql: String) throws(DatabaseError)
        -> [[SQLValue]]
    {
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bind(statement, values, sql)
        var rows: [[SQLValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw error(status, String(cString: sqlite3_errmsg(handle)), sql) }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
        return rows
    }

    public func bulkInsert(
        table: String, columns: [String], count: Int, withinTransaction: Bool, row: (Int, inout [SQLValue]) -> Void
    ) throws(DatabaseError) -> Int {
        let sql =
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        // Inside the caller's transaction a savepoint keeps "all rows or none" for this call.
        try execute(withinTransaction ? "SAVEPOINT bulk_insert" : beginTransactionSQL)
        do throws(DatabaseError) {
            let statement = try prepared(sql)
            var values: [SQLValue] = []
            values.reserveCapacity(columns.count)
            // Every text and blob of a row copied into one buffer that outlives the step, so that
            // SQLite can use the bytes where they are (SQLITE_STATIC) instead of copying each into
            // memory of its own. Byte 0 is never used: the buffer's address is never nil.
            var arena: [UInt8] = [0]
            var spans: [(offset: Int, count: Int)] = Array(repeating: (0, 0), count: columns.count)
            for index in 0..<count {
                values.removeAll(keepingCapacity: true)
                row(index, &values)
                precondition(values.count == columns.count, "a row of \(table) has one value per column")
                arena.removeSubrange(1...)
                for (position, value) in values.enumerated() {
                    switch value {
                    case .text(var text):
                        text.withUTF8 {
                            spans[position] = (arena.count, $0.count)
                            arena.append(contentsOf: $0)
                        }
                    case .blob(let bytes):
                        spans[position] = (arena.count, bytes.count)
                        arena.append(contentsOf: bytes)
                    case .null, .integer: break
                    }
                }
                try arena.withUnsafeBufferPointer { (buffer) throws(DatabaseError) in
                    try step(statement, values, spans, in: buffer, sql)
                }
            }
            try execute(withinTransaction ? "RELEASE bulk_insert" : "COMMIT")
        } catch {
            try? execute(withinTransaction ? "ROLLBACK TO bulk_insert; RELEASE bulk_insert" : "ROLLBACK")
            throw error
        }
        return count
    }

    /// Binds one row (texts and blobs from `buffer`, which outlives the step) and inserts it.
    private func step(
        _ statement: OpaquePointer, _ values: [SQLValue], _ spans: [(offset: Int, count: Int)],
        in buffer: UnsafeBufferPointer<UInt8>, _ sql: String
    ) throws(DatabaseError) {
        defer { sqlite3_reset(statement) }
        // Safe: the buffer always holds byte 0.
        let base = UnsafeRawPointer(buffer.baseAddress!)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let (offset, length) = spans[index]
            let status: Int32 =
                switch value {
                case .null: sqlite3_bind_null(statement, position)
                case .integer(let number): sqlite3_bind_int64(statement, position, number)
                case .text:
                    sqlite3_bind_text(
                        statement, position, (base + offset).assumingMemoryBound(to: CChar.self), Int32(length),
                        staticDestructor)
                case .blob: sqlite3_bind_blob(statement, position, base + offset, Int32(length), staticDestructor)
                }
            guard status == SQLITE_OK else { throw error(status, String(cString: sqlite3_errmsg(handle)), sql) }
        }
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE else { throw error(status, String(cString: sqlite3_errmsg(handle)), sql) }
    }

    /// BEGIN IMMEDIATE: writers queue up front instead of failing at their first write.
    public var beginTransactionSQL: String { "BEGIN IMMEDIATE" }

    private func prepared(_ sql: String) throws(DatabaseError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw error(status, String(cString: sqlite3_errmsg(handle)), sql)
        }
        statements[sql] = statement
        return statement
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let base = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        case SQLITE_NULL: return .null
        default: return .text(String(cString: sqlite3_column_text(statement, index)))
        }
    }

    private func error(_ status: Int32, _ message: String, _ sql: String) -> DatabaseError {
        let kind: DatabaseError.Kind =
            switch status {
            case constraintUnique, constraintPrimaryKey: .uniqueViolation
            case SQLITE_BUSY, SQLITE_LOCKED: .busy
            default: .other
            }
        return DatabaseError(kind: kind, code: "SQLITE \(status)", message: message, sql: sql)
    }
}

// The extended result codes are function-like macros in sqlite3.h, which Swift does not import.
private let constraintUnique = SQLITE_CONSTRAINT | 8 << 8
private let constraintPrimaryKey = SQLITE_CONSTRAINT | 6 << 8

/// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
/// SQLITE_STATIC: the bound bytes stay where they are until the statement is reset.
private let staticDestructor: sqlite3_destructor_type? = nil
