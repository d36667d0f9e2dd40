import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The append-only log of the ledger: fixed-size segment files of 128-byte records with
/// checksums, a SHA-256 chain over commit groups, group commit and recovery on open.
///
/// One process opens a store for writing at a time (a lock file enforces it). Appends come from
/// one thread at a time: `beginGroup`, fill, `commit`. Completions run on the store's I/O thread.
public final class SegmentStore: @unchecked Sendable {
    // Safe (@unchecked Sendable): immutable fields plus the writer, whose producer side is used by
    // one thread at a time as documented above, and `segments`, behind a Mutex.

    /// Called for each committed data record during recovery, after the checkpoint, in order.
    public typealias Replay = (_ kind: RecordKind, _ sequence: UInt64, _ body: UnsafeRawBufferPointer) throws -> Void

    /// The `ledger` directory holding segments and checkpoints.
    public let directory: String
    /// What recovery found and did when the store was opened.
    public let recovery: RecoveryReport
    /// The checkpoint recovery started from; its payload is the state to replay on top of.
    public let checkpoint: Checkpoint?
    public let configuration: StoreConfiguration

    private let writer: GroupCommitWriter
    private let lockFile: FileDescriptor
    private let segments: SegmentList
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the store in `directory`, recovers it, hands the newest usable
    /// checkpoint to `restore` (a throw there skips to an older one), and calls `replay` for
    /// every committed record after it.
    public static func open(
        directory: String, configuration: StoreConfiguration = StoreConfiguration(), replay: Replay? = nil,
        restore: ((Checkpoint) throws -> Void)? = nil
    ) throws(StorageError) -> SegmentStore {
        try configuration.validate()
        try Directory.create(directory)
        let lockFile = try FileDescriptor.open(Path.join(directory, "LOCK"), flags: O_RDWR | O_CREAT)
        if flock(lockFile.fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK {
                throw StorageError(.locked, "the store is open in another process", path: lockFile.path)
            }
            throw StorageError.system("cannot lock the store", path: lockFile.path, errno: code)
        }
        let visitor: SegmentScanner.Visitor? = replay.map { replay in
            { kind, sequence, body in
                try replay(kind, sequence, UnsafeRawBufferPointer(start: body, count: Format.recordBodySizeBytes))
            }
        }
        let outcome = try Recovery.run(directory: directory, restore: restore, replay: visitor)
        return try SegmentStore(
            directory: directory, configuration: configuration, lockFile: lockFile, outcome: outcome)
    }

    private init(
        directory: String, configuration: StoreConfiguration, lockFile: FileDescriptor, outcome: Recovery.Outcome
    ) throws(StorageError) {
        self.directory = directory
        self.configuration = configuration
        self.lockFile = lockFile
        self.recovery = outcome.report
        self.checkpoint = outcome.checkpoint
        let segments = SegmentList(outcome.listing.segments)
        self.segments = segments
        writer = try GroupCommitWriter(
            directory: directory, configuration: configuration, end: outcome.end,
            lastSegment: outcome.listing.segments.last?.header
        ) { path in
            // A new segment was just made durable; map it for readers. A failure to map only
            // affects reads of that segment and is reported when they happen.
            if let segment = try? MappedSegment(path: path) { segments.mapped.withLock { $0.append(segment) } }
        }
    }

    /// The last durable sequence number; 0 for an empty store. Lock-free.
    public var committedSequence: UInt64 { writer.committedSequence.load(ordering: .acquiring) }

    /// The position after the last durable group.
    public var durablePosition: LogPosition { writer.durable }

    /// The most data records one group can take.
    public var groupCapacityRecords: Int { configuration.groupCapacityRecords }

    /// A buffer to fill with one group's records; waits while every buffer is being written.
    public func beginGroup() -> GroupBuffer { writer.beginGroup() }

