import Dispatch
import Foundation
import Synchronization

/// The job state's database: SQLite in the data directory (the embedded default), or PostgreSQL
/// when a database URL is given. One connection owned by one serial queue, so that every blocking
/// call runs on that queue's thread and never on a Swift concurrency or event-loop thread.
/// Opening applies the schema's migrations.
public final class JobDatabase: @unchecked Sendable {
    // @unchecked: `connection` is touched only on `queue`, which runs one block at a time.
    private let connection: any DatabaseConnection
    private let queue: DispatchQueue
    /// Where the database lives: a file path, or a URL without its password.
    public let location: String
    public let dialect: Dialect
    private let heldLeases = Mutex<Set<String>>([])

    /// Opens the SQLite database at `path` (creating it) and brings its schema up to date.
    public convenience init(path: String) throws {
        try self.init(connection: try SQLiteConnection(path: path), location: path)
    }

    /// Connects to PostgreSQL at `url` (`postgresql://user@host:port/db`) and brings its schema up
    /// to date.
    public convenience init(url: String) throws {
        let connection = try PostgresConnection(url: url)
        try self.init(connection: connection, location: connection.displayURL)
    }

    private init(connection: any DatabaseConnection, location: String) throws {
        self.connection = connection
        self.location = location
        dialect = connection.dialect
        queue = DispatchQueue(label: "khata.jobstore")
        try Migrations.apply(to: connection)
    }

    /// PostgreSQL at `databaseURL` when given, else the embedded default `<dataDir>/jobs.sqlite`.
    public static func open(dataDir: String, databaseURL: String? = nil) throws -> JobDatabase {
        if let databaseURL { return try JobDatabase(url: databaseURL) }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        return try JobDatabase(path: dataDir + "/jobs.sqlite")
    }

    /// Runs `body` on the database's thread and waits for it without blocking a Swift
    /// concurrency thread.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (any DatabaseConnection) throws -> T) async throws
        -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self.connection) }) }
        }
    }

    /// Runs `body` on the database's thread, blocking the caller: for the command line.
    public func performNow<T>(_ body: (any DatabaseConnection) throws -> T) throws -> T {
        try queue.sync { try body(connection) }
    }

    /// Takes the job lease `name`: across processes and machines on PostgreSQL (a session
    /// advisory lock, which the server drops when the holder's connection dies), and within this
    /// process on both backends (an advisory lock is reentrant within its session). False when
    /// another holder has it.
    public func tryLease(_ name: String) async throws -> Bool {
        guard heldLeases.withLock({ $0.insert(name).inserted }) else { return false }
        guard dialect == .postgres else { return true }
        let key = Self.leaseKey(name)
        let taken = try await perform { connection in
            try connection.query("SELECT pg_try_advisory_lock(?)", [.integer(key)]).first?.first == .integer(1)
        }
        if !taken { _ = heldLeases.withLock { $0.remove(name) } }
        return taken
    }

    /// Gives the lease `name` back.
    public func releaseLease(_ name: String) async throws {
        defer { _ = heldLeases.withLock { $0.remove(name) } }
        guard dialect == .postgres else { return }
        let key = Self.leaseKey(name)
        _ = try await perform { connection in try connection.query("SELECT pg_advisory_unlock(?)", [.integer(key)]) }
    }

    /// A stable 64-bit advisory lock key for a lease name.
    static func leaseKey(_ name: String) -> Int64 {
        Crypto.sha256(Array("khata.lease:\(name)".utf8)).prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }

    /// The schema version applied.
    public var schemaVersion: Int {
        get throws { try performNow { try Migrations.currentVersion(of: $0) } }
    }
}
