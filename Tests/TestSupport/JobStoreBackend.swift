import Foundation
import JobStore
import Testing

/// The job store's backends a test runs on: SQLite always, PostgreSQL when the README's test
/// command has started one (KHATA_TEST_DATABASE_URL).
public enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    public static var available: [Backend] {
        ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    public var testDescription: String { rawValue }

    /// A fresh, empty database of this backend (PostgreSQL: a schema of its own, dropped by
    /// `Scratch.remove`), opened twice if asked, so that reopening can be tested.
    public func scratch() throws -> Scratch { try Scratch(self) }

    public final class Scratch {
        public let directory = TemporaryDirectory()
        public let backend: Backend
        private let schema: PostgresScratchSchema?

        public init(_ backend: Backend) throws {
            self.backend = backend
            let base = ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"]
            schema = try base.flatMap {
                backend == .postgres ? try PostgresScratchSchema(baseURL: $0, prefix: "t") : nil
            }
        }

        public func open() throws -> JobDatabase {
            try JobDatabase.openBlocking(dataDir: directory.path + "/data", databaseURL: schema?.url)
        }

        /// A connection of its own to the scratch database, with no migration applied by opening.
        public func connection() throws -> any DatabaseConnection {
            if let url = schema?.url { return try PostgresConnection(url: url) }
            try FileManager.default.createDirectory(atPath: directory.path + "/data", withIntermediateDirectories: true)
            return try SQLiteConnection(path: directory.path + "/data/jobs.sqlite")
        }

        /// The PostgreSQL URL of the scratch schema; nil on SQLite.
        public var url: String? { schema?.url }

        public func remove() {
            schema?.drop()
            directory.remove()
        }
    }
}
