import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Random access to committed records by sequence number, from any thread and without locks on
/// the read path: the layer above keeps only a record's sequence number in memory and reads the
/// rest back from the mapped log when it needs it.
///
/// Segments are mapped read-only as they are found in the directory (at open, and again whenever
/// a lookup asks for a sequence beyond the mapped ones: a segment the writer has since started).
/// Mapped segments are published through a fixed directory of pointers and an atomic count, and
/// stay mapped until the reader is released. A record is found by binary search over the
/// segment's slots (sequences increase; a commit record carries its group's last sequence, and
/// never-written slots are zero).
public final class LogReader: @unchecked Sendable {
    // Safe (@unchecked Sendable): directory entries are written only under `refreshing`, before
    // the release store of the count that publishes them; readers load the count with acquire
    // and read only entries below it, which never change again.
    private static let maximumSegments = 1 << 20

    private let directory: String
    /// Retained `MappedSegment`s, in log order; the first `count` are published.
    private let segments: UnsafeMutablePointer<Unmanaged<MappedSegment>?>
    private let firstSequences: UnsafeMutablePointer<UInt64>
    private let count = Atomic<Int>(0)
    /// Serialises refreshes (the rare path); reads never take it.
    private let refreshing = Mutex<Void>(())

    public init(directory: String) {
        self.directory = directory
        // Safe: calloc fails only when memory is exhausted, where the process cannot go on.
        guard let pointers = calloc(Self.maximumSegments, MemoryLayout<Unmanaged<MappedSegment>?>.stride),
            let sequences = calloc(Self.maximumSegments, MemoryLayout<UInt64>.stride)
        else { fatalError("cannot allocate a segment directory") }
        segments = pointers.bindMemory(to: Unmanaged<MappedSegment>?.self, capacity: Self.maximumSegments)
        firstSequences = sequences.bindMemory(to: UInt64.self, capacity: Self.maximumSegments)
    }

    deinit {
        for index in 0..<count.load(ordering: .acquiring) { segments[index]?.release() }
        free(segments)
        free(firstSequences)
    }

    /// What reading a record back found.
    public enum Read {
        /// The record's kind and 112-byte body, its checksum verified. The memory stays valid
        /// while the reader lives.
        case found(kind: RecordKind, body: UnsafeRawPointer)
        /// The log does not hold the sequence (yet).
        case missing
        /// The slot that should hold it fails its checksum: the bytes must not be used.
        case damaged(LogDamage)
    }

    /// The data record `sequence`, verified against its CRC-32C before anything of it is used: a
    /// bit flipped on disk since it was written is `damaged`, with the file and offset, and is
    /// remembered in `damage`.
    public func read(sequence: UInt64) -> Read {
        var read = locate(sequence)
        if case .missing = read {
            refresh()
            read = locate(sequence)
        }
        guard case .damaged(let damage) = read else { return read }
        damaged.withLock { $0[sequence] = damage }
        return read
    }

    /// The kind and body of the data record `sequence`, or nil when the log does not hold it or
    /// the record is damaged (see `read(sequence:)`).
    public func record(sequence: UInt64) -> (kind: RecordKind, body: UnsafeRawPointer)? {
        guard case .found(let kind, let body) = read(sequence: sequence) else { return nil }
        return (kind, body)
    }

    /// How a `scan` ended.
    public enum ScanEnd: Equatable {
        /// Every record up to `through` was visited, or the visitor stopped the scan.
        case completed
        /// The log does not hold this sequence (yet).
        case missing(UInt64)
        /// The slot that should hold this record fails its checksum; see `read(sequence:)`.
        case damaged(LogDamage)
    }

