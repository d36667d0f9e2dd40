import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a file (`flock`), held until `release` or until the process dies (the
/// kernel drops it then, so a killed worker never leaves a job locked). With the embedded store
/// this is what keeps two runs of one job apart across processes on the machine.
public final class FileLock: Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// The lock, or nil when another holder has it. Creates the file and its directory.
    public static func tryAcquire(_ path: String) throws -> FileLock? {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DatabaseError(
                kind: .other, code: "errno \(errno)",
                message: "cannot open lock file \(path): \(String(cString: strerror(errno)))",
                sql: "")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return FileLock(descriptor: descriptor, path: path)
    }

    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
