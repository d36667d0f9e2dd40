/// Verifies the sealed segments of a store while its writer runs: every record's checksum, every
/// group against its commit record, the hash chain through each segment and across their
/// boundaries. Records before the newest checkpoint are not read at open, and most are never read
/// again, so a bit that rots in them would otherwise go unnoticed until the day it is needed.
///
/// The newest segment (the one being written) is left out: recovery and the writer own it. One
/// segment is mapped at a time, so a pass can be paced between segments (`afterEach`).
public enum SegmentScrub {
    /// What one pass found.
    public struct Pass: Sendable {
        /// Sealed segments verified (damaged ones included).
        public var segments = 0
        public var records = 0
        /// Bytes of segment files read.
        public var bytes = 0
        /// Every problem found, each with its file and byte offset.
        public var damage: [StorageError] = []
        /// False when `afterEach` stopped the pass early.
        public var completed = true

        public init() {}
    }

    /// Verifies every sealed segment of the store in `directory` once, in log order. After each
    /// segment `afterEach` is called with the bytes just read; it may pause (to pace the pass)
    /// and returns false to stop. A damaged segment is reported and the pass goes on.
    public static func pass(directory: String, afterEach: (Int) -> Bool) -> Pass {
        var pass = Pass()
        let sealed: [(UInt64, String)]
        do {
            sealed = try sealedSegments(directory)
        } catch {
            pass.damage.append(error)
            return pass
        }
        var previousEnd: LogPosition?
        for (_, path) in sealed {
            var bytes = 0
            do throws(StorageError) {
                let segment = try MappedSegment(path: path)
                bytes = segment.sizeBytes
                segment.adviseSequential()
                if let previousEnd { try Recovery.checkContinuity(segment, after: previousEnd) }
                let start = LogPosition(
                    segmentFirstSequence: segment.header.firstSequence, offset: Format.segmentHeaderSizeBytes,
                    nextSequence: segment.header.firstSequence, chain: segment.header.startChain)
                let scanner = SegmentScanner(segment: segment, isLastSegment: false)
                let scan = try scanner.scan(from: start)
                pass.records += scan.records
                previousEnd = scan.end
            } catch {
                pass.damage.append(error)
                // Without a trusted end, the next segment's link cannot be checked; its own
                // records still are.
                previousEnd = nil
            }
            pass.segments += 1
            pass.bytes += bytes
            guard afterEach(bytes) else {
                pass.completed = false
                break
            }
        }
        return pass
    }

    /// Every segment but the newest, by first sequence.
    static func sealedSegments(_ directory: String) throws(StorageError) -> [(UInt64, String)] {
        var found: [(UInt64, String)] = []
        for name in try Directory.entries(directory) {
            if let first = Format.sequence(inFileName: name, prefix: Format.segmentPrefix, suffix: Format.segmentSuffix)
            {
                found.append((first, Path.join(directory, name)))
            }
        }
        found.sort { $0.0 < $1.0 }
        return Array(found.dropLast())
    }
}
