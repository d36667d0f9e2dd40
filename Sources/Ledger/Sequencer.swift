import Dispatch
import LedgerCore
import LedgerStorage
import Synchronization

/// The sequencer's side of the engine: applies submissions to the state in arrival order and
/// packs them, as batch records followed by event records, into commit groups. Used only on the
/// sequencer thread.
final class Sequencer: @unchecked Sendable {
    // Safe (@unchecked Sendable): created on the opening thread, then used only by the sequencer
    // thread; the completion closures it hands to the store touch only Sendable values.
    let state: EngineState
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
    /// Where the state reads requests back: told which groups are in flight.
    let requests: LoggedRequests
    /// Told of every group once it is durable (metrics).
    let groupObserver: (any DurableGroupObserver)?
    let checkpointIntervalRecords: Int
    private let failed = Atomic<Bool>(false)
    private let checkpointer: Checkpointer

    init(
        state: EngineState, requests: LoggedRequests, store: SegmentStore, view: LedgerView,
        checkpointIntervalRecords: Int, groupObserver: (any DurableGroupObserver)?,
        clock: @escaping @Sendable () -> UInt64
    ) {
        self.requests = requests
        self.checkpointIntervalRecords = checkpointIntervalRecords
        self.state = state
        self.store = store
        self.view = view
        self.groupObserver = groupObserver
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
        requests.beginGroup(first: nextSequence, buffer: buffer)
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
        let group = DurableGroup(
            records: buffer.count, submissions: done.count, events: done.reduce(0) { $0 + $1.1.count })
        let observer = groupObserver
        let groupDone = DispatchSemaphore(value: 0)
        lastGroupDone = groupDone
        recordsSinceCheckpoint += buffer.count
        requests.endGroup()
        nextSequence += UInt64(buffer.count)
        let through = nextSequence - 1
        store.commit(buffer) { [self] outcome in
            defer { groupDone.signal() }
            switch outcome {
            case .success:
                view.publish(mark, through: through)
                for (submission, results) in done { submission.completion(.success(results)) }
                observer?.groupIsDurable(group)
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