    /// Visits the data records after `after` up to `through`, in sequence order, each verified
    /// against its CRC-32C first, until `visit` answers false. A search finds the first record of
    /// each segment; the records after it are the next slots (commit records between them are
    /// stepped over), so a long read costs a checksum per record rather than a search. Any slot
    /// that is not the record expected there (a damaged one, a segment's end) is looked up by
    /// `read(sequence:)`, which says what is wrong with it.
    public func scan(
        after: UInt64, through: UInt64, _ visit: (UInt64, RecordKind, UnsafeRawPointer) -> Bool
    ) -> ScanEnd {
        var next = after &+ 1
        while next <= through {
            let body: UnsafeRawPointer
            switch read(sequence: next) {
            case .found(let kind, let found):
                guard visit(next, kind, found) else { return .completed }
                body = found
            case .missing: return .missing(next)
            case .damaged(let damage): return .damaged(damage)
            }
            next += 1
            guard let segment = segment(holding: next - 1) else { continue }
            let end = segment.base + segment.sizeBytes
            var slot = body - Format.recordBodyOffset + Format.recordSizeBytes
            while next <= through, slot + Format.recordSizeBytes <= end {
                let kind = slot.load(fromByteOffset: 4, as: UInt8.self)
                if kind == 0 { break }
                if kind < RecordKind.firstDataKind {
                    slot += Format.recordSizeBytes
                    continue
                }
                guard slot.loadLE(at: 8, as: UInt64.self) == next,
                    slot.loadLE(at: 0, as: UInt32.self) == CRC32C.checksum(slot + 4, count: Format.recordSizeBytes - 4)
                else { break }
                guard visit(next, RecordKind(rawValue: kind), slot + Format.recordBodyOffset) else { return .completed }
                next += 1
                slot += Format.recordSizeBytes
            }
        }
        return .completed
    }

    /// The index of the mapped segment that holds `sequence` if any does (the last one starting
    /// at or before it), and how many segments were published when it was found.
    private func segmentIndex(holding sequence: UInt64) -> (index: Int, published: Int)? {
        let published = count.load(ordering: .acquiring)
        guard published > 0, sequence >= firstSequences[0] else { return nil }
        var low = 0
        var high = published
        while high - low > 1 {
            let middle = (low + high) / 2
            if firstSequences[middle] <= sequence { low = middle } else { high = middle }
        }
        return (low, published)
    }

    /// The mapped segment that holds `sequence` if any does.
    private func segment(holding sequence: UInt64) -> MappedSegment? {
        // Safe: published entries are set before the count that covers them.
        segmentIndex(holding: sequence).map { segments[$0.index]!.takeUnretainedValue() }
    }

    /// Every damaged record a read has found so far, by sequence.
    public var damage: [LogDamage] { damaged.withLock { $0.sorted { $0.key < $1.key }.map(\.value) } }

    private let damaged = Mutex<[UInt64: LogDamage]>([:])

    private func locate(_ sequence: UInt64) -> Read {
        guard let (low, published) = segmentIndex(holding: sequence) else { return .missing }
        // Safe: published entries are set before the count that covers them.
        let segment = segments[low]!.takeUnretainedValue()
        guard let body = Self.find(sequence, in: segment) else {
            // A sequence inside a later segment's range that is not found was lost to damage
            // (a flipped sequence field misleads the search): look for the damaged slot.
            let bounded = low + 1 < published && sequence < firstSequences[low + 1]
            return bounded ? Self.damagedSlot(in: segment, near: sequence) ?? .missing : .missing
        }
        let slot = body - Format.recordBodyOffset
        let stored = slot.loadLE(at: 0, as: UInt32.self)
        let computed = CRC32C.checksum(slot + 4, count: Format.recordSizeBytes - 4)
        guard stored == computed else {
            return .damaged(
                LogDamage(
                    path: segment.path, offset: slot - segment.base, sequence: sequence,
                    reason: RecordCodec.checksumText(stored: stored, computed: computed)))
        }
        return .found(kind: RecordKind(rawValue: slot.load(fromByteOffset: 4, as: UInt8.self)), body: body)
    }

