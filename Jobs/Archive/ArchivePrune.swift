import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a prune deleted, or would delete.
public struct PruneOutcome: Sendable {
    /// The exports deleted (or, in a dry run, to be deleted), oldest first.
    public var deleted: [ArchiveManifest] = []
    /// The exports kept.
    public var kept = 0
    /// Bytes of archive files deleted.
    public var bytes = 0
}

/// Retention: deletes whole exports, oldest first, whose last record is older than the cut-off,
/// and only ones `khata verify` has found intact, while the folder's last verification passed.
/// It deletes archive files only: nothing but the files an export's manifest names and its two
/// manifest files, in a folder named as an export, in a folder that holds exports.
public enum ArchivePruner {
    public static func prune(
        directory: String, keepDays: Int, nowNanoseconds: UInt64, dryRun: Bool
    ) throws(ArchiveError) -> PruneOutcome {
        guard keepDays >= 1 else { throw ArchiveError(.refused, "--keep-days must be at least 1") }
        let lock = try ArchiveFolder.lock(directory)
        defer { lock.release() }
        let exports = try ArchiveVerifier.exports(directory: directory, trustedKey: nil)
        let log = VerificationLog.entries(directory)
        if let last = log.last, !last.ok {
            throw ArchiveError(
                .refused, "the folder's last verification (\(last.at)) found damage: \(last.detail); nothing deleted",
                path: directory)
        }
        let verified = Set(log.filter(\.ok).flatMap { $0.exports ?? [] })
        let cutoff = nowNanoseconds &- UInt64(keepDays) * 86_400 * 1_000_000_000
        var outcome = PruneOutcome()
        var doomed: [ArchiveExport] = []
        for export in exports {
            // Oldest first: the first export still inside the window ends the deletions, so the
            // folder keeps one unbroken chain from there on.
            guard let last = export.manifest.lastTimeNanoseconds, last < cutoff, nowNanoseconds > cutoff else { break }
            guard verified.contains(export.manifest.folderName) else {
                throw ArchiveError(
                    .refused,
                    "\(export.manifest.folderName) is older than \(keepDays) days but has never been verified "
                        + "intact: run khata verify first; nothing deleted", path: export.folder)
            }
            doomed.append(export)
        }
        var files: [[String]] = []
        for export in doomed { files.append(try expectedFiles(export)) }
        for (export, names) in zip(doomed, files) {
            for name in names {
                let path = export.folder + "/" + name
                outcome.bytes += ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            }
            outcome.deleted.append(export.manifest)
            if dryRun { continue }
            for name in names where name != ManifestFiles.manifestName && name != ManifestFiles.signatureName {
                try remove(export.folder + "/" + name)
            }
            // The manifest goes last: an interrupted prune leaves an export that verify reports
            // as missing files, never files without their manifest.
            try remove(export.folder + "/" + ManifestFiles.signatureName)
            try remove(export.folder + "/" + ManifestFiles.manifestName)
            guard rmdir(export.folder) == 0 else { throw ArchiveError.system("cannot remove", path: export.folder) }
        }
        if !dryRun && !doomed.isEmpty { try ArchiveFolder.sync(directory) }
        outcome.kept = exports.count - doomed.count
        return outcome
    }

    /// The export's files, checked to be exactly what its manifest names: anything else in the
    /// folder stops the prune, since it is not the archive's to delete.
    static func expectedFiles(_ export: ArchiveExport) throws(ArchiveError) -> [String] {
        let names = Set(export.manifest.files.map(\.name) + [ManifestFiles.manifestName, ManifestFiles.signatureName])
        let present: [String]
        do { present = try FileManager.default.contentsOfDirectory(atPath: export.folder) } catch {
            throw ArchiveError(.io, "cannot list: \(error.localizedDescription)", path: export.folder)
        }
        let strangers = present.filter { !names.contains($0) }
        guard strangers.isEmpty else {
            throw ArchiveError(
                .refused,
                "the export folder holds files its manifest does not name ("
                    + strangers.sorted().joined(separator: ", ") + "); nothing deleted", path: export.folder)
        }
        return present.sorted()
    }

    private static func remove(_ path: String) throws(ArchiveError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw ArchiveError.system("cannot delete", path: path) }
    }
}
