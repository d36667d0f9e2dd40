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
