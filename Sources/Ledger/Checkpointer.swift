import Dispatch
import LedgerStorage
import Synchronization

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
