#if canImport(Glibc)
    import Glibc
#endif

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

/// Joining and splitting paths, by text.
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
