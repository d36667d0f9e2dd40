import Synchronization

/// A bounded lock-free multi-producer queue with one consumer (after Dmitry Vyukov's bounded
/// MPMC queue): each cell carries a sequence number that tells producers and the consumer whose
/// turn it is, so a producer claims a cell with one compare-and-swap and never waits on a lock.
/// A full queue refuses at once: that is the ledger's back-pressure.
final class SubmissionQueue<Element: AnyObject & Sendable>: @unchecked Sendable {
    // Safe (@unchecked Sendable): a cell's element is written only by the producer that claimed
    // the cell (its CAS on `enqueuePosition` succeeded) and read only by the single consumer after
    // it observes the cell's sequence with acquiring ordering; the releasing store of the
    // sequence publishes the element. `dequeuePosition` is written by the consumer alone (an
    // atomic only so that metrics may read it from other threads).
    private let capacity: Int
    private let mask: Int
    private let sequences: UnsafeMutablePointer<Atomic<Int>>
    private let elements: UnsafeMutablePointer<Element?>
    private let enqueuePosition = Atomic<Int>(0)
    private let dequeuePosition = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two.
    init(capacity requested: Int) {
        precondition(requested >= 2 && requested <= 1 << 24, "queue capacity must be 2...16,777,216")
        var size = 2
        while size < requested { size <<= 1 }
        capacity = size
        mask = size - 1
        sequences = .allocate(capacity: size)
        elements = .allocate(capacity: size)
        for index in 0..<size {
            (sequences + index).initialize(to: Atomic(index))
            (elements + index).initialize(to: nil)
        }
    }

    deinit {
        for index in 0..<capacity { _ = (sequences + index).move() }
        sequences.deallocate()
        elements.deinitialize(count: capacity)
        elements.deallocate()
    }

    /// Adds an element; false when the queue is full. Any thread.
    func tryEnqueue(_ element: Element) -> Bool {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let cell = position & mask
            let sequence = sequences[cell].load(ordering: .acquiring)
            let difference = sequence - position
            if difference == 0 {
                let (exchanged, current) = enqueuePosition.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged {
                    elements[cell] = element
                    sequences[cell].store(position + 1, ordering: .releasing)
                    return true
                }
                position = current
            } else if difference < 0 {
                return false  // the consumer has not freed this cell: full
            } else {
                position = enqueuePosition.load(ordering: .relaxed)
            }
        }
    }

    /// Takes the oldest element, or nil when empty. The consumer thread only.
    func tryDequeue() -> Element? {
        let position = dequeuePosition.load(ordering: .relaxed)
        let cell = position & mask
        let sequence = sequences[cell].load(ordering: .acquiring)
        guard sequence == position + 1 else { return nil }
        let element = elements[cell]
        elements[cell] = nil
        sequences[cell].store(position + capacity, ordering: .releasing)
        dequeuePosition.store(position + 1, ordering: .relaxed)
        return element
    }

    /// Elements waiting (approximate while producers run), for metrics.
    var approximateCount: Int {
        max(0, enqueuePosition.load(ordering: .relaxed) - dequeuePosition.load(ordering: .relaxed))
    }
}
