import Dispatch
import JSONInput
import JobStore
import Scheduler

/// What importing one settlement file did, as `khata settlements import --json` and
/// `POST /v1/settlements/{provider}` answer it.
public struct SettlementImportSummary: Sendable, Equatable {
    public var file: String
    public var provider: String
    public var dialect: String
    public var fileId: Int64
    /// True when the same content was imported before: nothing changed, and the counts are
    /// that import's.
    public var alreadyImported: Bool
    /// Data lines read: imported + duplicates + rejected.
    public var read: Int
    /// Lines stored and counted as money.
    public var imported: Int
    /// Lines stored as `duplicate_settlement`: their provider transaction was stored before.
    public var duplicates: Int
    public var rejected: Int
    /// The first refused lines (at most `SettlementImporter.rejectedLinesShown`), in file order.
    public var rejectedLines: [RejectedLine]
    /// The settlement date given to lines without one of their own.
    public var settlementDate: String?
    public var sha256: String
}

/// Which stage of an import is running, for progress bars.
public enum SettlementImportStage: String, Sendable {
    /// Reading the whole file to check it before anything is stored.
    case checking
    /// Reading it again, storing its lines.
    case storing
}

/// Imports settlement files: every line of a file is checked, then the good lines are stored
/// and the bad ones recorded, in one job-store transaction, so that a file is imported whole or
/// not at all. A file is read twice: once to check it (it must be UTF-8 CSV with a header of
/// its dialect and must not end inside a quoted field; its latest transaction gives the default
/// settlement date) and once to store it; a file that changes between the two is refused.
public struct SettlementImporter: Sendable {
    public let store: SettlementLines
    /// Nanoseconds since the Unix epoch, now.
    public let clock: @Sendable () -> UInt64
    /// How many refused lines a summary lists (all are stored).
    public static let rejectedLinesShown = 1_000

    public init(store: SettlementLines, clock: @escaping @Sendable () -> UInt64) {
        self.store = store
        self.clock = clock
    }

    /// Imports the file at `path` (called `fileName` in records and summaries) in `dialect`.
    /// Lines without a settlement date of their own get `settlementDate`, or else the Asia/Dhaka
    /// date of the file's latest transaction. `importedBy` is who asked (`cli`, a key's name, the
    /// intake job). `progress` hears the stage and the bytes read of `sizeBytes`.
    public func importFile(
        path: String, fileName: String, dialect: SettlementDialect, settlementDate: CivilDate? = nil,
        importedBy: String,
        progress: (@Sendable (SettlementImportStage, Int64) -> Void)? = nil
    ) async throws -> SettlementImportSummary {
        let facts = try await Self.offThread {
            try SettlementFileScan.read(path: path, dialect: dialect, progress: { progress?(.checking, $0) }) {
                _, _, _ in
            }
        }
        let defaultDate = settlementDate ?? facts.latestTransactionDhakaDate ?? Self.dhakaDate(clock())
        let file = NewSettlementFile(
            provider: dialect.provider, dialect: dialect.name, fileName: fileName, contentSHA256: facts.sha256,
            sizeBytes: facts.sizeBytes, settlementDate: defaultDate.description, importedBy: importedBy)
        let defaultDateText = defaultDate.description
        let outcome = try await store.importFile(file, at: clock()) { sink in
            let stored = try SettlementFileScan.read(
                path: path, dialect: dialect, delimiter: facts.delimiter, progress: { progress?(.storing, $0) }
            ) { row, record, reader in
                switch row {
                case .line(let parsed):
                    try sink.append(
                        reader.settlementLine(parsed, record: record, defaultSettlementDateText: defaultDateText))
                case .rejected(let rejected): try sink.reject(rejected)
                case .preamble, .header, .blank, .totals: break
                }
            }
            guard stored.sha256 == facts.sha256 else {
                throw SettlementFileError(
                    .changedWhileReading, "the file changed while it was being imported; nothing was imported")
            }
        }
        let recorded = outcome.file
        let rejectedLines =
            recorded.rejectedCount == 0
            ? [] : try await store.rejectedLines(fileId: recorded.id, limit: Self.rejectedLinesShown)
        var alreadyImported = false
        if case .alreadyImported = outcome { alreadyImported = true }
        return SettlementImportSummary(
            file: fileName, provider: recorded.provider, dialect: recorded.dialect, fileId: recorded.id,
            alreadyImported: alreadyImported, read: recorded.readCount, imported: recorded.importedCount,
            duplicates: recorded.duplicateCount, rejected: recorded.rejectedCount, rejectedLines: rejectedLines,
            settlementDate: recorded.settlementDate, sha256: recorded.contentSHA256)
    }

    /// The Asia/Dhaka date of an instant.
    static func dhakaDate(_ nanoseconds: UInt64) -> CivilDate {
        CivilDate.dhaka(nanoseconds: nanoseconds)
    }

    /// Runs blocking file work on a thread of its own, not on a Swift concurrency thread.
    static func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension SettlementImportSummary {
    /// The summary as one JSON object, the same for the command line and the API.
    public var json: String {
        let quoted = JSONStringLiteral.quoted
        let refusals = rejectedLines.map { line in
            "{\"line\":\(line.line),\"column\":\(line.column.map(quoted) ?? "null"),\"reason\":\(quoted(line.reason))}"
        }
        return "{\"file\":\(quoted(file)),\"provider\":\(quoted(provider)),\"dialect\":\(quoted(dialect)),"
            + "\"fileId\":\(fileId),\"alreadyImported\":\(alreadyImported),"
            + "\"read\":\(read),\"imported\":\(imported),\"duplicates\":\(duplicates),\"rejected\":\(rejected),"
            + "\"rejectedLines\":[\(refusals.joined(separator: ","))],"
            + "\"settlementDate\":\(settlementDate.map(quoted) ?? "null"),\"sha256\":\(quoted(sha256))}"
    }

    /// A short account for people: what was read, imported, repeated and refused.
    public var text: String {
        if alreadyImported {
            let lines = "\(imported) line\(imported == 1 ? "" : "s")"
            return "\(file): already imported (file \(fileId), \(lines)); nothing changed"
        }
        var summary =
            "\(file): \(provider), settlement date \(settlementDate ?? "-"): read \(read) line\(read == 1 ? "" : "s"), "
            + "imported \(imported)"
        if duplicates > 0 { summary += ", \(duplicates) duplicate\(duplicates == 1 ? "" : "s") (duplicate_settlement)" }
        summary += ", rejected \(rejected)"
        for line in rejectedLines.prefix(20) {
            summary += "\n  line \(line.line)\(line.column.map { " (\($0))" } ?? ""): \(line.reason)"
        }
        if rejected > 20 { summary += "\n  … and \(rejected - 20) more (--json lists up to 1,000)" }
        return summary
    }
}

extension SettlementFileError {
    /// The error as a JSON object: `{"code": …, "message": …}`.
    public var json: String {
        "{\"code\":\(JSONStringLiteral.quoted(code.name)),\"message\":\(JSONStringLiteral.quoted(message))}"
    }

    /// A refused file's line of `khata settlements import --json`: `{"file": …, "error": {…}}`.
    public func json(file: String) -> String { "{\"file\":\(JSONStringLiteral.quoted(file)),\"error\":\(json)}" }
}
