import JSONInput
import JobStore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Chooses the log output once per process: human text on a terminal, JSON lines otherwise.
enum LogSetup {
    static func bootstrap(format: LogFormat, level: Logger.Level) {
        let useJSON: Bool
        switch format {
        case .json: useJSON = true
        case .text: useJSON = false
        case .auto: useJSON = isatty(STDERR_FILENO) == 0
        }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                useJSON ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes one JSON object per log line to standard error: time (UTC, RFC 3339), level, label,
/// message and metadata, so that log collectors need no parsing rules.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", JSON.quote(Self.timestamp())),
            ("level", JSON.quote(event.level.rawValue)),
            ("label", JSON.quote(label)),
            ("message", JSON.quote(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            // Safe: the key comes from the merged dictionary.
            fields.append((key, Self.encode(merged[key]!)))
        }
        let line = "{" + fields.map { JSON.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in _ = write(STDERR_FILENO, raw.baseAddress, raw.count) }
    }

    private static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return JSON.quote(text)
        case .stringConvertible(let convertible): return JSON.quote(convertible.description)
        case .array(let values): return "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{"
                + dictionary.keys.sorted().map { JSON.quote($0) + ":" + encode(dictionary[$0]!) }.joined(separator: ",")
                + "}"
        }
    }

    private static func timestamp() -> String { UTCTime.now() }
}

/// Minimal JSON text helpers for the command's own output.
enum JSON {
    static func quote(_ text: String) -> String { JSONStringLiteral.quoted(text) }
}
