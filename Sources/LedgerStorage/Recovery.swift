#if canImport(Glibc)
    import Glibc
#endif

/// What opening a store found and did.
public struct RecoveryReport: Equatable, Sendable {
    /// Segment files in the store.
    public var segmentCount = 0
    /// The checkpoint recovery started from, if any (its last sequence).
    public var checkpointSequence: UInt64?
    /// Checkpoints that were skipped because they were damaged, with the reason.
    public var skippedCheckpoints: [String] = []
    /// Data records verified and replayed after the checkpoint.
    public var replayedRecords = 0
    /// Commit groups verified after the checkpoint.
    public var replayedGroups = 0
    /// Bytes of an unfinished group at the end of the last segment that were zeroed.
    public var truncatedTornBytes = 0
    /// Where the torn tail began, if there was one.
    public var truncatedTornOffset: Int?
    /// The last durable sequence (0 for an empty store).
    public var lastSequence: UInt64 = 0
    /// The chain hash after the last group.
    public var chain: ChainHash = .genesis
}

/// The segments and checkpoints of a store directory, in log order.
struct StoreListing {
    var segments: [MappedSegment]
    var checkpointPaths: [String]  // newest first

    /// Lists and maps every segment, checking names, headers and the index sequence.
    static func read(directory: String) throws(StorageError) -> StoreListing {
        let names = try Directory.entries(directory)
        var segmentNames: [(UInt64, String)] = []
        var checkpointNames: [(UInt64, String)] = []
        for name in names {
            if let sequence = Format.sequence(
                inFileName: name, prefix: Format.segmentPrefix, suffix: Format.segmentSuffix)
            {
                segmentNames.append((sequence, name))
            } else if let sequence = Format.sequence(
                inFileName: name, prefix: Format.checkpointPrefix, suffix: Format.checkpointSuffix)
            {
                checkpointNames.append((sequence, name))
            }
        }
        segmentNames.sort { $0.0 < $1.0 }
        checkpointNames.sort { $0.0 > $1.0 }
        var segments: [MappedSegment] = []
        for (_, name) in segmentNames {
            let segment = try MappedSegment(path: Path.join(directory, name))
            if let previous = segments.last {
                guard segment.header.segmentIndex == previous.header.segmentIndex + 1 else {
                    throw StorageError(
                        .corrupted,
                        "segment index \(segment.header.segmentIndex) follows index "
                            + "\(previous.header.segmentIndex) of \(Path.fileName(of: previous.path)): "
                            + "a segment is missing",
                        path: segment.path, offset: 32)
                }
            } else {
                guard segment.header.segmentIndex == 0, segment.header.firstSequence == 1,
                    segment.header.startChain == .genesis
                else {
                    throw StorageError(
                        .corrupted,
                        "the first segment has index \(segment.header.segmentIndex) and first sequence "
                            + "\(segment.header.firstSequence): earlier segments are missing",
                        path: segment.path, offset: 24)
                }
            }
            segments.append(segment)
        }
        return StoreListing(segments: segments, checkpointPaths: checkpointNames.map { Path.join(directory, $0.1) })
    }
}

/// Recovery on open: verify from the newest usable checkpoint to the end, replaying committed
/// records, and zero an unfinished group at the end of the last segment.
enum Recovery {
    struct Outcome {
        var listing: StoreListing
        var end: LogPosition
        var checkpoint: Checkpoint?
        var report: RecoveryReport
    }

    /// Loads a checkpoint's payload into the layer above; throwing skips to an older checkpoint.
    typealias Restore = (Checkpoint) throws -> Void

