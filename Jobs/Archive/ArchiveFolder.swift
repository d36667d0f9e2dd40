import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The archive folder on disk: its exports, its lock, and the durable steps (fsync, rename,
/// directory sync) that make an export appear whole or not at all.
enum ArchiveFolder {
    /// An export being written lives under this prefix until it is complete and renamed.
    static let unfinishedPrefix = ".unfinished-export-"

    static func create(_ path: String) throws(ArchiveError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ArchiveError(.io, "cannot create the folder: \(error.localizedDescription)", path: path)
        }
    }

    /// The names of the complete exports in `path`, in log order.
    static func exports(_ path: String) throws(ArchiveError) -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw ArchiveError(.io, "cannot list the archive folder: \(error.localizedDescription)", path: path)
        }
        return names.filter { ArchiveManifest.range(ofFolder: $0) != nil }.sorted()
    }

    /// Removes exports an interrupted run left unfinished (the caller holds the lock).
    static func removeUnfinished(_ path: String) throws(ArchiveError) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names where name.hasPrefix(unfinishedPrefix) {
            removeTree(path + "/" + name)
        }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes a small file under a temporary name, syncs it and renames it into place.
    static func writeDurably(_ path: String, _ bytes: [UInt8]) throws(ArchiveError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.system("cannot create", path: temporary) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.system("cannot write", path: temporary)
            }
            written += result
        }
        guard fsync(fd) == 0 else { throw ArchiveError.system("cannot sync", path: temporary) }
        try rename(temporary, to: path)
    }

    static func rename(_ from: String, to: String) throws(ArchiveError) {
        guard Glibc.rename(from, to) == 0 else { throw ArchiveError.system("cannot rename to \(to)", path: from) }
    }

    /// Makes a folder's entries (new names, renames) durable.
    static func sync(_ path: String) throws(ArchiveError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.system("cannot open", path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ArchiveError.system("cannot sync", path: path) }
    }

    /// One writer at a time per archive folder: exports and prunes take `.lock` exclusively.
    static func lock(_ path: String) throws(ArchiveError) -> FolderLock {
        let lockPath = path + "/.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.system("cannot open", path: lockPath) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ArchiveError(.refused, "another export or prune is working on this archive folder", path: path)
        }
        return FolderLock(fd: fd)
    }
}

/// A held `flock`; `release` lets it go.
struct FolderLock {
    let fd: Int32
    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
