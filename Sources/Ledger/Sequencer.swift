import Dispatch
import LedgerCore
import LedgerStorage
import Synchronization

/// A metrics observer of committed groups.
final class GroupObserver: Sendable {
    let observe: @Sendable (CommittedGroup) -> Void
    init(_ observe: @escaping @Sendable (CommittedGroup) -> Void) { self.observe = observe }
}

/// The sequencer's side of the engine: applies submissions to the state in arrival order and
/// packs them, as batch records followed by event records, into commit groups. Used only on the
/// sequencer thread.
final class Sequencer: @unchecked Sendable {
    // Safe (@unchecked Sendable): created on the opening thread, then used only by the sequencer
    // thread; the completion closures it hands to the store touch only Sendable values.
    let state: LedgerState
    let store: SegmentStore
    let view: LedgerView
    let clock: @Sendable () -> UInt64
    /// A submission taken from the queue that did not fit the previous group.
    private var carried: Ledger.Submission?
    /// Signalled when the most recently committed group is durable (or failed).
    private var lastGroupDone: DispatchSemaphore?
    private var recordsSinceCheckpoint = 0
    /// The sequence number the next record appended gets (the store numbers groups in commit
    /// order, and only this thread commits).
    private var nextSequence: UInt64
    /// The group being filled and the committed groups whose buffers have not been handed out
    /// again (so may not be written yet), by first sequence: where requests that the log may
    /// not hold yet are read back from.
    private var current: (first: UInt64, buffer: GroupBuffer)?
    private var inFlight: [(first: UInt64, buffer: GroupBuffer)] = []
    /// Where requests the groups in flight do not hold are read from.
    let log: LogReader

    /// The request logged at `sequence`: from a group in flight, or else from the log.
    func request(sequence: UInt64) -> RequestRead {
        var body: UnsafeRawPointer?
        if let current, sequence >= current.first, sequence < current.first + UInt64(current.buffer.count) {
            body = current.buffer.body(at: Int(sequence - current.first))
        } else if let group = inFlight.last(where: { sequence >= $0.first }),
            sequence < group.first + UInt64(group.buffer.count)
        {
            body = group.buffer.body(at: Int(sequence - group.first))
        }
        if let body {
            guard
                case .createTransfer(let transfer)? = try? EventCodec.decode(kind: EventCodec.createTransferKind, body)
            else { return .missing }
            return .found(transfer)
        }
        return Sequencer.request(sequence: sequence, from: log)
    }

    /// The request logged at `sequence` in `log`, if it is a transfer's, its checksum verified.
    static func request(sequence: UInt64, from log: LogReader) -> RequestRead {
        switch log.read(sequence: sequence) {
        case .found(let kind, let body):
            guard kind == EventCodec.createTransferKind,
                case .createTransfer(let transfer)? = try? EventCodec.decode(kind: kind, body)
            else { return .missing }
            return .found(transfer)
        case .missing: return .missing
        case .damaged: return .damaged
        }
    }
    let checkpointIntervalRecords: Int
    private let failed = Atomic<Bool>(false)
    /// Told of every group once it is durable (metrics); read once per group. Boxed in a class:
    /// a bare closure read out of a Mutex was re-wrapped in a reabstraction thunk on every read
    /// (and written back), so each call ran through one more thunk than the last.
    let groupObserver = Mutex<GroupObserver?>(nil)
    private let checkpointer: Checkpointer

    init(
        state: LedgerState, store: SegmentStore, view: LedgerView, log: LogReader, checkpointIntervalRecords: Int,
        clock: @escaping @Sendable () -> UInt64
    ) {
        self.log = log
        self.checkpointIntervalRecords = checkpointIntervalRecords
        self.state = state
        self.store = store
        self.view = view
        self.clock = clock
        nextSequence = store.durablePosition.nextSequence
        checkpointer = Checkpointer(store: store)
    }

