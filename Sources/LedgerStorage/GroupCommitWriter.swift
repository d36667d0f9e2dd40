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

/// One group on its way through the pipeline: sealing (in chunks, on the seal threads), chaining
/// (in group order), then writing and syncing (on the I/O thread).
final class GroupJob: @unchecked Sendable {
    // Safe (@unchecked Sendable): the producer fills every field before queueing; each seal task
    // writes only its own chunk's records and digest slot; `remainingChunks` (atomic) tells the
    // last seal task that all chunks are done; the chain stage and the I/O thread run strictly
    // after that, handed over through Mutex-protected queues.
    typealias Completion = @Sendable (Result<CommittedGroup, StorageError>) -> Void

    let buffer: GroupBuffer
    let number: UInt64
    let firstSequence: UInt64
    let recordCount: Int
    let offset: Int
    let newSegment: SegmentHeader?
    let segmentFirstSequence: UInt64
    let completion: Completion
    let chunkDigests: UnsafeMutablePointer<ChainHash>
    let remainingChunks: Atomic<Int>
    var chain = ChainHash.genesis
    /// The new segment's header with its start chain, set by the chain stage.
    var segmentHeaderToWrite: SegmentHeader?

    init(
        buffer: GroupBuffer, number: UInt64, firstSequence: UInt64, offset: Int, newSegment: SegmentHeader?,
        segmentFirstSequence: UInt64, completion: @escaping Completion
    ) {
        self.buffer = buffer
        self.number = number
        self.firstSequence = firstSequence
        self.recordCount = buffer.count
        self.offset = offset
        self.newSegment = newSegment
        self.segmentFirstSequence = segmentFirstSequence
        self.completion = completion
        let chunks = Format.chunkCount(records: buffer.count)
        chunkDigests = .allocate(capacity: chunks)
        chunkDigests.initialize(repeating: .genesis, count: chunks)
        remainingChunks = Atomic(chunks)
    }

    var lastSequence: UInt64 { firstSequence + UInt64(recordCount) - 1 }
    var sizeBytes: Int { (recordCount + 1) * Format.recordSizeBytes }

    deinit { chunkDigests.deallocate() }
}

/// Group commit. The caller fills a buffer and commits it; seal threads set sequence numbers and
/// checksums and hash the group's chunks in parallel; the chain stage links groups in order and
/// adds the commit record; a dedicated I/O thread writes each group with one `pwrite` and makes it
/// durable with one `fdatasync` before completing it. With three buffers, the caller fills group
/// k+2 while k+1 is sealed and k is synced.
final class GroupCommitWriter: @unchecked Sendable {
    // Safe (@unchecked Sendable): `producer` and `currentSegmentSizeBytes` are touched only by the
    // one thread that calls `beginGroup`/`commit` (a documented rule of SegmentStore); `ioFile`
    // only by the I/O thread; everything shared is behind Mutex, Atomic or a semaphore.

    private struct Producer {
        var position: LogPosition
        var segmentIndex: UInt64
        var hasSegment: Bool
        var nextGroupNumber: UInt64 = 0
    }

    private struct ChainStage {
        var nextGroupNumber: UInt64 = 0
        var chain: ChainHash
        var waiting: [UInt64: GroupJob] = [:]
    }

    let directory: String
    let configuration: StoreConfiguration
    private let allocator: SegmentAllocator
    private var producer: Producer
    private var currentSegmentSizeBytes: Int?
    /// The producer's own hasher, for groups it seals itself (see `commit`).
    private let producerHasher = SHA256Hasher()
    /// Groups of at most this many records are sealed by the producer, on its own thread.
    static let inlineSealRecords = 256

    private let freeBuffers: Mutex<[GroupBuffer]>
    private let freeBufferCount: DispatchSemaphore
    private let sealTasks = Mutex<[(GroupJob, Int)?]>([])
    private let sealTaskCount = DispatchSemaphore(value: 0)
    private let sealThreadsStopped = DispatchSemaphore(value: 0)
    private let chainStage: Mutex<ChainStage>
    private let ioJobs = Mutex<[GroupJob?]>([])
    private let ioJobCount = DispatchSemaphore(value: 0)
    private let ioStopped = DispatchSemaphore(value: 0)

    private let failure = Mutex<StorageError?>(nil)
    private let failed = Atomic<Bool>(false)
    private let durablePosition: Mutex<LogPosition>
    /// The last durable sequence, readable without locks.
    let committedSequence: Atomic<UInt64>
    /// Called on the I/O thread after a new segment is durable, so readers can map it.
    let onSegmentCreated: @Sendable (String) -> Void
    private var ioFile: FileDescriptor?

