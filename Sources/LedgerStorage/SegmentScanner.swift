/// A point in the log between two commit groups: where the next record goes and what it continues.
public struct LogPosition: Equatable, Sendable {
    /// First sequence of the segment file holding this position.
    public var segmentFirstSequence: UInt64
    /// Byte offset in that segment where the next record would be written.
    public var offset: Int
    /// The sequence number the next data record gets.
    public var nextSequence: UInt64
    /// The chain hash after the last group before this position.
    public var chain: ChainHash

    public init(segmentFirstSequence: UInt64, offset: Int, nextSequence: UInt64, chain: ChainHash) {
        self.segmentFirstSequence = segmentFirstSequence
        self.offset = offset
        self.nextSequence = nextSequence
        self.chain = chain
    }
}

/// What one pass over a segment found.
struct SegmentScan {
    /// The position after the last complete, verified group.
    var end: LogPosition
    var groups = 0
    var records = 0
    /// A torn tail: bytes from `tornFrom` up to `tornTo` hold an unfinished group (last segment only).
    var tornFrom: Int?
    var tornTo: Int?
}

/// Verifies the records of one segment: every checksum, the sequence continuity, every commit
/// record against its group, and the hash chain. Damage is an error naming the file and offset.
struct SegmentScanner {
    /// Called for every data record of a verified group, in order.
    typealias Visitor = (_ kind: RecordKind, _ sequence: UInt64, _ body: UnsafeRawPointer) throws -> Void

    let segment: MappedSegment
    /// A last segment may end in a torn group; a sealed one may not.
    let isLastSegment: Bool
    /// The store is open for writing elsewhere: the last segment's tail may be mid-write, so
    /// whatever follows its last complete group is reported as in progress, not judged.
    var tailInProgress = false
    let hasher = SHA256Hasher()

    /// Called for every verified group with its records in place; `false` stops the scan there.
    typealias GroupVisitor = (CommittedGroupView) throws(StorageError) -> Bool

    func scan(from start: LogPosition, visitor: Visitor? = nil, groupVisitor: GroupVisitor? = nil)
        throws(StorageError) -> SegmentScan
    {
        precondition(start.offset >= Format.segmentHeaderSizeBytes && start.offset % Format.recordSizeBytes == 0)
        var result = SegmentScan(end: start)
        var offset = start.offset
        var groupStart = offset
        var expected = start.nextSequence
        var groupCount = 0
        let limit = segment.sizeBytes - Format.recordSizeBytes
        while offset <= limit {
            let slot = segment.base + offset
            switch RecordCodec.inspect(slot) {
            case .empty:
                return try finish(result, groupStart: groupStart, stoppedAt: offset, groupCount: groupCount)
            case .checksumMismatch, .malformed:
                if isLastSegment && tailInProgress {
                    return try finish(result, groupStart: groupStart, stoppedAt: offset, groupCount: groupCount)
                }
                throw damage(slotDamage(slot), at: offset)
            case .valid(let kind, let sequence) where kind == .commit:
                let firstOfGroup = expected - UInt64(groupCount)
                try checkCommit(
                    slot, at: offset, firstOfGroup: firstOfGroup, groupCount: groupCount, sequence: sequence)
                let commit = CommitBody(decoding: slot)
                let chain = hasher.chain(
                    after: result.end.chain, firstSequence: firstOfGroup, records: segment.base + groupStart,
                    count: groupCount)
                guard chain == commit.chain else {
                    throw damage(
                        "chain hash mismatch for group \(firstOfGroup)...\(sequence) (stored "
                            + "\(commit.chain.hex), computed \(chain.hex))",
                        at: offset + 32)
                }
                if let visitor {
                    for index in 0..<groupCount {
                        let record = segment.base + groupStart + index * Format.recordSizeBytes
                        do {
                            try visitor(
                                RecordKind(rawValue: record.load(fromByteOffset: 4, as: UInt8.self)),
                                firstOfGroup + UInt64(index), record + Format.recordBodyOffset)
                        } catch let error as StorageError {
                            throw error
                        } catch {
                            throw StorageError(
                                .invalidArgument, "replay of sequence \(firstOfGroup + UInt64(index)) failed: \(error)",
                                path: segment.path, offset: groupStart + index * Format.recordSizeBytes)
                        }
                    }
                }
                offset += Format.recordSizeBytes
                result.groups += 1
                result.records += groupCount
                result.end = LogPosition(
                    segmentFirstSequence: segment.header.firstSequence, offset: offset, nextSequence: expected,
                    chain: chain)
                if let groupVisitor {
                    let view = CommittedGroupView(
                        firstSequence: firstOfGroup, recordCount: groupCount, offset: groupStart,
                        records: segment.base + groupStart, chain: chain)
                    if try !groupVisitor(view) { return result }
                }
                groupStart = offset
                groupCount = 0
            case .valid(let kind, let sequence):
                guard kind.isData else {
                    throw damage(
                        "record kind \(kind.rawValue) is reserved for storage and unknown to this version",
                        at: offset + 4)
                }
                guard sequence == expected else {
                    throw damage("sequence gap: expected \(expected), found \(sequence)", at: offset + 8)
                }
                guard groupCount < Format.maximumGroupRecords else {
                    throw damage(
                        "group exceeds \(Format.maximumGroupRecords) records without a commit record", at: offset)
                }
                groupCount += 1
                expected += 1
                offset += Format.recordSizeBytes
            }
        }
        return try finish(result, groupStart: groupStart, stoppedAt: offset, groupCount: groupCount)
    }