    /// Fills one commit group starting with `first` and as many further submissions from `next`
    /// as fit, then commits it. Returns the error that stopped the ledger, if one did.
    func process(_ first: Ledger.Submission, next: () -> Ledger.Submission?) -> LedgerError? {
        if failed.load(ordering: .acquiring) {
            first.completion(.failure(.storage(store.writerFailure ?? StorageError(.writerFailed, "stopped"))))
            return nil
        }
        // Checked before a group rather than after one, so that no checkpoint starts once the
        // ledger is idle: everything acknowledged is then also settled on disk.
        if checkpointIsDue { checkpoint(inBackground: true) }
        let buffer = store.beginGroup()
        // The groups that last used this buffer are written: their records are read from the log.
        inFlight.removeAll { $0.buffer === buffer }
        current = (nextSequence, buffer)
        var completions: [(Ledger.Submission, [EventResult])] = []
        var submission: Ledger.Submission? = first
        while let pending = submission {
            guard buffer.capacityRecords - buffer.count >= pending.events.count + 1 else {
                // Ledger.open checked that any submission fits an empty group.
                precondition(buffer.count > 0, "a submission larger than a whole group")
                carried = pending
                break
            }
            let now = clock()
            // The batch record takes the next sequence number, its events the ones after it.
            let batchSequence = nextSequence + UInt64(buffer.count)
            // Logged before they are applied, so that the rules can read this batch's requests
            // back from the buffer like any other in-flight request.
            EventCodec.encodeBatch(
                now: now, eventCount: pending.events.count, into: buffer.appendSlot(kind: EventCodec.batchKind))
            for event in pending.events {
                EventCodec.encode(event, into: buffer.appendSlot(kind: EventCodec.kind(of: event)))
            }
            let results = state.apply(pending.events, now: now, firstSequence: batchSequence + 1)
            completions.append((pending, results))
            submission = carried.take() ?? next()
        }
        let mark = state.takeCommit()
        let done = completions
        let view = view
        let group = CommittedGroup(
            records: buffer.count, submissions: done.count, events: done.reduce(0) { $0 + $1.1.count })
        let observer = groupObserver.withLock { $0 }
        let groupDone = DispatchSemaphore(value: 0)
        lastGroupDone = groupDone
        recordsSinceCheckpoint += buffer.count
        inFlight.append((nextSequence, buffer))
        self.current = nil
        nextSequence += UInt64(buffer.count)
        store.commit(buffer) { [self] outcome in
            defer { groupDone.signal() }
            switch outcome {
            case .success:
                view.publish(mark)
                for (submission, results) in done { submission.completion(.success(results)) }
                observer?.observe(group)
            case .failure(let error):
                // The state is now ahead of the log: stop; reopening replays the log.
                self.failed.store(true, ordering: .releasing)
                for (submission, _) in done { submission.completion(.failure(.storage(error))) }
            }
        }
        return failed.load(ordering: .acquiring)
            ? .storage(store.writerFailure ?? StorageError(.writerFailed, "stopped")) : nil
    }

    /// The submission that did not fit the last group, to start the next one with. The caller
    /// loops rather than this type recursing, so sustained load cannot grow the stack.
    func takeCarried() -> Ledger.Submission? { carried.take() }

    /// A checkpoint is due every `checkpointIntervalRecords` log records, but never before as
    /// many records were logged as the state holds: the cost of checkpoints (which grows with
    /// the state) then stays a bounded share of the cost of logging, and replay after a crash
    /// covers at most about the state's size in records.
    private var checkpointIsDue: Bool {
        recordsSinceCheckpoint >= max(checkpointIntervalRecords, state.recordCount)
    }

    /// Waits until a checkpoint being written in the background is on disk.
    func waitForCheckpointWrite() { checkpointer.waitUntilIdle() }

    /// Called once the queue is drained at close: the last submissions, then a checkpoint so the
    /// next open replays nothing.
    func finish() {
        while let carried = carried.take() { _ = process(carried, next: { nil }) }
        checkpointer.waitUntilIdle()
        if recordsSinceCheckpoint > 0 { checkpoint(inBackground: false) }
        checkpointer.stop()
    }

    /// Waits until every committed group is durable, so the state is exactly the log's, takes a
    /// snapshot and has it written, in the background unless closing. Skipped while an earlier
    /// checkpoint is still being written: the next group tries again. A failure only means
    /// recovery starts further back.
    private func checkpoint(inBackground: Bool) {
        if inBackground && checkpointer.isBusy { return }
        lastGroupDone?.wait()
        lastGroupDone = nil
        guard !failed.load(ordering: .acquiring), store.committedSequence > 0 else { return }
        let position = store.durablePosition
        let payload = state.snapshot()
        recordsSinceCheckpoint = 0
        if inBackground {
            checkpointer.start(payload: payload, position: position)
        } else {
            checkpointer.write(payload: payload, position: position)
        }
    }

    /// The last checkpoint write that failed, if any (reported by the engine).
    var checkpointFailure: StorageError? { checkpointer.lastFailure }
}

