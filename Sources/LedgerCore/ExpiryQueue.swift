/// Holds ordered by when their payment window closes: a binary min-heap of (expiresAt,
/// timestamp, transfer record), so the expiry job finds due holds without scanning. Entries of holds that were
/// resolved meanwhile stay in the heap until they reach the top and are dropped there.
package struct ExpiryQueue {
    package struct Entry: Comparable {
        package var expiresAt: UInt64
        package var timestamp: UInt64
        /// The hold's transfer record; with `timestamp` it tells a stale entry (of a hold rolled
        /// back with its chain, whose record was reused) from a live one.
        package var record: Int

        package init(expiresAt: UInt64, timestamp: UInt64, record: Int) {
            self.expiresAt = expiresAt
            self.timestamp = timestamp
            self.record = record
        }

        package static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.expiresAt, lhs.timestamp) < (rhs.expiresAt, rhs.timestamp)
        }
    }

    private(set) var heap: [Entry] = []

    package init() {}

    package var count: Int { heap.count }

    package mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[child] < heap[parent] {
                heap.swapAt(child, parent)
                child = parent
            } else {
                break
            }
        }
    }

    package var top: Entry? { heap.first }

    @discardableResult
    package mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let entry = heap.removeLast()
        siftDown(from: 0)
        return entry
    }

    /// Up to `limit` entries due at `now`, earliest first, as `resolve` names them; entries it
    /// returns nil for (holds resolved or rolled back) are dropped, the others stay queued.
    mutating func due(at now: UInt64, limit: Int, resolve: (Entry) -> UInt128?) -> [UInt128] {
        var due: [UInt128] = []
        var keep: [Entry] = []
        while due.count < limit, let entry = top, entry.expiresAt <= now {
            pop()
            guard let id = resolve(entry) else { continue }
            due.append(id)
            keep.append(entry)
        }
        for entry in keep { push(entry) }
        return due
    }

    /// Drops the entries `keep` rejects (holds resolved since) and restores the heap order:
    /// resolved holds otherwise stay queued until their window would have closed, which at a
    /// high rate of holds is far more entries than there are open holds.
    package mutating func compact(keeping keep: (Entry) -> Bool) {
        heap = heap.filter(keep)
        var index = heap.count / 2 - 1
        while index >= 0 {
            siftDown(from: index)
            index -= 1
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
