#if canImport(Glibc)
    import Glibc
#endif

/// A committed group as it lies in its segment, already verified: every record's checksum and
/// sequence, the commit record, and the chain hash from the segment's start.
public struct CommittedGroupView {
    /// Sequence of the group's first data record.
    public let firstSequence: UInt64
    /// Data records in the group (its commit record not counted).
    public let recordCount: Int
    /// Byte offset of the group's first record in its segment file.
    public let offset: Int
    /// The group's data records as on disk, `Format.recordSizeBytes` each; valid only during the
    /// visit.
    public let records: UnsafeRawPointer
    /// The chain hash after the group (the one its commit record carries).
    public let chain: ChainHash

    /// Sequence of the group's last data record.
    public var lastSequence: UInt64 { firstSequence + UInt64(recordCount) - 1 }
    /// Bytes the group takes in its segment, commit record included.
    public var sizeBytes: Int { (recordCount + 1) * Format.recordSizeBytes }
}

/// One segment file of a store, mapped read-only, for tools that read the log whole (archives).
public final class LogSegment: @unchecked Sendable {
    // Safe (@unchecked Sendable): immutable after init; the mapping is read-only.
    let mapped: MappedSegment

    init(_ mapped: MappedSegment) { self.mapped = mapped }

    /// The file's path.
    public var path: String { mapped.path }
    /// The segment's header, validated when the store was listed.
    public var header: SegmentHeader { mapped.header }
    /// The file's size, equal to the header's segment size.
    public var sizeBytes: Int { mapped.sizeBytes }

    /// Verifies the segment's groups from its first record and hands each to `visitor` in log
    /// order; `false` from the visitor stops there. A sealed segment must end in clean zeros; the
    /// last may end in a torn group (ignored); with `tailInProgress` (a writer has the store
    /// open) whatever follows the last complete group is not judged. Returns the position after
    /// the last group visited.
    @discardableResult
    public func forEachGroup(
        isLastSegment: Bool, tailInProgress: Bool, _ visitor: (CommittedGroupView) throws(StorageError) -> Bool
    ) throws(StorageError) -> LogPosition {
        mapped.adviseSequential()
        var scanner = SegmentScanner(segment: mapped, isLastSegment: isLastSegment)
        scanner.tailInProgress = tailInProgress
        let start = LogPosition(
            segmentFirstSequence: header.firstSequence, offset: Format.segmentHeaderSizeBytes,
            nextSequence: header.firstSequence, chain: header.startChain)
        return try withoutActuallyEscaping(visitor) { visitor throws(StorageError) in
            try scanner.scan(from: start, groupVisitor: visitor).end
        }
    }

    /// The segment's bytes from `offset`, `count` long, as on disk (for byte comparisons).
    public func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && count >= 0 && offset + count <= sizeBytes, "range outside the segment")
        return UnsafeRawBufferPointer(start: mapped.base + offset, count: count)
    }
}

/// The segment files of a store as a whole: listing, continuity, durability of what was read.
public enum LogSegments {
    /// The store's segments in log order; names, headers and the index sequence are checked.
    public static func list(directory: String) throws(StorageError) -> [LogSegment] {
        try StoreListing.read(directory: directory).segments.map(LogSegment.init)
    }

    /// The header of the segment file at `path`, validated (its checksum, magic and version).
    public static func header(path: String) throws(StorageError) -> SegmentHeader {
        try MappedSegment(path: path).header
    }

    /// Whether another process holds the store open for writing.
    public static func isOpenForWriting(directory: String) -> Bool {
        LedgerStorage.isOpenForWriting(directory)
    }

    /// Checks that `segment` starts exactly where the previous one ended.
    public static func checkContinuity(_ segment: LogSegment, after end: LogPosition) throws(StorageError) {
        try Recovery.checkContinuity(segment.mapped, after: end)
    }

    /// Makes every byte written to the file so far durable. A reader calls it after finding the
    /// last complete group of a live store, so that what it exports can never be lost by a crash
    /// of the writer's machine before the writer's own sync.
    public static func syncData(path: String) throws(StorageError) {
        let file = try FileDescriptor.open(path, flags: O_RDONLY)
        defer { file.close() }
        try file.syncData()
    }
}

/// Rebuilds log bytes as the writer made them, from data records alone: sequence numbers,
/// checksums, commit records and chain hashes are computed, never taken from input. Archives
/// restore with it. One per thread.
public final class GroupSealer {
    private let hasher = SHA256Hasher()

    public init() {}

    /// The 4096-byte header page of a segment.
    public static func headerPage(_ header: SegmentHeader) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: Format.segmentHeaderSizeBytes)
        page.withUnsafeMutableBytes { header.encode(into: $0.baseAddress!) }
        return page
    }

    /// Completes a group in place: `records` holds `count` data records whose kind byte (at 4)
    /// and body (at 16) are set; their other bytes are overwritten, and the commit record is
    /// written in the slot after them. Returns the chain hash after the group.
    public func sealGroup(
        _ records: UnsafeMutableRawPointer, count: Int, firstSequence: UInt64, after chain: ChainHash
    ) -> ChainHash {
        precondition(count > 0 && count <= Format.maximumGroupRecords, "a group holds 1...65,536 records")
        RecordCodec.seal(records: records, count: count, firstSequence: firstSequence)
        let next = hasher.chain(after: chain, firstSequence: firstSequence, records: records, count: count)
        CommitBody(firstSequence: firstSequence, recordCount: UInt32(count), chain: next)
            .encode(into: records + count * Format.recordSizeBytes, lastSequence: firstSequence + UInt64(count) - 1)
        return next
    }
}
