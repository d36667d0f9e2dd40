import Foundation

/// The unattended side of import: every file dropped into a provider's intake folder is imported
/// and then moved beside it, into `done/` (imported, or imported before) or `rejected/` (refused
/// as a whole), with a short report next to it (`<name>.report.json`: the import's summary or the
/// error). A file modified less than `settleSeconds` ago is left for the next run: it may still
/// be being copied in. Hidden files and names ending in `.part` or `.tmp` are never taken.
public struct SettlementIntake: Sendable {
    public struct Folder: Sendable {
        public var dialect: SettlementDialect
        public var path: String

        public init(dialect: SettlementDialect, path: String) {
            self.dialect = dialect
            self.path = path
        }
    }

    /// What one run did.
    public struct Outcome: Sendable, Equatable {
        /// Files imported now, and those whose content was imported before.
        public var imported = 0
        public var alreadyImported = 0
        /// Files refused as a whole (moved to `rejected/`).
        public var refused = 0
        /// Files left for a later run because they changed too recently.
        public var waiting = 0
        /// Lines stored by this run, and lines refused.
        public var lines = 0
        public var rejectedLines = 0

        public init() {}
    }

    public let importer: SettlementImporter
    public let folders: [Folder]
    public let settleSeconds: Int64

    public init(importer: SettlementImporter, folders: [Folder], settleSeconds: Int64 = 60) {
        self.importer = importer
        self.folders = folders
        self.settleSeconds = settleSeconds
    }

    /// Imports what waits in every folder, oldest name first. A job-store failure stops the run
    /// with the file left where it was, to be taken again next time.
    public func run(now nanoseconds: UInt64, shouldStop: @Sendable () -> Bool = { false }) async throws -> Outcome {
        var outcome = Outcome()
        let files = FileManager.default
        for folder in folders {
            guard let names = try? files.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names.sorted() where Self.isCandidate(name) {
                if shouldStop() { return outcome }
                let path = folder.path + "/" + name
                guard let attributes = try? files.attributesOfItem(atPath: path),
                    attributes[.type] as? FileAttributeType == .typeRegular,
                    let modified = attributes[.modificationDate] as? Date
                else { continue }
                let ageSeconds = Int64(nanoseconds / 1_000_000_000) - Int64(modified.timeIntervalSince1970)
                if ageSeconds < settleSeconds {
                    outcome.waiting += 1
                    continue
                }
                do {
                    let summary = try await importer.importFile(
                        path: path, fileName: name, dialect: folder.dialect, importedBy: "intake")
                    if summary.alreadyImported {
                        outcome.alreadyImported += 1
                    } else {
                        outcome.imported += 1
                        outcome.lines += summary.imported + summary.duplicates
                        outcome.rejectedLines += summary.rejected
                    }
                    try Self.move(path, to: folder.path + "/done", report: summary.json)
                } catch let error as SettlementFileError {
                    outcome.refused += 1
                    try Self.move(path, to: folder.path + "/rejected", report: error.json(file: name))
                }
            }
        }
        return outcome
    }

    static func isCandidate(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".part") && !name.hasSuffix(".tmp") && !name.hasSuffix(".report.json")
    }

    /// Moves `path` into `directory` (made when missing) under a name not yet taken there, and
    /// writes the report beside it.
    static func move(_ path: String, to directory: String, report: String) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = URL(fileURLWithPath: path).lastPathComponent
        var target = directory + "/" + name
        var copy = 1
        while files.fileExists(atPath: target) {
            copy += 1
            target = directory + "/" + name + ".\(copy)"
        }
        try files.moveItem(atPath: path, toPath: target)
        try Data((report + "\n").utf8).write(to: URL(fileURLWithPath: target + ".report.json"), options: .atomic)
    }
}
