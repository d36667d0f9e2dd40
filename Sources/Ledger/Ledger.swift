import CKhataSupport
import Dispatch
import LedgerCore
import LedgerStorage
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The ledger engine: callers submit batches of events through a bounded lock-free queue to one
/// sequencer thread, which owns all mutable state, applies each batch, writes it through the
/// segment store's group commit and completes the callers only once it is durable. While one
/// group is being synced the sequencer already applies the next.
public final class Ledger: Sendable {
    final class Submission: Sendable {
        let events: [Event]
        let completion: @Sendable (Result<[EventResult], LedgerError>) -> Void

        init(events: [Event], completion: @escaping @Sendable (Result<[EventResult], LedgerError>) -> Void) {
            self.events = events
            self.completion = completion
        }
    }

    public let configuration: LedgerConfiguration
    let store: SegmentStore
    let sequencer: Sequencer
    let view: LedgerView
    private let queue: SubmissionQueue<Submission>
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let closing = Atomic<Bool>(false)
    private let failure: Mutex<LedgerError?>
    /// The log's folder.
    let directory: String
    /// Damage the scrub of sealed segments found (reads record theirs in the log reader).
    let scrubDamage = Mutex<[LogDamage]>([])
    /// What the scrub has done so far.
    let scrubProgress = Mutex(ScrubStatus())
    /// Signalled at close, to wake and end the scrub thread.
    let scrubStop = DispatchSemaphore(value: 0)

    /// What recovery found when the ledger was opened.
    public var recovery: RecoveryReport { store.recovery }

    /// Opens the ledger whose log is in `directory` (the data directory's `ledger` folder),
    /// replaying the log into memory. `clock` gives the sequencer's time in nanoseconds since
    /// the Unix epoch (the wall clock unless a test replaces it); `groupObserver`, when given, is
    /// told of every commit group once it is durable (metrics).
    public static func open(
        directory: String, configuration: LedgerConfiguration = LedgerConfiguration(),
        clock: @escaping @Sendable () -> UInt64 = Ledger.wallClockNanoseconds,
        groupObserver: (any DurableGroupObserver)? = nil
    ) throws(LedgerError) -> Ledger {
        guard configuration.maximumBatchEvents >= 1,
            configuration.maximumBatchEvents + 1 <= configuration.storage.groupCapacityRecords
        else {
            throw .invalidConfiguration(
                "maximumBatchEvents (\(configuration.maximumBatchEvents)) plus its batch record must fit "
                    + "storage.groupCapacityRecords (\(configuration.storage.groupCapacityRecords))")
        }
        guard configuration.queueCapacity >= 2, configuration.checkpointIntervalRecords >= 1 else {
            throw .invalidConfiguration("queueCapacity must be at least 2 and checkpointIntervalRecords at least 1")
        }
        // Memory keeps no requests: they are read back from the group buffers in flight and from
        // the mapped log, by the sequencer and by readers alike.
        let requests = LoggedRequests(log: LogReader(directory: directory))
        let preparer = MemoryPreparer()
        let replay = Replayer(
            expectedAccounts: configuration.expectedAccounts, expectedTransfers: configuration.expectedTransfers,
            requests: requests, prepareMemory: { base, bytes in preparer.populate(base, bytes: bytes) })
        let store: SegmentStore
        do {
            store = try SegmentStore.open(
                directory: directory, configuration: configuration.storage,
                replay: { kind, sequence, body in
                    try replay.record(kind: kind, sequence: sequence, body: body.baseAddress!)
                },
                restore: replay.restore)
        } catch {
            if let corrupt = replay.failure { throw corrupt }
            throw .storage(error)
        }
        guard replay.isBetweenBatches else {
            store.close()
            throw .corruptLog(sequence: store.committedSequence, reason: "the log ends inside a batch")
        }
        return Ledger(
            directory: directory, configuration: configuration, store: store, state: replay.state,
            requests: requests, groupObserver: groupObserver, clock: clock)
    }

    private init(
        directory: String, configuration: LedgerConfiguration, store: SegmentStore, state: EngineState,
        requests: LoggedRequests, groupObserver: (any DurableGroupObserver)?, clock: @escaping @Sendable () -> UInt64
    ) {
        self.directory = directory
        self.configuration = configuration
        self.store = store
        let log = requests.log
        let view = LedgerView(state: state) { LoggedRequests.request(sequence: $0, from: log) }
        view.publish(state.takeCommit(), through: store.committedSequence)
        self.view = view
        queue = SubmissionQueue(capacity: configuration.queueCapacity)
        failure = Mutex(nil)
        sequencer = Sequencer(
            state: state, requests: requests, store: store, view: view,
            checkpointIntervalRecords: configuration.checkpointIntervalRecords, groupObserver: groupObserver,
            clock: clock)
        BackgroundThread.start(name: "khata-sequencer") { [self] in self.runSequencer() }
    }

