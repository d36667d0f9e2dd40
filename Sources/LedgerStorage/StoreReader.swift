/// Reads every committed record of a store from the first segment, in order, without changing
/// anything (no torn-tail repair, no lock): for tools, exports and tests that need the whole log
/// rather than what follows a checkpoint.
public enum StoreReader {
    /// Calls `visitor` for each committed data record; damage is an error naming file and offset.
    /// Returns the last committed sequence.
    @discardableResult
    public static func forEachRecord(directory: String, _ visitor: SegmentStore.Replay) throws(StorageError) -> UInt64 {
        let listing = try StoreListing.read(directory: directory)
        guard let first = listing.segments.first else { return 0 }
        var position = LogPosition(
            segmentFirstSequence: first.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
            nextSequence: first.header.firstSequence, chain: first.header.startChain)
        for (index, segment) in listing.segments.enumerated() {
            if index > 0 {
                try Recovery.checkContinuity(segment, after: position)
                position = LogPosition(
                    segmentFirstSequence: segment.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
                    nextSequence: position.nextSequence, chain: position.chain)
            }
            let scanner = SegmentScanner(segment: segment, isLastSegment: index == listing.segments.count - 1)
            let start = position
            let scan: Result<SegmentScan, StorageError> = withoutActuallyEscaping(visitor) { visitor in
                Result { () throws(StorageError) in
                    try scanner.scan(from: start) { kind, sequence, body in
                        try visitor(
                            kind, sequence, UnsafeRawBufferPointer(start: body, count: Format.recordBodySizeBytes))
                    }
                }
            }
            position = try scan.get().end
        }
        return position.nextSequence - 1
    }
}