    /// Seals and queues a filled buffer. `completion` runs on the I/O thread once the group is
    /// durable (or the write failed); only then may the caller acknowledge its records.
    public func commit(
        _ buffer: GroupBuffer, completion: @escaping @Sendable (Result<CommittedGroup, StorageError>) -> Void
    ) {
        precondition(!closed.load(ordering: .relaxed), "commit on a closed store")
        writer.commit(buffer, completion: completion)
    }

    /// Commits a filled buffer and returns once it is durable.
    public func commitAndWait(_ buffer: GroupBuffer) throws(StorageError) -> CommittedGroup {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<CommittedGroup, StorageError>?>(nil)
        commit(buffer) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        // Safe: the completion stored a result before signalling.
        return try outcome.withLock { $0! }.get()
    }

    /// Appends records as one durable group (copying each 112-byte body) and returns once durable.
    public func append(_ records: [(kind: RecordKind, body: [UInt8])]) throws(StorageError) -> CommittedGroup {
        guard !records.isEmpty, records.count <= groupCapacityRecords else {
            throw StorageError(
                .invalidArgument, "a group holds 1...\(groupCapacityRecords) records, got \(records.count)")
        }
        for record in records where !record.kind.isData || record.body.count != Format.recordBodySizeBytes {
            throw StorageError(
                .invalidArgument,
                "record kind must be \(RecordKind.firstDataKind)...255 with a "
                    + "\(Format.recordBodySizeBytes)-byte body, got kind \(record.kind.rawValue) "
                    + "with \(record.body.count) bytes"
            )
        }
        let buffer = beginGroup()
        for record in records {
            record.body.withUnsafeBytes { buffer.append(kind: record.kind, body: $0) }
        }
        return try commitAndWait(buffer)
    }

    /// Writes a checkpoint of the layer above's state at the durable position. The caller must
    /// have no group in flight, and `payload` must reflect exactly the records up to
    /// `durablePosition`. Older checkpoints beyond `checkpointsKept` are removed afterwards.
    @discardableResult
    public func writeCheckpoint(payload: [UInt8]) throws(StorageError) -> Checkpoint {
        try writeCheckpoint(payload: payload, at: writer.durable)
    }

    /// Writes a checkpoint whose payload reflects exactly the log up to `position` (a durable
    /// position taken earlier, e.g. while the caller made the payload). Safe from a thread other
    /// than the committing one, as long as only one checkpoint is written at a time.
    @discardableResult
    public func writeCheckpoint(payload: [UInt8], at position: LogPosition) throws(StorageError) -> Checkpoint {
        guard position.nextSequence > 1 else {
            throw StorageError(.invalidArgument, "nothing to checkpoint: the log is empty", path: directory)
        }
        let checkpoint = Checkpoint(position: position, payload: payload)
        try checkpoint.write(directory: directory)
        let listing = try Directory.entries(directory).filter {
            Format.sequence(inFileName: $0, prefix: Format.checkpointPrefix, suffix: Format.checkpointSuffix) != nil
        }
        let stale = listing.sorted().reversed().dropFirst(configuration.checkpointsKept)
        for name in stale {
            try Directory.remove(Path.join(directory, name))
        }
        if !stale.isEmpty { try Directory.sync(directory) }
        return checkpoint
    }

    /// Creates `count` spare segments now, so that segment rolls during a measurement only write
    /// a header. Spares not used are removed on close.
    public func reserveSegments(_ count: Int) throws(StorageError) { try writer.reserveSegments(count) }

    /// The error that stopped the writer, if a write or sync failed.
    public var writerFailure: StorageError? { writer.stoppedBy }

    /// Number of segment files, including any created since open.
    public var segmentCount: Int { segments.mapped.withLock { $0.count } }

    /// Waits for queued groups, stops the writer's threads and releases the lock.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.close()
        lockFile.close()
    }

    deinit { close() }
}

/// The mapped segments, shared between the store and the writer's I/O thread.
final class SegmentList: Sendable {
    let mapped: Mutex<[MappedSegment]>
    init(_ segments: [MappedSegment]) { mapped = Mutex(segments) }
}