    /// Submits a batch and returns each event's result once the batch is durable.
    public func submit(_ events: [Event]) async throws(LedgerError) -> [EventResult] {
        // Unchecked: `submit(_:completion:)` calls its completion exactly once on every path
        // (refused at once, failed, or durable), which is what a continuation needs; the checked
        // kind's bookkeeping showed in the HTTP server's profile.
        let outcome = await withUnsafeContinuation {
            (continuation: UnsafeContinuation<Result<[EventResult], LedgerError>, Never>) in
            submit(events) { continuation.resume(returning: $0) }
        }
        return try outcome.get()
    }

    /// Submits a batch; `completion` runs (on the store's I/O thread, so it must be brief) once
    /// the batch is durable, or at once when the submission is refused.
    public func submit(_ events: [Event], completion: @escaping @Sendable (Result<[EventResult], LedgerError>) -> Void)
    {
        guard !events.isEmpty, events.count <= configuration.maximumBatchEvents else {
            completion(.failure(.batchSize(count: events.count, maximum: configuration.maximumBatchEvents)))
            return
        }
        for (index, event) in events.enumerated() {
            if let code = EventCodec.validateForLog(event) {
                completion(.failure(.invalidEvent(index: index, code: code)))
                return
            }
        }
        if let failed = failure.withLock({ $0 }) {
            completion(.failure(failed))
            return
        }
        guard !closing.load(ordering: .acquiring) else {
            completion(.failure(.closed))
            return
        }
        guard queue.tryEnqueue(Submission(events: events, completion: completion)) else {
            completion(.failure(.overloaded))
            return
        }
        wake.signal()
    }

    // MARK: Reads of committed state

    /// The account as of the last durable batch.
    public func account(id: UInt128) -> Account? { view.account(id: id) }

    /// The account with this key as of the last durable batch.
    public func account(key: String) -> Account? { view.account(key: key) }

    /// The transfer as of the last durable batch. Its records are read back from the log and
    /// verified first: a damaged one is `.damagedRecord` with the file and offset, never a
    /// transfer with wrong fields.
    public func transfer(id: UInt128) throws(LedgerError) -> Transfer? {
        do {
            return try view.transfer(id: id)
        } catch {
            throw damaged(error)
        }
    }

    /// A committed transfer's log sequence, timestamp and state as of the last durable batch,
    /// read from memory without the log: what a reader of the log needs to tell whether a
    /// request it reads made its transfer (the transfer's sequence is the request's) and what
    /// became of it, without reading the request back.
    public func transferStamp(id: UInt128) -> TransferStamp? { view.transferStamp(id: id) }

    /// An account's transfers in commit order, after the cursor `after` (a transfer timestamp;
    /// 0 for the beginning), at most `limit` (1...10,000) of them. The last one's timestamp is
    /// the cursor for the next page. A damaged record throws, as for `transfer(id:)`.
    public func history(accountId: UInt128, after: UInt64 = 0, limit: Int = 100) throws(LedgerError) -> [Transfer] {
        precondition(limit >= 1 && limit <= 10_000, "history pages hold 1...10,000 transfers")
        do {
            return try view.history(accountId: accountId, after: after, limit: limit)
        } catch {
            throw damaged(error)
        }
    }

