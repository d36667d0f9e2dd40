import ArgumentParser
import JobStore

/// `khata db`: the job store's schema.
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The job store's database (SQLite in the data directory, or PostgreSQL with --database-url).",
        subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the schema's migrations (every command also does on opening) and print the version.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.db")
            let database = try await settings.openJobDatabase()
            let version = try await database.schemaVersion
            if json {
                print(
                    LedgerSession.jsonLine([
                        "schemaVersion": version, "location": database.location,
                        "backend": database.dialect == .postgres ? "postgresql" : "sqlite",
                    ]))
            } else {
                print("schema version \(version) at \(database.location)")
            }
        }
    }
}
