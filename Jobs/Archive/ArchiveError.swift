/// Why an archive operation stopped: what, in which file, at which offset. Damage (a hash, a
/// checksum, the chain, a malformed manifest) is told apart from refusals (a non-empty restore
/// target, a range not covered) and from the system's errors, because the exit status differs.
public struct ArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable category.
    public enum Kind: String, Sendable, Equatable {
        /// Archive bytes fail a check.
        case damaged
        /// The request cannot be done as asked; nothing was changed.
        case refused
        /// A file could not be read or written.
        case io
    }

    public var kind: Kind
    public var message: String
    /// The file concerned, if any.
    public var path: String?
    /// The byte offset in `path`, if known; for a compressed file, in its compressed bytes
    /// unless the message says the decompressed stream.
    public var offset: Int?

    public init(_ kind: Kind, _ message: String, path: String? = nil, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
        self.offset = offset
    }

    public var description: String {
        var text = message
        if let path { text += " (\(path)" + (offset.map { " at offset \($0)" } ?? "") + ")" }
        return text
    }
}

/// Damage found inside a decompressed stream; the reader adds the file and offset.
struct ArchiveDamage: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws `ArchiveError` (the standard one rethrows untyped).
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(ArchiveError) -> Result) throws(ArchiveError)
        -> Result
    {
        var outcome: Swift.Result<Result, ArchiveError>?
        withUnsafeBytes { raw in outcome = Swift.Result { () throws(ArchiveError) in try body(raw) } }
        // Safe: withUnsafeBytes runs its closure exactly once.
        return try outcome!.get()
    }
}