    /// The refunds of each of the posted transfers `originals`, in commit order, as of the last
    /// durable batch. The ledger keeps only each transfer's refunded total in memory, so refunds
    /// are found in the history of the account they debit (the original's credit account): each
    /// such account is walked once, from the earliest original of it onwards, until every
    /// original's refunds add up to its total. A transfer never refunded costs one lookup; the
    /// others cost a walk of their accounts' later transfers, shared by all of them.
    public func refunds(of originals: [UInt128]) throws(LedgerError) -> [UInt128: [Transfer]] {
        var found: [UInt128: [Transfer]] = [:]
        // Per account: the originals still short of their total, and where the walk starts.
        var owing: [UInt128: [UInt128: UInt64]] = [:]
        var start: [UInt128: UInt64] = [:]
        for id in Set(originals) {
            guard let original = try transfer(id: id), original.refundedMinor > 0 else { continue }
            let account = original.fields.creditAccountId
            owing[account, default: [:]][id] = original.refundedMinor
            start[account] = min(start[account] ?? .max, original.timestamp)
            found[id] = []
        }
        for (account, first) in start {
            var cursor = first
            while owing[account]?.isEmpty == false {
                let page = try history(accountId: account, after: cursor, limit: 10_000)
                guard let last = page.last else { break }
                for transfer in page where transfer.fields.flags.contains(.refund) {
                    let original = transfer.fields.pendingId
                    guard let left = owing[account]?[original] else { continue }
                    found[original, default: []].append(transfer)
                    let remaining = left - min(left, transfer.fields.amountMinor)
                    owing[account]?[original] = remaining == 0 ? nil : remaining
                }
                cursor = last.timestamp
            }
        }
        // A total read while its last refund is being published can run ahead of the records
        // readers see; the walk then ends at the history's end with the refunds visible so far.
        return found
    }

    /// Damaged records found so far, by reads of the log and by `scrubSealedSegments`, oldest
    /// sequence first: what health checks and metrics report until the log is repaired.
    public var damage: [LogDamage] {
        let found = sequencer.requests.log.damage
        let scrubbed = scrubDamage.withLock { $0 }
        return found
            + scrubbed.filter { damage in !found.contains { $0.path == damage.path && $0.offset == damage.offset } }
    }

    private func damaged(_ error: DamagedRecord) -> LedgerError {
        let damage =
            sequencer.requests.log.damage.first { $0.sequence == error.sequence }
            ?? LogDamage(path: "the log", offset: 0, sequence: error.sequence, reason: "the record cannot be verified")
        return .damagedRecord(damage)
    }

    /// Up to `limit` holds still pending as of the last durable batch whose payment window has
    /// closed at `now` (nanoseconds since the Unix epoch), earliest deadline first: what the
    /// expiry job releases with `expirePending` events. Lock-free; no scan of all holds.
    public func dueHolds(at now: UInt64, limit: Int = 1_000) -> [UInt128] {
        view.dueHolds(at: now, limit: limit)
    }

    /// Every account as of the last durable batch, in creation order.
    public var accounts: [Account] { view.allAccounts }

    /// Up to `limit` accounts as of the last durable batch, in creation order, after the first
    /// `after` of them: a page of `accounts`.
    public func accounts(after: Int, limit: Int) -> [Account] { view.accounts(after: after, limit: limit) }

    /// The last durable log sequence.
    public var committedSequence: UInt64 { store.committedSequence }

    /// Waits until a checkpoint the sequencer is writing in the background is on disk. Once the
    /// ledger is idle no new one starts, so afterwards the data directory holds every checkpoint
    /// it will get before `close` (tests copy it then, as a crash would leave it).
    public func waitForCheckpointWrite() { sequencer.waitForCheckpointWrite() }

    /// Why the ledger stopped accepting writes (a failed write or sync), or nil while it is
    /// ready: for readiness checks.
    public var stoppedBy: LedgerError? { failure.withLock { $0 } }

    /// Submissions waiting for the sequencer.
    public var queueDepth: Int { queue.approximateCount }

    /// Stops taking submissions, applies and makes durable everything already queued, and
    /// closes the log.
    public func close() {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        scrubStop.signal()
        wake.signal()
        stopped.wait()
        store.close()
    }

    /// Nanoseconds since the Unix epoch from the system's real-time clock.
    @Sendable public static func wallClockNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private func runSequencer() {
        while true {
            guard let first = sequencer.takeCarried() ?? queue.tryDequeue() else {
                if closing.load(ordering: .acquiring) { break }
                wake.wait()
                continue
            }
            if let error = sequencer.process(first, next: { self.queue.tryDequeue() }) {
                failure.withLock { $0 = error }
            }
        }
        sequencer.finish()
        stopped.signal()
    }
}

/// Faults record memory in on a thread of its own, so the sequencer never stalls zeroing pages.
final class MemoryPreparer: Sendable {
    private let queue = DispatchQueue(label: "khata-memory", qos: .utility)

    func populate(_ base: UnsafeMutableRawPointer, bytes: Int) {
        // Safe: the memory stays mapped until the state is released, long after this runs, and
        // faulting pages in while the sequencer may already write them is harmless.
        nonisolated(unsafe) let address = base
        queue.async { ZeroedMemory.populate(address, bytes: bytes) }
    }
}
