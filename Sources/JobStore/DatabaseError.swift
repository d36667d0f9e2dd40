/// A failure from the database, with the SQL that failed and the engine's own code: a typed error
/// at the boundary, never a crash.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A UNIQUE or PRIMARY KEY constraint refused the row.
        case uniqueViolation
        /// Another process holds the lock for longer than the busy timeout.
        case busy
        case other
    }

    public let kind: Kind
    /// SQLite's extended result code (or, for PostgreSQL, the SQLSTATE).
    public let code: String
    public let message: String
    public let sql: String

    public var description: String { "database error \(code): \(message) (in: \(sql.prefix(120)))" }
}