    static func run(directory: String, restore: Restore?, replay: SegmentScanner.Visitor?) throws(StorageError)
        -> Outcome
    {
        for name in try Directory.entries(directory) where name.hasSuffix(".tmp") {
            try Directory.remove(Path.join(directory, name))
        }
        let listing = try StoreListing.read(directory: directory)
        var report = RecoveryReport()
        report.segmentCount = listing.segments.count
        guard let first = listing.segments.first else {
            if let path = listing.checkpointPaths.first {
                throw StorageError(
                    .corrupted, "a checkpoint exists but no segment does: the log is missing", path: path)
            }
            let empty = LogPosition(
                segmentFirstSequence: 1, offset: Format.segmentHeaderSizeBytes, nextSequence: 1, chain: .genesis)
            return Outcome(listing: listing, end: empty, checkpoint: nil, report: report)
        }
        let checkpoint = chooseCheckpoint(listing, restore: restore, report: &report)
        var startIndex = 0
        var position = LogPosition(
            segmentFirstSequence: first.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
            nextSequence: first.header.firstSequence, chain: first.header.startChain)
        if let checkpoint,
            let index = listing.segments.firstIndex(where: {
                $0.header.firstSequence == checkpoint.position.segmentFirstSequence
            })
        {
            startIndex = index
            position = checkpoint.position
            report.checkpointSequence = checkpoint.sequence
        }
        for index in startIndex..<listing.segments.count {
            let segment = listing.segments[index]
            if index > startIndex {
                try checkContinuity(segment, after: position)
                position = LogPosition(
                    segmentFirstSequence: segment.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
                    nextSequence: position.nextSequence, chain: position.chain)
            }
            let isLast = index == listing.segments.count - 1
            let scan = try SegmentScanner(segment: segment, isLastSegment: isLast).scan(from: position, visitor: replay)
            position = scan.end
            report.replayedGroups += scan.groups
            report.replayedRecords += scan.records
            if let from = scan.tornFrom, let to = scan.tornTo {
                try zero(path: segment.path, from: from, to: to)
                report.truncatedTornBytes = to - from
                report.truncatedTornOffset = from
            }
        }
        report.lastSequence = position.nextSequence - 1
        report.chain = position.chain
        return Outcome(
            listing: listing, end: position, checkpoint: report.checkpointSequence == nil ? nil : checkpoint,
            report: report)
    }

    /// The newest checkpoint that decodes and names an existing segment; damaged ones are skipped
    /// (recovery then starts further back) and reported.
    private static func chooseCheckpoint(_ listing: StoreListing, restore: Restore?, report: inout RecoveryReport)
        -> Checkpoint?
    {
        for path in listing.checkpointPaths {
            do {
                let checkpoint = try Checkpoint.read(path: path)
                guard
                    let segment = listing.segments.first(where: {
                        $0.header.firstSequence == checkpoint.position.segmentFirstSequence
                    }),
                    checkpoint.position.offset <= segment.sizeBytes
                else {
                    report.skippedCheckpoints.append(
                        "\(path): names segment \(checkpoint.position.segmentFirstSequence), which does not exist")
                    continue
                }
                guard matches(checkpoint, segment) else {
                    report.skippedCheckpoints.append(
                        "\(path): does not match the log at offset \(checkpoint.position.offset) of \(segment.path)")
                    continue
                }
                if let restore {
                    do {
                        try restore(checkpoint)
                    } catch {
                        report.skippedCheckpoints.append("\(path): its state could not be restored: \(error)")
                        continue
                    }
                }
                return checkpoint
            } catch {
                report.skippedCheckpoints.append(error.description)
            }
        }
        return nil
    }

    /// Whether the log really has a group boundary where the checkpoint says: the commit record
    /// just before it (or the segment header) must carry the same sequence and chain hash.
    static func matches(_ checkpoint: Checkpoint, _ segment: MappedSegment) -> Bool {
        let position = checkpoint.position
        if position.offset == Format.segmentHeaderSizeBytes {
            return segment.header.firstSequence == position.nextSequence && segment.header.startChain == position.chain
        }
        let slot = segment.base + position.offset - Format.recordSizeBytes
        guard case .valid(let kind, let sequence) = RecordCodec.inspect(slot), kind == .commit else { return false }
        return sequence == checkpoint.sequence && CommitBody(decoding: slot).chain == position.chain
    }

    /// A segment must start exactly where the previous one ended: next sequence and chain hash.
    static func checkContinuity(_ segment: MappedSegment, after end: LogPosition) throws(StorageError) {
        guard segment.header.firstSequence == end.nextSequence else {
            throw StorageError(
                .corrupted,
                "segment starts at sequence \(segment.header.firstSequence) but the previous segment ends "
                    + "before \(end.nextSequence)",
                path: segment.path, offset: 24)
        }
        guard segment.header.startChain == end.chain else {
            throw StorageError(
                .corrupted,
                "segment continues chain \(segment.header.startChain.hex) but the previous segment ends with "
                    + "\(end.chain.hex)",
                path: segment.path, offset: 40)
        }
    }

    /// Zeroes a torn tail durably, so a later append never sits beside stale records.
    private static func zero(path: String, from: Int, to: Int) throws(StorageError) {
        let file = try FileDescriptor.open(path, flags: O_WRONLY)
        defer { file.close() }
        let zeros = [UInt8](repeating: 0, count: to - from)
        try zeros.withBytes { (raw) throws(StorageError) in try file.writeAll(raw, at: from) }
        try file.syncData()
    }
}