    init(
        directory: String, configuration: StoreConfiguration, end: LogPosition, lastSegment: SegmentHeader?,
        onSegmentCreated: @escaping @Sendable (String) -> Void
    ) throws(StorageError) {
        self.directory = directory
        self.configuration = configuration
        self.onSegmentCreated = onSegmentCreated
        allocator = SegmentAllocator(
            directory: directory, segmentSizeBytes: configuration.segmentSizeBytes,
            spareTarget: configuration.spareSegmentCount)
        producer = Producer(position: end, segmentIndex: lastSegment?.segmentIndex ?? 0, hasSegment: lastSegment != nil)
        chainStage = Mutex(ChainStage(chain: end.chain))
        durablePosition = Mutex(end)
        committedSequence = Atomic(end.nextSequence - 1)
        var buffers: [GroupBuffer] = []
        for _ in 0..<configuration.groupBufferCount {
            buffers.append(GroupBuffer(capacityRecords: configuration.groupCapacityRecords))
        }
        freeBuffers = Mutex(buffers)
        freeBufferCount = DispatchSemaphore(value: configuration.groupBufferCount)
        if let lastSegment {
            ioFile = try FileDescriptor.open(
                Path.join(directory, Format.segmentFileName(firstSequence: lastSegment.firstSequence)), flags: O_WRONLY)
            // A last segment sized differently than configured keeps its own size until full.
            if lastSegment.segmentSizeBytes != configuration.segmentSizeBytes {
                currentSegmentSizeBytes = lastSegment.segmentSizeBytes
            }
        }
        for index in 0..<configuration.sealThreadCount {
            BackgroundThread(name: "khata-seal-\(index)") { [self] in self.runSeal() }.detach()
        }
        BackgroundThread(name: "khata-log-io") { [self] in self.runIO() }.detach()
    }

    /// A free buffer, waiting while all are in flight.
    func beginGroup() -> GroupBuffer {
        freeBufferCount.wait()
        // Safe: the semaphore counts the buffers in the pool, so one is there.
        return freeBuffers.withLock { $0.removeLast() }
    }

    /// Places the group in the log and queues it for sealing; `completion` runs on the I/O thread
    /// once the group is durable (or failed).
    func commit(_ buffer: GroupBuffer, completion: @escaping GroupJob.Completion) {
        precondition(buffer.count > 0, "a commit group needs at least one record")
        if failed.load(ordering: .acquiring) {
            release(buffer)
            completion(.failure(stoppedError()))
            return
        }
        let sizeBytes = (buffer.count + 1) * Format.recordSizeBytes
        var newSegment: SegmentHeader?
        let segmentSize = currentSegmentSizeBytes ?? configuration.segmentSizeBytes
        if !producer.hasSegment || producer.position.offset + sizeBytes > segmentSize {
            let index = producer.hasSegment ? producer.segmentIndex + 1 : 0
            // The chain a new segment continues from is known only after earlier groups are
            // chained; the chain stage fills it in.
            newSegment = SegmentHeader(
                segmentSizeBytes: configuration.segmentSizeBytes, firstSequence: producer.position.nextSequence,
                segmentIndex: index, startChain: .genesis)
            producer.segmentIndex = index
            producer.hasSegment = true
            producer.position.segmentFirstSequence = producer.position.nextSequence
            producer.position.offset = Format.segmentHeaderSizeBytes
            currentSegmentSizeBytes = nil
        }
        let job = GroupJob(
            buffer: buffer, number: producer.nextGroupNumber, firstSequence: producer.position.nextSequence,
            offset: producer.position.offset, newSegment: newSegment,
            segmentFirstSequence: producer.position.segmentFirstSequence, completion: completion)
        producer.nextGroupNumber += 1
        producer.position.offset += sizeBytes
        producer.position.nextSequence += UInt64(buffer.count)
        let chunks = Format.chunkCount(records: buffer.count)
        // A small group is sealed here: waking a seal thread for a few records cost more (a
        // context switch each way) than sealing them, and small groups are what a lightly loaded
        // ledger, such as one behind an HTTP API, commits most.
        if buffer.count <= Self.inlineSealRecords {
            seal(job, chunk: 0, hasher: producerHasher)
            return
        }
        sealTasks.withLock { tasks in
            for chunk in 0..<chunks { tasks.append((job, chunk)) }
        }
        for _ in 0..<chunks { sealTaskCount.signal() }
    }

    /// The position after the last durable group.
    var durable: LogPosition { durablePosition.withLock { $0 } }

    /// The error that stopped the writer, if any.
    var stoppedBy: StorageError? { failure.withLock { $0 } }

    /// Creates spare segments now (before timing a benchmark).
    func reserveSegments(_ count: Int) throws(StorageError) { try allocator.reserve(count: count) }

