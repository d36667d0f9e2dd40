import Dispatch
import Foundation

/// The job state's database: one connection owned by one serial queue, so that every blocking
/// call runs on that queue's thread and never on a Swift concurrency or event-loop thread.
/// Opening applies the schema's migrations.
public final class JobDatabase: @unchecked Sendable {
    // @unchecked: `connection` is touched only on `queue`, which runs one block at a time.
    private let connection: SQLiteConnection
    private let queue: DispatchQueue
    /// Where the database lives.
    public let path: String

    /// Opens `path` (creating it) and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        connection = try SQLiteConnection(path: path)
        queue = DispatchQueue(label: "khata.jobstore")
        try Migrations.apply(to: connection)
    }

    /// The embedded default: `<dataDir>/jobs.sqlite`.
    public static func open(dataDir: String) throws -> JobDatabase {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        return try JobDatabase(path: dataDir + "/jobs.sqlite")
    }

    /// Runs `body` on the database's thread and waits for it without blocking a Swift
    /// concurrency thread.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self.connection) }) }
        }
    }

    /// Runs `body` on the database's thread, blocking the caller: for the command line.
    public func performNow<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try queue.sync { try body(connection) }
    }

    /// The schema version applied.
    public var schemaVersion: Int {
        get throws { try performNow { try Migrations.currentVersion(of: $0) } }
    }
}
