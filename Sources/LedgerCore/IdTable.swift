/// An open-addressing hash table from 128-bit ids to slot numbers, over one allocation: linear
/// probing, power-of-two capacity, at most half full, backward-shift deletion. Zero is never a
/// valid id, so a zero key marks an empty slot. Several times faster than `Dictionary` here: no
/// per-lookup hasher seeding, and one cache line per probe.
public final class IdTable {
    private struct Slot {
        var low: UInt64
        var high: UInt64
        var value: UInt64
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    private var mask: Int
    public private(set) var count = 0

    public init(minimumCapacity: Int = 1024) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        capacity = size
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: Slot(low: 0, high: 0, value: 0), count: size)
    }

    deinit { slots.deallocate() }

    @inline(__always)
    private func home(_ low: UInt64, _ high: UInt64) -> Int {
        // A multiply-xorshift mix of both halves: sequential and structured ids spread evenly.
        var hash = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
        hash ^= hash >> 31
        return Int(truncatingIfNeeded: hash) & mask
    }

    /// Where the search for `key` starts: worth prefetching shortly before the lookup.
    public func homeAddress(_ key: UInt128) -> UnsafeRawPointer {
        UnsafeRawPointer(slots + home(UInt64(truncatingIfNeeded: key), UInt64(truncatingIfNeeded: key >> 64)))
    }

    /// The slot of `key`, or of the empty place where it would go.
    @inline(__always)
    private func probe(_ key: UInt128) -> (index: Int, found: Bool) {
        precondition(key != 0, "id 0 is never stored")
        let low = UInt64(truncatingIfNeeded: key)
        let high = UInt64(truncatingIfNeeded: key >> 64)
        var index = home(low, high)
        while true {
            let slot = slots[index]
            if slot.low == low && slot.high == high { return (index, true) }
            if slot.low == 0 && slot.high == 0 { return (index, false) }
            index = (index + 1) & mask
        }
    }

    public subscript(key: UInt128) -> Int? {
        get {
            let (index, found) = probe(key)
            return found ? Int(slots[index].value) : nil
        }
        set {
            if let newValue { insert(key, newValue) } else { remove(key) }
        }
    }

    private func insert(_ key: UInt128, _ value: Int) {
        var (index, found) = probe(key)
        if !found {
            if (count + 1) * 2 > capacity {
                grow()
                index = probe(key).index
            }
            count += 1
        }
        slots[index] = Slot(
            low: UInt64(truncatingIfNeeded: key), high: UInt64(truncatingIfNeeded: key >> 64), value: UInt64(value))
    }

    private func remove(_ key: UInt128) {
        var (hole, found) = probe(key)
        guard found else { return }
        count -= 1
        // Backward shift: move later entries of the cluster into the hole when that brings them
        // no further from their home slot, so lookups never stop early at a false gap.
        var index = (hole + 1) & mask
        while true {
            let slot = slots[index]
            if slot.low == 0 && slot.high == 0 { break }
            let wanted = home(slot.low, slot.high)
            let distanceFromHome = (index - wanted) & mask
            let distanceToHole = (index - hole) & mask
            if distanceToHole <= distanceFromHome {
                slots[hole] = slot
                hole = index
            }
            index = (index + 1) & mask
        }
        slots[hole] = Slot(low: 0, high: 0, value: 0)
    }

    private func grow() {
        let old = slots
        let oldCapacity = capacity
        capacity *= 2
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(low: 0, high: 0, value: 0), count: capacity)
        for index in 0..<oldCapacity {
            let slot = old[index]
            guard slot.low != 0 || slot.high != 0 else { continue }
            var target = home(slot.low, slot.high)
            while slots[target].low != 0 || slots[target].high != 0 { target = (target + 1) & mask }
            slots[target] = slot
        }
        old.deallocate()
    }
}

/// Transfers in creation order, found by id through an `IdTable`. Removal is only of the most
/// recently created transfer (a linked chain rolling back), so slots never move.
final class TransferStore {
    private var index: IdTable
    private(set) var values: [LedgerState.StoredTransfer] = []

    init(expectedCount: Int) {
        index = IdTable(minimumCapacity: max(expectedCount, 1 << 10))
        values.reserveCapacity(expectedCount)
    }

    var count: Int { values.count }

    subscript(id: UInt128) -> LedgerState.StoredTransfer? {
        get { index[id].map { values[$0] } }
        set {
            if let newValue {
                if let slot = index[id] {
                    values[slot] = newValue
                } else {
                    index[id] = values.count
                    values.append(newValue)
                }
            } else if let slot = index[id] {
                precondition(
                    slot == values.count - 1, "only the newest transfer is ever removed (a chain rolling back)")
                values.removeLast()
                index[id] = nil
            }
        }
    }

    func homeAddress(_ id: UInt128) -> UnsafeRawPointer { index.homeAddress(id) }

    /// Changes a stored transfer in place.
    func update(_ id: UInt128, _ body: (inout LedgerState.StoredTransfer) -> Void) {
        // Safe: callers looked the transfer up just before.
        body(&values[index[id]!])
    }
}
