#if canImport(Glibc)
    import Glibc
#endif

/// An error from the segment store: what went wrong, in which file, at which byte offset, and the
/// operating-system error behind it when there is one.
public struct StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable category. A struct of static members so that new codes do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// A system call failed (see `errno`).
        public static let io = Code(name: "io")
        /// The file system has no space left for a write or a new segment.
        public static let diskFull = Code(name: "diskFull")
        /// The process may not read or write a file of the store.
        public static let permissionDenied = Code(name: "permissionDenied")
        /// Stored bytes fail a check: checksum, chain, sequence, magic or layout.
        public static let corrupted = Code(name: "corrupted")
        /// A segment or checkpoint uses a format version this build does not read.
        public static let unsupportedVersion = Code(name: "unsupportedVersion")
        /// The caller passed something the store cannot take (too many records, bad kind).
        public static let invalidArgument = Code(name: "invalidArgument")
        /// An earlier write failed; the writer stopped and the store must be reopened.
        public static let writerFailed = Code(name: "writerFailed")
        /// Another process holds the store open for writing.
        public static let locked = Code(name: "locked")
    }

    /// The category of the failure.
    public var code: Code
    /// What was being done or what is wrong, in words.
    public var message: String
    /// The file concerned, if any.
    public var path: String?
    /// The byte offset in `path` where the problem is, if known.
    public var offset: Int?
    /// The `errno` value behind an I/O failure, if any.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    public var description: String {
        var text = ""
        if let path { text += path }
        if let offset { text += (text.isEmpty ? "" : " ") + "at offset \(offset)" }
        if !text.isEmpty { text += ": " }
        text += message
        if let errno { text += " (\(String(cString: strerror(errno))), errno \(errno))" }
        return text
    }

    /// Builds an error from the current `errno` of a failed system call, mapping disk-full and
    /// permission failures to their own codes.
    static func system(_ action: String, path: String?, offset: Int? = nil, errno code: Int32 = Glibc.errno)
        -> StorageError
    {
        let category: Code
        switch code {
        case ENOSPC, EDQUOT, EFBIG: category = .diskFull
        case EACCES, EPERM, EROFS: category = .permissionDenied
        default: category = .io
        }
        return StorageError(category, action, path: path, offset: offset, errno: code)
    }
}
