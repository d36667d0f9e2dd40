#if canImport(Glibc)
    import Glibc
#endif

/// A POSIX file descriptor with the few operations the store needs, each turning a failure into a
/// `StorageError` that names the file. Closed explicitly or on deinit.
final class FileDescriptor {
    let fd: Int32
    let path: String
    private var isClosed = false

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(StorageError) -> FileDescriptor {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw StorageError.system("cannot open", path: path) }
        return FileDescriptor(fd: fd, path: path)
    }

    /// Writes all of `buffer` at `offset`, retrying short writes and interruptions.
    func writeAll(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws(StorageError) {
        var done = 0
        while done < buffer.count {
            let written = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if written < 0 {
                if errno == EINTR { continue }
                throw StorageError.system("write of \(buffer.count) bytes failed", path: path, offset: offset + done)
            }
            if written == 0 {
                throw StorageError(.diskFull, "write made no progress", path: path, offset: offset + done)
            }
            done += written
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset`; a short file is reported as corruption.
    func readAll(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(StorageError) {
        var done = 0
        while done < buffer.count {
            let count = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError.system("read failed", path: path, offset: offset + done)
            }
            if count == 0 {
                throw StorageError(
                    .corrupted, "file ends after \(offset + done) bytes, expected \(offset + buffer.count)",
                    path: path, offset: offset + done)
            }
            done += count
        }
    }

    /// Makes written data durable (file size and blocks already allocated, so no metadata commit).
    func syncData() throws(StorageError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw StorageError.system("fdatasync failed", path: path)
        }
    }

    /// Makes data and metadata durable (used for new files and directories).
    func syncAll() throws(StorageError) {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw StorageError.system("fsync failed", path: path)
        }
    }

    func sizeBytes() throws(StorageError) -> Int {
        var info = stat()
        if fstat(fd, &info) != 0 { throw StorageError.system("cannot stat", path: path) }
        return Int(info.st_size)
    }

    func close() {
        if !isClosed {
            isClosed = true
            _ = Glibc.close(fd)
        }
    }

    deinit { close() }
}

/// Directory operations: listing, durable renames and removals.
enum Directory {
    static func create(_ path: String) throws(StorageError) {
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) != S_IFDIR {
                throw StorageError(.invalidArgument, "exists and is not a directory", path: path)
            }
            return
        }
        let parent = Path.parent(of: path)
        if parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw StorageError.system("cannot create directory", path: path)
        }
    }

    static func entries(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else { throw StorageError.system("cannot list directory", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// fsync of the directory itself, so that a created, renamed or removed name survives a crash.
    static func sync(_ path: String) throws(StorageError) {
        let handle = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { handle.close() }
        try handle.syncAll()
    }

    static func rename(_ from: String, to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw StorageError.system("cannot rename to \(to)", path: from) }
    }

    static func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0 && errno != ENOENT { throw StorageError.system("cannot remove", path: path) }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}

enum Path {
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for closures that throw `StorageError` (the standard one only rethrows
    /// untyped errors).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        let result: Result<R, StorageError> = withUnsafeBytes { raw in
            Result { () throws(StorageError) in try body(raw) }
        }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for closures that throw `StorageError`.
    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StorageError) -> R)
        throws(StorageError) -> R
    {
        let result: Result<R, StorageError> = withUnsafeMutableBytes { raw in
            Result { () throws(StorageError) in try body(raw) }
        }
        return try result.get()
    }
}
