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
    let state: LedgerState
    let store: SegmentStore
    let view: CommittedView
    let clock: @Sendable () -> UInt64
    /// A submission taken from the queue that did not fit the previous group.
    private var carried: Ledger.Submission?
    /// Signalled when the most recently committed group is durable (or failed).
    private var lastGroupDone: DispatchSemaphore?
    private var recordsSinceCheckpoint = 0
    let checkpointIntervalRecords: Int
    private let failed = Atomic<Bool>(false)

    init(
        state: LedgerState, store: SegmentStore, view: CommittedView, checkpointIntervalRecords: Int,
        clock: @escaping @Sendable () -> UInt64
    ) {
        self.checkpointIntervalRecords = checkpointIntervalRecords
        self.state = state
        self.store = store
        self.view = view
        self.clock = clock
    }

    /// Fills one commit group starting with `first` and as many further submissions from `next`
    /// as fit, then commits it. Returns the error that stopped the ledger, if one did.
    func process(_ first: Ledger.Submission, next: () -> Ledger.Submission?) -> LedgerError? {
        if failed.load(ordering: .acquiring) {
            first.completion(.failure(.storage(store.writerFailure ?? StorageError(.writerFailed, "stopped"))))
            return nil
        }
        let buffer = store.beginGroup()
        var completions: [(Ledger.Submission, [EventResult])] = []
        var submission: Ledger.Submission? = first
        while let current = submission {
            guard buffer.capacityRecords - buffer.count >= current.events.count + 1 else {
                // Ledger.open checked that any submission fits an empty group.
                precondition(buffer.count > 0, "a submission larger than a whole group")
                carried = current
                break
            }
            let now = clock()
            let results = state.apply(current.events, now: now)
            EventCodec.encodeBatch(
                now: now, eventCount: current.events.count, into: buffer.appendSlot(kind: EventCodec.batchKind))
            for event in current.events {
                EventCodec.encode(event, into: buffer.appendSlot(kind: EventCodec.kind(of: event)))
            }
            completions.append((current, results))
            submission = carried.take() ?? next()
        }
        let changes = state.takeChanges()
        let done = completions
        let view = view
        let groupDone = DispatchSemaphore(value: 0)
        lastGroupDone = groupDone
        recordsSinceCheckpoint += buffer.count
        store.commit(buffer) { [self] outcome in
            defer { groupDone.signal() }
            switch outcome {
            case .success:
                view.publish(accounts: changes.accounts, transfers: changes.transfers)
                for (submission, results) in done { submission.completion(.success(results)) }
            case .failure(let error):
                // The state is now ahead of the log: stop; reopening replays the log.
                self.failed.store(true, ordering: .releasing)
                for (submission, _) in done { submission.completion(.failure(.storage(error))) }
            }
        }
        if recordsSinceCheckpoint >= checkpointIntervalRecords { checkpoint() }
        return failed.load(ordering: .acquiring)
            ? .storage(store.writerFailure ?? StorageError(.writerFailed, "stopped")) : nil
    }

    /// The submission that did not fit the last group, to start the next one with. The caller
    /// loops rather than this type recursing, so sustained load cannot grow the stack.
    func takeCarried() -> Ledger.Submission? { carried.take() }

    /// Called once the queue is drained at close: the last submissions, then a checkpoint so the
    /// next open replays nothing.
    func finish() {
        while let carried = carried.take() { _ = process(carried, next: { nil }) }
        if recordsSinceCheckpoint > 0 { checkpoint() }
    }

    /// Waits until every committed group is durable, so the state is exactly the log's, then
    /// writes it as a checkpoint. A failure only means recovery starts further back.
    private func checkpoint() {
        lastGroupDone?.wait()
        lastGroupDone = nil
        guard !failed.load(ordering: .acquiring), store.committedSequence > 0 else { return }
        do {
            try store.writeCheckpoint(payload: state.snapshot())
            recordsSinceCheckpoint = 0
        } catch {
            checkpointFailure = error
        }
    }

    /// The last checkpoint write that failed, if any (reported by the engine).
    private(set) var checkpointFailure: StorageError?
}

/// Rebuilds the state from the log on open: a batch record, then its events, then the batch is
/// applied at the time it was applied first.
final class Replayer: @unchecked Sendable {
    // Safe (@unchecked Sendable): used only during `Ledger.open`, on the opening thread.
    var state: LedgerState
    private var now: UInt64 = 0
    private var expected = 0
    private var events: [Event] = []
    private(set) var failure: LedgerError?

    let expectedAccounts: Int
    let expectedTransfers: Int

    init(state: LedgerState, expectedAccounts: Int, expectedTransfers: Int) {
        self.state = state
        self.expectedAccounts = expectedAccounts
        self.expectedTransfers = expectedTransfers
    }

    /// Starts from a checkpoint's state instead of an empty one.
    func restore(_ checkpoint: Checkpoint) throws {
        state = try LedgerState(
            snapshot: checkpoint.payload, expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers)
    }

    var isBetweenBatches: Bool { expected == 0 }

    func record(kind: RecordKind, sequence: UInt64, body: UnsafeRawPointer) throws {
        do throws(EventDecodingError) {
            if kind == EventCodec.batchKind {
                guard expected == 0 else { throw EventDecodingError("a batch record interrupts a batch") }
                (now, expected) = try EventCodec.decodeBatch(body)
                events.removeAll(keepingCapacity: true)
                return
            }
            guard expected > 0 else { throw EventDecodingError("an event record outside a batch") }
            events.append(try EventCodec.decode(kind: kind, body))
            if events.count == expected {
                _ = state.apply(events, now: now)
                expected = 0
            }
        } catch {
            failure = .corruptLog(sequence: sequence, reason: error.reason)
            throw error
        }
    }
}
