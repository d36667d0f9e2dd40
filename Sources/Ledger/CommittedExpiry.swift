import CKhataSupport
import LedgerCore
import Synchronization

/// Committed holds ordered by when their payment window closes, for the expiry job: written by
/// the I/O thread as groups are published, read by any thread without locks.
///
/// A binary min-heap of (expires-at, created-at, record) in raw memory, under a sequence lock:
/// the writer makes the version odd while it changes the heap and even again after; a reader
/// walks the heap best-first (smallest deadline first, without changing it), collecting what is
/// due, and starts again if the version moved meanwhile. The heap's memory is never freed while
/// readers may look at it: a heap that outgrows its memory moves to a larger block and the old one
/// is kept until this object is released. Entries of holds resolved since they were queued are
/// dropped when they reach the top or when they outnumber the open holds (compaction); readers
/// skip them by checking each hold's committed state.
final class CommittedExpiry: @unchecked Sendable {
    // Safe (@unchecked Sendable): one writer thread (the I/O thread, via `LedgerTables.publish`);
    // readers read the heap only through the sequence lock, with atomic loads, from memory that
    // is never freed before deinit.
    private let version = Atomic<UInt64>(0)
    /// The current block and the count of entries in it, for readers.
    private let block: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let published = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var memory: ZeroedMemory
    private var retired: [ZeroedMemory] = []
    private var capacity: Int
    private var count = 0
    /// About how many queued holds are still open (queued minus resolved since).
    private var open = 0

    private static let wordsPerEntry = 3

    init() {
        capacity = 1_024
        memory = ZeroedMemory(bytes: capacity * Self.wordsPerEntry * 8)
        block = .allocate(capacity: 1)
        block.initialize(to: memory.base)
        published.initialize(to: 0)
    }

    deinit {
        memory.release()
        for old in retired { old.release() }
        block.deallocate()
        published.deallocate()
    }

    private var words: UnsafeMutablePointer<UInt64> { memory.base.assumingMemoryBound(to: UInt64.self) }

    private func entry(_ index: Int) -> ExpiryQueue.Entry {
        let base = words + index * Self.wordsPerEntry
        return ExpiryQueue.Entry(expiresAt: base[0], timestamp: base[1], record: Int(base[2]))
    }

    private func store(_ entry: ExpiryQueue.Entry, at index: Int) {
        let base = words + index * Self.wordsPerEntry
        khata_store_relaxed_u64(base, entry.expiresAt)
        khata_store_relaxed_u64(base + 1, entry.timestamp)
        khata_store_relaxed_u64(base + 2, UInt64(entry.record))
    }

    // MARK: Writing (the I/O thread)

    /// Queues `newHolds`, notes `resolved` holds, drops resolved entries from the top (and all
    /// of them when they outnumber the open ones); `isOpen` tells whether a queued hold is still
    /// pending as of the group being published.
    func update(newHolds: [ExpiryQueue.Entry], resolved: Int, isOpen: (ExpiryQueue.Entry) -> Bool) {
        let odd = version.add(1, ordering: .relaxed).newValue
        precondition(odd & 1 == 1, "one writer at a time")
        khata_fence_release()
        for hold in newHolds { push(hold) }
        open = max(0, open + newHolds.count - resolved)
        while count > 0 && !isOpen(entry(0)) { popTop() }
        if count > 2 * open + 1_024 { compact(keeping: isOpen) }
        khata_store_release_u64(published, UInt64(count))
        version.add(1, ordering: .releasing)
    }

    private func push(_ new: ExpiryQueue.Entry) {
        if count == capacity { grow() }
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) / 2
            let above = entry(parent)
            guard new < above else { break }
            store(above, at: child)
            child = parent
        }
        store(new, at: child)
    }

    private func popTop() {
        count -= 1
        guard count > 0 else { return }
        let last = entry(count)
        store(last, at: 0)
        siftDown(from: 0)
    }

    private func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < count && entry(left) < entry(smallest) { smallest = left }
            if right < count && entry(right) < entry(smallest) { smallest = right }
            if smallest == parent { return }
            let moved = entry(parent)
            store(entry(smallest), at: parent)
            store(moved, at: smallest)
            parent = smallest
        }
    }

    private func compact(keeping keep: (ExpiryQueue.Entry) -> Bool) {
        var kept = 0
        for index in 0..<count {
            let candidate = entry(index)
            if keep(candidate) {
                store(candidate, at: kept)
                kept += 1
            }
        }
        count = kept
        var index = count / 2 - 1
        while index >= 0 {
            siftDown(from: index)
            index -= 1
        }
    }

    private func grow() {
        let larger = ZeroedMemory(bytes: capacity * 2 * Self.wordsPerEntry * 8)
        larger.base.copyMemory(from: memory.base, byteCount: count * Self.wordsPerEntry * 8)
        retired.append(memory)
        memory = larger
        capacity *= 2
        khata_store_release_pointer(block, larger.base)
    }

    // MARK: Reading (any thread)

    /// Up to `limit` queued entries whose deadline is at most `now` and that `isOpen` accepts,
    /// earliest first, read without locks.
    func due(at now: UInt64, limit: Int, isOpen: (ExpiryQueue.Entry) -> Bool) -> [ExpiryQueue.Entry] {
        while true {
            let before = version.load(ordering: .acquiring)
            if before & 1 == 1 { continue }
            // Safe: the published block is never nil and never freed while this object lives.
            let base = khata_load_acquire_pointer(block)!.assumingMemoryBound(to: UInt64.self)
            let size = Int(khata_load_acquire_u64(published))
            let found = Self.walk(base, count: size, now: now, limit: limit, isOpen: isOpen)
            khata_fence_acquire()
            if version.load(ordering: .relaxed) == before { return found }
        }
    }

    /// Best-first walk of a heap snapshot: a small frontier heap of positions, smallest deadline
    /// first; entries past `now` end the walk, entries `isOpen` rejects are passed through.
    private static func walk(
        _ base: UnsafeMutablePointer<UInt64>, count: Int, now: UInt64, limit: Int,
        isOpen: (ExpiryQueue.Entry) -> Bool
    ) -> [ExpiryQueue.Entry] {
        func read(_ index: Int) -> ExpiryQueue.Entry {
            let words = base + index * wordsPerEntry
            return ExpiryQueue.Entry(
                expiresAt: khata_load_relaxed_u64(words), timestamp: khata_load_relaxed_u64(words + 1),
                record: Int(truncatingIfNeeded: khata_load_relaxed_u64(words + 2)))
        }
        var found: [ExpiryQueue.Entry] = []
        // The frontier orders heap positions by their entries; its `record` field carries the
        // position.
        var frontier = ExpiryQueue()
        func offer(_ index: Int) {
            guard index < count else { return }
            let candidate = read(index)
            guard candidate.expiresAt <= now else { return }
            frontier.push(
                ExpiryQueue.Entry(expiresAt: candidate.expiresAt, timestamp: candidate.timestamp, record: index))
        }
        offer(0)
        // A torn snapshot (the writer moved on) could mislead the walk; the caller retries it.
        var steps = 0
        while found.count < limit, let next = frontier.pop(), steps <= count {
            steps += 1
            let queued = read(next.record)
            if isOpen(queued) { found.append(queued) }
            offer(2 * next.record + 1)
            offer(2 * next.record + 2)
        }
        return found
    }
}
