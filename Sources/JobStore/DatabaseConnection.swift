/// The SQL both backends speak, with `?` placeholders (the PostgreSQL connection numbers them),
/// and where they differ, a dialect to choose the text by.
public enum Dialect: Sendable, Equatable {
    case sqlite
    case postgres
}

/// One connection to the job store's database. Not thread-safe: `JobDatabase` owns it and calls
/// it from its own thread only, so no blocking call runs on a Swift concurrency or event-loop
/// thread.
public protocol DatabaseConnection: AnyObject {
    var dialect: Dialect { get }
    /// How many times the connection was made again after it broke. A session's state (advisory
    /// locks, settings) does not survive that, so a holder of a session lock compares this
    /// number with the one it took the lock under.
    var sessionGeneration: Int { get }
    /// Runs `sql` (one or more statements, no parameters): schema changes and settings.
    func execute(_ sql: String) throws(DatabaseError)
    /// Runs one statement with every value bound as a parameter; answers the rows changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> Int
    /// The rows of one statement, every value bound as a parameter.
    func query(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> [[SQLValue]]
    /// The rows of one statement as bytes (see `RawRows`), every value bound as a parameter.
    func rawQuery(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> RawRows
    /// The statement that opens a transaction.
    var beginTransactionSQL: String { get }
    /// Inserts `count` rows at once: `COPY` on PostgreSQL, one prepared insert per row on SQLite.
    /// `row(i, &values)` fills row `i`'s values into an array that is reused from row to row, so
    /// that a load of a million rows makes no array per row. Answers the rows inserted. Unless
    /// `withinTransaction` (the caller's transaction is open), the rows go in a transaction of
    /// their own; either way, on any error nothing is inserted.
    func bulkInsert(
        table: String, columns: [String], count: Int, withinTransaction: Bool, row: (Int, inout [SQLValue]) -> Void
    ) throws(DatabaseError) -> Int
}

extension DatabaseConnection {
    /// The rows of `select` (a query ending in `WHERE … IN`) for each of `values`, asked 500 at
    /// a time: one round trip per 500 where one per value would cost one each.
    func rows(_ select: String, in values: [SQLValue]) throws(DatabaseError) -> [[SQLValue]] {
        var rows: [[SQLValue]] = []
        for start in stride(from: 0, to: values.count, by: 500) {
            let chunk = Array(values[start..<min(start + 500, values.count)])
            rows += try query(
                select + " (" + Array(repeating: "?", count: chunk.count).joined(separator: ", ") + ")", chunk)
        }
        return rows
    }

    /// Runs `body` in one transaction, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute(beginTransactionSQL)
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Inserts `count` rows at once, in a transaction of their own (see the other `bulkInsert`).
    public func bulkInsert(
        table: String, columns: [String], count: Int, row: (Int, inout [SQLValue]) -> Void
    ) throws(DatabaseError) -> Int {
        try bulkInsert(table: table, columns: columns, count: count, withinTransaction: false, row: row)
    }

    /// Inserts `rows` at once, in one transaction (see the other `bulkInsert`).
    public func bulkInsert(table: String, columns: [String], rows: [[SQLValue]]) throws(DatabaseError) -> Int {
        try bulkInsert(table: table, columns: columns, count: rows.count) { index, values in
            values.append(contentsOf: rows[index])
        }
    }

    @discardableResult
    public func run(_ sql: String) throws(DatabaseError) -> Int { try run(sql, []) }

    public func query(_ sql: String) throws(DatabaseError) -> [[SQLValue]] { try query(sql, []) }
}
