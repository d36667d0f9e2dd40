import Foundation

/// `<archive>/verification-log.jsonl`: one line per `khata verify` run, which `archive list`
/// shows and `archive prune` requires before it deletes anything.
public enum VerificationLog {
    public static let fileName = "verification-log.jsonl"

    /// One run of verify: when, whether the archive was intact, and the exports it covered.
    public struct Entry: Codable, Sendable {
        public var at: String
        public var ok: Bool
        public var detail: String
        public var exports: [String]?
    }

    /// Appends an entry; an archive on read-only media is verified all the same, unrecorded.
    public static func record(_ archive: String, ok: Bool, detail: String, exports: [String]? = nil) {
        let entry = Entry(at: ArchiveExporter.timestamp(Date()), ok: ok, detail: detail, exports: exports)
        guard var line = try? JSONEncoder().encode(entry) else { return }
        line.append(UInt8(ascii: "\n"))
        let path = archive + "/" + fileName
        guard FileManager.default.fileExists(atPath: archive) else { return }
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: line)
        try? handle.synchronize()
    }

    /// When each export was last verified intact.
    public static func lastVerified(_ archive: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: archive + "/" + fileName, encoding: .utf8) else { return [:] }
        var latest: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line.utf8)), entry.ok else { continue }
            for export in entry.exports ?? [] { latest[export] = entry.at }
        }
        return latest
    }
}

extension VerificationLog {
    /// Every entry, oldest first; lines that do not parse are skipped (a torn last line).
    public static func entries(_ archive: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: archive + "/" + fileName, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }
}
