import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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
    /// An unfinished group at the end of the last segment, left by a crash.
    public var tornTail: (path: String, offset: Int, sizeBytes: Int)?
    /// Another process had the store open for writing: the tail after the last complete group
    /// was being written and was not judged.
    public var writerActive = false
}

/// Verifies every byte of a store without changing it: each segment's records, checksums,
/// groups and chain (segments in parallel, each from the chain hash its header names), then the
/// links between segments and every checkpoint against the log.
public enum StoreVerifier {
    public static func verify(directory: String) throws(StorageError) -> VerificationReport {
        guard Directory.exists(directory) else {
            throw StorageError(
                .invalidArgument, "no ledger store here: \(directory) does not exist", path: directory)
        }
        let writerActive = isOpenForWriting(directory)
        let listing = try StoreListing.read(directory: directory)
        var report = VerificationReport()
        report.writerActive = writerActive
        report.segmentCount = listing.segments.count
        let segments = listing.segments
        let results = Mutex([Result<SegmentScan, StorageError>?](repeating: nil, count: segments.count))
        DispatchQueue.concurrentPerform(iterations: segments.count) { index in
            let segment = segments[index]
            segment.adviseSequential()
            let start = LogPosition(
                segmentFirstSequence: segment.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
                nextSequence: segment.header.firstSequence, chain: segment.header.startChain)
            let result = Result { () throws(StorageError) in
                var scanner = SegmentScanner(segment: segment, isLastSegment: index == segments.count - 1)
                scanner.tailInProgress = writerActive
                return try scanner.scan(from: start)
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
            guard
                let segment = segments.first(where: {
                    $0.header.firstSequence == checkpoint.position.segmentFirstSequence
                }),
                let segmentEnd = boundaries[segment.header.firstSequence],
                checkpoint.position.offset <= segmentEnd.offset,
                Recovery.matches(checkpoint, segment)
            else {
                throw StorageError(
                    .corrupted,
                    "checkpoint for sequence \(checkpoint.sequence) does not match a group boundary in the log",
                    path: path, offset: 16)
            }
            report.checkpointSequences.append(checkpoint.sequence)
        }
        return report
    }
}

/// Whether a writer holds the store's lock (tested with a shared lock, released at once so a
/// writer starting during a check is not refused).
func isOpenForWriting(_ directory: String) -> Bool {
    let path = Path.join(directory, "LOCK")
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if flock(fd, LOCK_SH | LOCK_NB) == 0 {
        flock(fd, LOCK_UN)
        return false
    }
    return errno == EWOULDBLOCK
}