    /// Finishes every queued group, then stops the threads and the allocator.
    func close() {
        sealTasks.withLock { tasks in
            for _ in 0..<configuration.sealThreadCount { tasks.append(nil) }
        }
        for _ in 0..<configuration.sealThreadCount { sealTaskCount.signal() }
        for _ in 0..<configuration.sealThreadCount { sealThreadsStopped.wait() }
        ioJobs.withLock { $0.append(nil) }
        ioJobCount.signal()
        ioStopped.wait()
        allocator.stop()
        ioFile?.close()
    }

    private func stoppedError() -> StorageError {
        let cause = failure.withLock { $0 }
        return StorageError(
            .writerFailed, "the log writer stopped after an earlier failure: \(cause?.description ?? "unknown")",
            path: cause?.path, offset: cause?.offset, errno: cause?.errno)
    }

    private func release(_ buffer: GroupBuffer) {
        buffer.reset()
        freeBuffers.withLock { $0.append(buffer) }
        freeBufferCount.signal()
    }

    /// Seal thread: numbers and checksums one chunk's records and hashes them; the thread that
    /// finishes a group's last chunk passes it to the chain stage.
    private func runSeal() {
        let hasher = SHA256Hasher()
        while true {
            sealTaskCount.wait()
            // Safe: the semaphore counts queued tasks, so one is there.
            guard let (job, chunk) = sealTasks.withLock({ $0.removeFirst() }) else { break }
            seal(job, chunk: chunk, hasher: hasher)
        }
        sealThreadsStopped.signal()
    }

    /// Numbers, checksums and hashes one chunk; whoever seals a group's last chunk chains it.
    private func seal(_ job: GroupJob, chunk: Int, hasher: SHA256Hasher) {
        let start = chunk * Format.chainChunkRecords
        let count = min(Format.chainChunkRecords, job.recordCount - start)
        let base = job.buffer.base + start * Format.recordSizeBytes
        RecordCodec.seal(records: base, count: count, firstSequence: job.firstSequence + UInt64(start))
        job.chunkDigests[chunk] = hasher.chunkDigest(records: base, count: count)
        if job.remainingChunks.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            chainInOrder(job, hasher: hasher)
        }
    }

    /// Links sealed groups to the chain strictly in group order and queues them for the disk.
    private func chainInOrder(_ sealed: GroupJob, hasher: SHA256Hasher) {
        let ready: [GroupJob] = chainStage.withLock { stage in
            stage.waiting[sealed.number] = sealed
            var ready: [GroupJob] = []
            while let job = stage.waiting.removeValue(forKey: stage.nextGroupNumber) {
                if var header = job.newSegment {
                    header.startChain = stage.chain
                    job.segmentHeaderToWrite = header
                }
                job.chain = hasher.chain(
                    after: stage.chain, firstSequence: job.firstSequence, count: job.recordCount,
                    chunkDigests: job.chunkDigests)
                CommitBody(firstSequence: job.firstSequence, recordCount: UInt32(job.recordCount), chain: job.chain)
                    .encode(
                        into: job.buffer.base + job.recordCount * Format.recordSizeBytes, lastSequence: job.lastSequence
                    )
                stage.chain = job.chain
                stage.nextGroupNumber += 1
                ready.append(job)
            }
            // Queue while holding the chain lock so the I/O thread sees groups in order.
            if !ready.isEmpty { ioJobs.withLock { $0.append(contentsOf: ready) } }
            return ready
        }
        for _ in ready { ioJobCount.signal() }
    }

    private func runIO() {
        while true {
            ioJobCount.wait()
            // Safe: the semaphore counts queued jobs, so one is there.
            guard let job = ioJobs.withLock({ $0.removeFirst() }) else { break }
            if failed.load(ordering: .acquiring) {
                release(job.buffer)
                job.completion(.failure(stoppedError()))
                continue
            }
            do throws(StorageError) {
                if let header = job.segmentHeaderToWrite { try roll(to: header) }
                // Safe: a segment is open here, either from open() or from the roll above.
                let file = ioFile!
                try file.writeAll(UnsafeRawBufferPointer(start: job.buffer.base, count: job.sizeBytes), at: job.offset)
                try file.syncData()
                let end = LogPosition(
                    segmentFirstSequence: job.segmentFirstSequence, offset: job.offset + job.sizeBytes,
                    nextSequence: job.lastSequence + 1, chain: job.chain)
                durablePosition.withLock { $0 = end }
                committedSequence.store(job.lastSequence, ordering: .releasing)
                let group = CommittedGroup(
                    firstSequence: job.firstSequence, lastSequence: job.lastSequence, chain: job.chain)
                release(job.buffer)
                job.completion(.success(group))
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