    private func checkCommit(
        _ slot: UnsafeRawPointer, at offset: Int, firstOfGroup: UInt64, groupCount: Int, sequence: UInt64
    ) throws(StorageError) {
        guard groupCount > 0 else { throw damage("commit record closes an empty group", at: offset) }
        let commit = CommitBody(decoding: slot)
        guard CommitBody.reservedAreZero(slot) else {
            throw damage("commit record reserved bytes are not zero", at: offset)
        }
        guard commit.firstSequence == firstOfGroup, commit.recordCount == groupCount,
            sequence == firstOfGroup + UInt64(groupCount) - 1
        else {
            throw damage(
                "commit record declares \(commit.recordCount) records from sequence \(commit.firstSequence) "
                    + "ending at \(sequence), but its group holds \(groupCount) from \(firstOfGroup)",
                at: offset)
        }
    }

    /// Decides what the space after the last complete group is: clean zeros, a torn tail (last
    /// segment only), or damage.
    private func finish(_ partial: SegmentScan, groupStart: Int, stoppedAt: Int, groupCount: Int) throws(StorageError)
        -> SegmentScan
    {
        var result = partial
        if isLastSegment && tailInProgress { return result }
        // Everything from the start of the unfinished group to the end of the file: empty slots, or
        // whole records a crash left behind.
        var offset = stoppedAt
        var lastNonEmpty: Int? = groupCount > 0 ? stoppedAt - Format.recordSizeBytes : nil
        let limit = segment.sizeBytes - Format.recordSizeBytes
        while offset <= limit {
            let slot = segment.base + offset
            if !RecordCodec.isZero(slot, count: Format.recordSizeBytes) {
                switch RecordCodec.inspect(slot) {
                case .checksumMismatch(let stored, let computed):
                    throw damage(RecordCodec.checksumText(stored: stored, computed: computed), at: offset)
                case .malformed(let reason):
                    throw damage(reason, at: offset)
                case .valid(let kind, _) where kind == .commit:
                    // A later group can only reach the disk after every earlier group was made
                    // durable, so a committed group behind a hole means the hole is damage.
                    if CommitBody(decoding: slot).firstSequence > result.end.nextSequence {
                        throw damage(
                            "a commit group follows missing records at offset \(groupStart): committed data was lost",
                            at: groupStart)
                    }
                case .valid, .empty:
                    break
                }
                lastNonEmpty = offset
            }
            offset += Format.recordSizeBytes
        }
        guard let lastNonEmpty else { return result }
        guard isLastSegment else {
            throw damage("sealed segment holds records after its last complete group", at: groupStart)
        }
        result.tornFrom = groupStart
        result.tornTo = lastNonEmpty + Format.recordSizeBytes
        return result
    }

    private func slotDamage(_ slot: UnsafeRawPointer) -> String {
        switch RecordCodec.inspect(slot) {
        case .checksumMismatch(let stored, let computed):
            return RecordCodec.checksumText(stored: stored, computed: computed)
        case .malformed(let reason): return reason
        case .empty, .valid: return "record changed while being read"
        }
    }

    private func damage(_ what: String, at offset: Int) -> StorageError {
        var message = what
        if offset >= Format.segmentHeaderSizeBytes {
            message += " (record slot \((offset - Format.segmentHeaderSizeBytes) / Format.recordSizeBytes))"
        }
        return StorageError(.corrupted, message, path: segment.path, offset: offset)
    }
}