    /// The first slot of `segment` that fails its checksum, reported against `sequence`: the
    /// rare path after a search went wrong.
    static func damagedSlot(in segment: MappedSegment, near sequence: UInt64) -> Read? {
        var offset = Format.segmentHeaderSizeBytes
        while offset + Format.recordSizeBytes <= segment.sizeBytes {
            switch RecordCodec.inspect(segment.base + offset) {
            case .empty: return nil
            case .valid: break
            case .checksumMismatch(let stored, let computed):
                return .damaged(
                    LogDamage(
                        path: segment.path, offset: offset, sequence: sequence,
                        reason: RecordCodec.checksumText(stored: stored, computed: computed)))
            case .malformed(let reason):
                return .damaged(LogDamage(path: segment.path, offset: offset, sequence: sequence, reason: reason))
            }
            offset += Format.recordSizeBytes
        }
        return nil
    }

    /// The slot holding data record `sequence` in `segment`, by binary search.
    static func find(_ sequence: UInt64, in segment: MappedSegment) -> UnsafeRawPointer? {
        let base = segment.base + Format.segmentHeaderSizeBytes
        let slots = (segment.sizeBytes - Format.segmentHeaderSizeBytes) / Format.recordSizeBytes
        func slotSequence(_ index: Int) -> UInt64 {
            let slot = base + index * Format.recordSizeBytes
            // A zero kind is a slot never written: after every record.
            return slot.load(fromByteOffset: 4, as: UInt8.self) == 0 ? .max : slot.loadLE(at: 8, as: UInt64.self)
        }
        // The first slot whose sequence is at least `sequence`: the data record comes before the
        // commit record that repeats its sequence.
        var low = 0
        var high = slots
        while low < high {
            let middle = (low + high) / 2
            if slotSequence(middle) < sequence { low = middle + 1 } else { high = middle }
        }
        guard low < slots else { return nil }
        let slot = base + low * Format.recordSizeBytes
        let kind = slot.load(fromByteOffset: 4, as: UInt8.self)
        guard kind >= RecordKind.firstDataKind, slot.loadLE(at: 8, as: UInt64.self) == sequence else { return nil }
        return slot + Format.recordBodyOffset
    }

    /// Maps segments that appeared since the last refresh.
    public func refresh() {
        refreshing.withLock { _ in
            let published = count.load(ordering: .acquiring)
            let known = published > 0 ? firstSequences[published - 1] : 0
            guard let names = try? Directory.entries(directory) else { return }
            let found = names.compactMap { name in
                Format.sequence(inFileName: name, prefix: Format.segmentPrefix, suffix: Format.segmentSuffix)
            }
            var added = published
            for first in found.sorted() where published == 0 || first > known {
                guard added < Self.maximumSegments,
                    let segment = try? MappedSegment(
                        path: Path.join(directory, Format.segmentFileName(firstSequence: first)))
                else { break }
                segments[added] = Unmanaged.passRetained(segment)
                firstSequences[added] = first
                added += 1
            }
            count.store(added, ordering: .releasing)
        }
    }
}

/// A record read back from the log that failed verification: where it is and what is wrong.
public struct LogDamage: Error, Sendable, Equatable, CustomStringConvertible {
    /// The segment file.
    public let path: String
    /// The byte offset of the record's slot in the file.
    public let offset: Int
    /// The sequence that was being read; nil for damage a scrub found.
    public let sequence: UInt64?
    public let reason: String

    public init(path: String, offset: Int, sequence: UInt64?, reason: String) {
        self.path = path
        self.offset = offset
        self.sequence = sequence
        self.reason = reason
    }

    public var description: String {
        "\(path) at byte \(offset)\(sequence.map { " (sequence \($0))" } ?? ""): \(reason)"
    }

    /// The segment's file name and the offset, without the data directory's path.
    public var shortLocation: String {
        "\(path.split(separator: "/").last.map(String.init) ?? path) at byte \(offset)"
    }
}