/// Writes checkpoints on a thread of its own, one at a time, so that the sequencer pauses only
/// to take the snapshot, not to hash, write and sync it.
final class Checkpointer: Sendable {
    private let store: SegmentStore
    private let job = Mutex<(payload: [UInt8], position: LogPosition)?>(nil)
    private let wake = DispatchSemaphore(value: 0)
    private let running = DispatchGroup()
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let failure = Mutex<StorageError?>(nil)

    init(store: SegmentStore) {
        self.store = store
        BackgroundThread.start(name: "khata-checkpoint") { [self] in
            while true {
                wake.wait()
                guard let next = job.withLock({ $0.take() }) else {
                    if stopping.load(ordering: .acquiring) { return }
                    continue
                }
                write(payload: next.payload, position: next.position)
                busy.store(false, ordering: .releasing)
                running.leave()
            }
        }
    }

    /// Whether a checkpoint is being written.
    var isBusy: Bool { busy.load(ordering: .acquiring) }

    /// The last checkpoint write that failed, if any.
    var lastFailure: StorageError? { failure.withLock { $0 } }

    /// Hands a snapshot to the checkpoint thread (the caller checked `isBusy`).
    func start(payload: [UInt8], position: LogPosition) {
        precondition(!busy.exchange(true, ordering: .acquiringAndReleasing), "one checkpoint at a time")
        running.enter()
        job.withLock { $0 = (payload, position) }
        wake.signal()
    }

    /// Writes a checkpoint on the calling thread.
    func write(payload: [UInt8], position: LogPosition) {
        do {
            try store.writeCheckpoint(payload: payload, at: position)
            failure.withLock { $0 = nil }
        } catch {
            failure.withLock { $0 = error }
        }
    }

    func waitUntilIdle() { running.wait() }

    /// Stops the thread once the checkpoint in hand, if any, is written.
    func stop() {
        waitUntilIdle()
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }
}

/// Rebuilds the state from the log on open: a batch record, then its events, then the batch is
/// applied at the time it was applied first.
final class Replayer: @unchecked Sendable {
    // Safe (@unchecked Sendable): used only during `Ledger.open`, on the opening thread.
    var state: LedgerState
    private var now: UInt64 = 0
    private var expected = 0
    private var firstEventSequence: UInt64 = 0
    private var events: [Event] = []
    private(set) var failure: LedgerError?

    let expectedAccounts: Int
    let expectedTransfers: Int

    /// Prepares each state the replay works on: where it reads requests back from the log.
    let configure: (LedgerState) -> Void
    /// The damage reads of the log have found, for the reason a replay stops.
    var damage: () -> LogDamage? = { nil }

    init(expectedAccounts: Int, expectedTransfers: Int, configure: @escaping (LedgerState) -> Void) {
        state = LedgerState(expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers)
        configure(state)
        self.expectedAccounts = expectedAccounts
        self.expectedTransfers = expectedTransfers
        self.configure = configure
    }

    /// Starts from a checkpoint's state instead of an empty one.
    func restore(_ checkpoint: Checkpoint) throws {
        state = try LedgerState(
            snapshot: checkpoint.payload, expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers)
        configure(state)
    }

    var isBetweenBatches: Bool { expected == 0 }

    func record(kind: RecordKind, sequence: UInt64, body: UnsafeRawPointer) throws {
        do throws(EventDecodingError) {
            if kind == EventCodec.batchKind {
                guard expected == 0 else { throw EventDecodingError("a batch record interrupts a batch") }
                (now, expected) = try EventCodec.decodeBatch(body)
                firstEventSequence = sequence + 1
                events.removeAll(keepingCapacity: true)
                return
            }
            guard expected > 0 else { throw EventDecodingError("an event record outside a batch") }
            events.append(try EventCodec.decode(kind: kind, body))
            if events.count == expected {
                let results = state.apply(events, now: now, firstSequence: firstEventSequence)
                expected = 0
                // An event that depended on a damaged older record would replay to another
                // outcome than it had: the state cannot be rebuilt faithfully.
                if let index = results.firstIndex(where: { $0.code == .recordDamaged }) {
                    throw EventDecodingError(
                        "event \(firstEventSequence + UInt64(index)) depends on a record that is damaged in the log"
                            + (damage().map { ": \($0)" } ?? ""))
                }
            }
        } catch {
            failure = .corruptLog(sequence: sequence, reason: error.reason)
            throw error
        }
    }
}
