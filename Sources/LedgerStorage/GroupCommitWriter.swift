import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The durable result of one commit group.
public struct CommittedGroup: Equatable, Sendable {
    /// Sequence of the group's first data record.
    public var firstSequence: UInt64
    /// Sequence of the group's last data record: the store's committed sequence once durable.
    public var lastSequence: UInt64
    /// The chain hash after the group.
    public var chain: ChainHash
}

/// Group commit: the caller fills a buffer and commits it; checksums, sequence numbers and the
/// chain hash are computed on the caller's thread, then a dedicated I/O thread writes the group
/// with one `pwrite` and makes it durable with one `fdatasync` before completing it. With two or
/// more buffers, the caller prepares group k+1 while group k is being synced.
final class GroupCommitWriter: @unchecked Sendable {
    // Safe (@unchecked Sendable): `producer` is touched only by the one thread that calls
    // `beginGroup`/`commit` (a documented rule of SegmentStore); `io` only by the I/O thread;
    // everything shared between them is behind Mutex, Atomic or a semaphore.

    typealias Completion = @Sendable (Result<CommittedGroup, StorageError>) -> Void

    private struct Job: @unchecked Sendable {
        // Safe: a job is created by the producer and handed to the I/O thread through the queue.
        var buffer: GroupBuffer
        var recordCount: Int
        var offset: Int
        var newSegment: SegmentHeader?
        var group: CommittedGroup
        var endPosition: LogPosition
        var completion: Completion
    }

    /// Placement state, owned by the producer thread.
    private struct Producer {
        var position: LogPosition
        var segmentIndex: UInt64
        var hasSegment: Bool
    }

    let directory: String
    let configuration: StoreConfiguration
    private let allocator: SegmentAllocator
    private let hasher = SHA256Hasher()
    private var producer: Producer

    private let freeBuffers: Mutex<[GroupBuffer]>
    private let freeBufferCount: DispatchSemaphore
    private let jobs = Mutex<[Job?]>([])
    private let jobCount = DispatchSemaphore(value: 0)
    private let ioStopped = DispatchSemaphore(value: 0)

    private let failure = Mutex<StorageError?>(nil)
    private let failed = Atomic<Bool>(false)
    private let durablePosition: Mutex<LogPosition>
    /// The last durable sequence, readable without locks.
    let committedSequence: Atomic<UInt64>
    /// Called on the I/O thread after a new segment is durable, so readers can map it.
    let onSegmentCreated: @Sendable (String) -> Void

    /// I/O thread state.
    private var ioFile: FileDescriptor?

    init(directory: String, configuration: StoreConfiguration, end: LogPosition, lastSegment: SegmentHeader?, onSegmentCreated: @escaping @Sendable (String) -> Void) throws(StorageError) {
        self.directory = directory
        self.configuration = configuration
        self.onSegmentCreated = onSegmentCreated
        allocator = SegmentAllocator(directory: directory, segmentSizeBytes: configuration.segmentSizeBytes, spareTarget: configuration.spareSegmentCount)
        producer = Producer(position: end, segmentIndex: lastSegment?.segmentIndex ?? 0, hasSegment: lastSegment != nil)
        durablePosition = Mutex(end)
        committedSequence = Atomic(end.nextSequence - 1)
        var buffers: [GroupBuffer] = []
        for _ in 0..<configuration.groupBufferCount {
            buffers.append(GroupBuffer(capacityRecords: configuration.groupCapacityRecords))
        }
        freeBuffers = Mutex(buffers)
        freeBufferCount = DispatchSemaphore(value: configuration.groupBufferCount)
        if let lastSegment {
            ioFile = try FileDescriptor.open(Path.join(directory, Format.segmentFileName(firstSequence: lastSegment.firstSequence)), flags: O_WRONLY)
            // A segment sized differently than configured keeps its own size until it is full.
            if lastSegment.segmentSizeBytes != configuration.segmentSizeBytes {
                currentSegmentSizeBytes = lastSegment.segmentSizeBytes
            }
        }
        BackgroundThread(name: "khata-log-io") { [self] in self.runIO() }.detach()
    }

    private var currentSegmentSizeBytes: Int?

    /// A free buffer, waiting while all are in flight.
    func beginGroup() -> GroupBuffer {
        freeBufferCount.wait()
        // Safe: the semaphore counts the buffers in the pool, so one is there.
        return freeBuffers.withLock { $0.removeLast() }
    }

