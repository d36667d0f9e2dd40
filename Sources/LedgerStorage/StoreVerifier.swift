import Dispatch
import Synchronization

/// The result of verifying a whole store.
public struct VerificationReport: Sendable {
    public var segmentCount = 0
    public var groups = 0
    public var records = 0
    /// Bytes of segment files read and checked.
    public var bytesVerified = 0
    public var lastSequence: UInt64 = 0
    public var chain: ChainHash = .genesis
    /// Checkpoints that match the log, by their last sequence.
    public var checkpointSequences: [UInt64] = []
    /// An unfinished group at the end of the last segment (a crash, or a write in progress).
    public var tornTail: (path: String, offset: Int, sizeBytes: Int)?
}

/// Verifies every byte of a store without changing it: each segment's records, checksums,
/// groups and chain (segments in parallel, each from the chain hash its header names), then the
/// links between segments and every checkpoint against the log.
public enum StoreVerifier {
    public static func verify(directory: String) throws(StorageError) -> VerificationReport {
        guard Directory.exists(directory) else {
            throw StorageError(.invalidArgument, "no store here (directory does not exist)", path: directory)
        }
        let listing = try StoreListing.read(directory: directory)
        var report = VerificationReport()
        report.segmentCount = listing.segments.count
        let segments = listing.segments
        let results = Mutex([Result<SegmentScan, StorageError>?](repeating: nil, count: segments.count))
        DispatchQueue.concurrentPerform(iterations: segments.count) { index in
            let segment = segments[index]
            segment.adviseSequential()
            let start = LogPosition(segmentFirstSequence: segment.header.firstSequence, offset: Format.segmentHeaderSizeBytes, nextSequence: segment.header.firstSequence, chain: segment.header.startChain)
            let result = Result { () throws(StorageError) in
                try SegmentScanner(segment: segment, isLastSegment: index == segments.count - 1).scan(from: start)
            }
            results.withLock { $0[index] = result }
        }
        let scans = results.withLock { $0 }
        var end: LogPosition?
        var boundaries: [UInt64: LogPosition] = [:]
        for (index, segment) in segments.enumerated() {
            if let end { try Recovery.checkContinuity(segment, after: end) }
            // Safe: concurrentPerform ran every index.
            let scan = try scans[index]!.get()
            report.groups += scan.groups
            report.records += scan.records
            report.bytesVerified += segment.sizeBytes
            if let from = scan.tornFrom, let to = scan.tornTo {
                report.tornTail = (segment.path, from, to - from)
            }
            boundaries[segment.header.firstSequence] = scan.end
            end = scan.end
        }
        report.lastSequence = (end?.nextSequence ?? 1) - 1
        report.chain = end?.chain ?? .genesis
        for path in listing.checkpointPaths {
            let checkpoint = try Checkpoint.read(path: path)
            guard let segment = segments.first(where: { $0.header.firstSequence == checkpoint.position.segmentFirstSequence }),
                  let segmentEnd = boundaries[segment.header.firstSequence],
                  checkpoint.position.offset <= segmentEnd.offset,
                  Recovery.matches(checkpoint, segment)
            else {
                throw StorageError(.corrupted, "checkpoint for sequence \(checkpoint.sequence) does not match a group boundary in the log", path: path, offset: 16)
            }
            report.checkpointSequences.append(checkpoint.sequence)
        }
        return report
    }
}
