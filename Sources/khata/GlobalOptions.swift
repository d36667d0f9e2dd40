import ArgumentParser
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Options every command that works on a data directory takes, the job store included.
struct GlobalOptions: ParsableArguments {
    @OptionGroup var base: DataDirectoryOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL for the job store, e.g. postgresql://khata@db/khata (environment: KHATA_DATABASE_URL; "
                + "default: SQLite in <data-dir>/jobs.sqlite).", valueName: "url"))
    var databaseUrl: String?

    /// Loads settings and starts logging; every command calls this first.
    func load(label: String) async throws -> (Settings, Logger) {
        var (settings, logger) = try await base.load(label: label)
        if let databaseUrl { settings.databaseURL = databaseUrl }
        return (settings, logger)
    }
}

/// Options of a command that works on a data directory's ledger but not on the job store (it
/// offers no --database-url, which it would ignore).
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data directory (environment: KHATA_DATA_DIR).", valueName: "dir"))
    var dataDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "JSON configuration file (environment: KHATA_CONFIG; default: <data-dir>/khata.json if it exists).",
            valueName: "file"))
    var config: String?

    @OptionGroup var log: LogOptions

    /// The data directory after flags and environment.
    var resolvedDataDir: String {
        dataDir ?? environment("KHATA_DATA_DIR") ?? "./khata-data"
    }

    /// Loads settings and starts logging; every command calls this first.
    func load(label: String) async throws -> (Settings, Logger) {
        let logger = try log.start(label: label)
        let settings = try await Settings.load(
            dataDir: resolvedDataDir, configPath: config ?? environment("KHATA_CONFIG"))
        return (settings, logger)
    }
}

/// Where logs go and how much of them.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Log format: auto (text on a terminal, JSON otherwise), json or text.")
    var logFormat: LogFormat = .auto

    @Option(name: .long, help: "Lowest log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// Starts logging (once per process) and answers a logger at the chosen level.
    func start(label: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError(
                "--log-level must be one of trace, debug, info, notice, warning, error, critical; got \(logLevel)")
        }
        LogSetup.bootstrap(format: logFormat, level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case auto, json, text
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