    /// Seals the buffer's records and queues the group for writing; `completion` runs on the I/O
    /// thread once the group is durable (or failed).
    func commit(_ buffer: GroupBuffer, completion: @escaping Completion) {
        precondition(buffer.count > 0, "a commit group needs at least one record")
        if failed.load(ordering: .acquiring) {
            let cause = failure.withLock { $0 }
            release(buffer)
            completion(.failure(StorageError(.writerFailed, "the log writer stopped after an earlier failure: \(cause?.description ?? "unknown")", path: cause?.path, offset: cause?.offset, errno: cause?.errno)))
            return
        }
        let first = producer.position.nextSequence
        let count = buffer.count
        for index in 0..<count {
            let slot = buffer.base + index * Format.recordSizeBytes
            RecordCodec.seal(slot, kind: RecordKind(rawValue: slot.load(fromByteOffset: 4, as: UInt8.self)), sequence: first + UInt64(index))
        }
        let chain = hasher.chain(after: producer.position.chain, records: buffer.base, count: count)
        let last = first + UInt64(count) - 1
        CommitBody(firstSequence: first, recordCount: UInt32(count), chain: chain).encode(into: buffer.base + count * Format.recordSizeBytes, lastSequence: last)
        let sizeBytes = (count + 1) * Format.recordSizeBytes
        var newSegment: SegmentHeader?
        let segmentSize = currentSegmentSizeBytes ?? configuration.segmentSizeBytes
        if !producer.hasSegment || producer.position.offset + sizeBytes > segmentSize {
            let index = producer.hasSegment ? producer.segmentIndex + 1 : 0
            newSegment = SegmentHeader(segmentSizeBytes: configuration.segmentSizeBytes, firstSequence: first, segmentIndex: index, startChain: producer.position.chain)
            producer.segmentIndex = index
            producer.hasSegment = true
            producer.position.segmentFirstSequence = first
            producer.position.offset = Format.segmentHeaderSizeBytes
            currentSegmentSizeBytes = nil
        }
        let offset = producer.position.offset
        producer.position.offset += sizeBytes
        producer.position.nextSequence = last + 1
        producer.position.chain = chain
        let job = Job(buffer: buffer, recordCount: count, offset: offset, newSegment: newSegment, group: CommittedGroup(firstSequence: first, lastSequence: last, chain: chain), endPosition: producer.position, completion: completion)
        jobs.withLock { $0.append(job) }
        jobCount.signal()
    }

    /// The position after the last durable group.
    var durable: LogPosition { durablePosition.withLock { $0 } }

    /// The error that stopped the writer, if any.
    var stoppedBy: StorageError? { failure.withLock { $0 } }

    /// Creates spare segments now (before timing a benchmark).
    func reserveSegments(_ count: Int) throws(StorageError) { try allocator.reserve(count: count) }

    /// Waits for every queued group, stops the I/O thread and the allocator.
    func close() {
        jobs.withLock { $0.append(nil) }
        jobCount.signal()
        ioStopped.wait()
        allocator.stop()
        ioFile?.close()
    }

    private func release(_ buffer: GroupBuffer) {
        buffer.reset()
        freeBuffers.withLock { $0.append(buffer) }
        freeBufferCount.signal()
    }

    private func runIO() {
        while true {
            jobCount.wait()
            // Safe: the semaphore counts queued jobs, so one is there.
            guard let job = jobs.withLock({ $0.removeFirst() }) else { break }
            if failed.load(ordering: .acquiring) {
                let cause = failure.withLock { $0 }
                let error = StorageError(.writerFailed, "the log writer stopped after an earlier failure: \(cause?.description ?? "unknown")", path: cause?.path, offset: cause?.offset, errno: cause?.errno)
                release(job.buffer)
                job.completion(.failure(error))
                continue
            }
            do throws(StorageError) {
                if let header = job.newSegment { try roll(to: header) }
                // Safe: a segment is open here, either from open() or from the roll above.
                let file = ioFile!
                try file.writeAll(UnsafeRawBufferPointer(start: job.buffer.base, count: (job.recordCount + 1) * Format.recordSizeBytes), at: job.offset)
                try file.syncData()
                durablePosition.withLock { $0 = job.endPosition }
                committedSequence.store(job.group.lastSequence, ordering: .releasing)
                release(job.buffer)
                job.completion(.success(job.group))
            } catch {
                // After a failed write or sync the page cache cannot be trusted (fsyncgate), so
                // the writer stops; reopening recovers from what is on disk.
                failure.withLock { $0 = error }
                failed.store(true, ordering: .releasing)
                release(job.buffer)
                job.completion(.failure(error))
            }
        }
        ioStopped.signal()
    }

    /// Turns a spare into the next segment: header written and synced, renamed, directory synced.
    private func roll(to header: SegmentHeader) throws(StorageError) {
        let sparePath = try allocator.take()
        let finalPath = Path.join(directory, Format.segmentFileName(firstSequence: header.firstSequence))
        do throws(StorageError) {
            let spare = try FileDescriptor.open(sparePath, flags: O_WRONLY)
            defer { spare.close() }
            let page = UnsafeMutableRawBufferPointer.allocate(byteCount: Format.segmentHeaderSizeBytes, alignment: 4096)
            defer { page.deallocate() }
            header.encode(into: page.baseAddress!)
            try spare.writeAll(UnsafeRawBufferPointer(page), at: 0)
            try spare.syncData()
        } catch {
            try? Directory.remove(sparePath)
            throw error
        }
        try Directory.rename(sparePath, to: finalPath)
        try Directory.sync(directory)
        ioFile?.close()
        ioFile = try FileDescriptor.open(finalPath, flags: O_WRONLY)
        onSegmentCreated(finalPath)
    }
}
