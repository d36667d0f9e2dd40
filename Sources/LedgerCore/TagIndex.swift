#if canImport(Glibc)
    import Glibc
#endif

/// An open-addressing index from 64-bit key hashes to record numbers, with one writer and any
/// number of concurrent readers. Each slot is 8 bytes: the hash's upper 32 bits as a tag and the
/// record number plus one, so eight slots share a cache line and a lookup of a key that is not
/// there (the common case: a new transfer id) usually touches one line and no record at all.
/// The caller confirms a tag match against the record itself.
///
/// The home slot is taken from the tag's top bits, so growing needs only the slots, never the
/// records. Growth publishes a new table; old tables stay allocated until deinit because a reader
/// may still be probing one. Removal (a linked chain rolling back) leaves a tombstone. Slots and
/// the current table are written and read through `Publication`, which makes them safe to probe
/// from other threads when the engine hands in release/acquire.
package final class TagIndex<Publication: MemoryPublication>: @unchecked Sendable {
    // Safe (@unchecked Sendable): only the owner's thread writes; slots and the table pointer
    // are written with `Publication.publish` and read by other threads with `observe`.

    /// A table: its capacity's log2 in the first word, then the slots.
    private var table: UnsafeMutablePointer<UInt64>
    /// The current table for readers, in memory of its own so that it can be loaded atomically.
    private let published: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private var retired: [ZeroedMemory] = []
    private var memory: ZeroedMemory
    private var capacityShift: Int
    /// Live entries.
    package private(set) var count = 0
    private var tombstones = 0

    private static var empty: UInt64 { 0 }
    private static var tombstoneValue: UInt64 { 0xFFFF_FFFF }
    /// Record numbers must stay below this (the slot stores number + 1; all ones is a tombstone).
    package static var maximumRecord: Int { Int(UInt32.max) - 2 }

    package init(minimumCapacity: Int) {
        var shift = 4
        // The smallest table that holds the expected count at most 70% full, so it does not grow
        // before then and is at least 35% full when it gets there: 8 / 0.35, about 23 bytes an
        // entry at most, once the expected count is reached.
        while (1 << shift) * 7 < minimumCapacity * 10 { shift += 1 }
        capacityShift = shift
        (memory, table) = Self.allocateTable(shift: shift)
        published = .allocate(capacity: 1)
        published.initialize(to: UnsafeMutableRawPointer(table))
    }

    deinit {
        published.deallocate()
        memory.release()
        for old in retired { old.release() }
    }

    private static func allocateTable(shift: Int) -> (ZeroedMemory, UnsafeMutablePointer<UInt64>) {
        precondition(shift <= 32, "an index of more than 2^32 slots")
        let memory = ZeroedMemory(bytes: ((1 << shift) + 1) * MemoryLayout<UInt64>.stride, populate: true)
        let table = memory.base.bindMemory(to: UInt64.self, capacity: (1 << shift) + 1)
        table[0] = UInt64(shift)
        return (memory, table)
    }

    /// Bytes the current table takes.
    package var sizeBytes: Int { ((1 << capacityShift) + 1) * 8 }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    @inline(__always)
    private static func home(tag: UInt64, shift: Int) -> Int { Int(truncatingIfNeeded: tag >> (32 - UInt64(shift))) }

    /// The address of the slot a search for `hash` starts at: worth prefetching.
    @inline(__always)
    package func homeAddress(_ hash: UInt64) -> UnsafeRawPointer {
        UnsafeRawPointer(table + 1 + Self.home(tag: Self.tag(hash), shift: capacityShift))
    }

    package typealias Probe = IndexProbe

    /// Looks `hash` up for the writer; `matches` confirms a record whose tag matched.
    @inline(__always)
    package func find(_ hash: UInt64, matches: (Int) -> Bool) -> Probe {
        let tag = Self.tag(hash)
        let mask = (1 << capacityShift) - 1
        let slots = table + 1
        var index = Self.home(tag: tag, shift: capacityShift)
        var firstTombstone = -1
        while true {
            let slot = slots[index]
            if slot == Self.empty {
                return Probe(record: nil, insertSlot: firstTombstone >= 0 ? firstTombstone : index)
            }
            let value = slot & 0xFFFF_FFFF
            if value == Self.tombstoneValue {
                if firstTombstone < 0 { firstTombstone = index }
            } else if slot >> 32 == tag && matches(Int(value) - 1) {
                return Probe(record: Int(value) - 1, insertSlot: index)
            }
            index = (index + 1) & mask
        }
    }

    /// The first record whose tag matches `hash`, unconfirmed: a hint for prefetching it, which
    /// touches only the index (confirming would wait for the record's memory).
    @inline(__always)
    package func candidate(_ hash: UInt64) -> Int? {
        let tag = Self.tag(hash)
        let mask = (1 << capacityShift) - 1
        var index = Self.home(tag: tag, shift: capacityShift)
        while true {
            let slot = table[1 + index]
            if slot == Self.empty { return nil }
            if slot >> 32 == tag && slot & 0xFFFF_FFFF != Self.tombstoneValue { return Int(slot & 0xFFFF_FFFF) - 1 }
            index = (index + 1) & mask
        }
    }

    /// Inserts `record` for `hash` at the slot `probe` found (no other insert in between).
    @inline(__always)
    package func insert(_ hash: UInt64, record: Int, at probe: Probe) {
        precondition(record >= 0 && record <= Self.maximumRecord, "record number \(record) out of range")
        var slotIndex = probe.insertSlot
        let slots = table + 1
        let reusesTombstone = slots[slotIndex] != Self.empty
        if !reusesTombstone && (count + tombstones + 1) * 10 > (1 << capacityShift) * 7 {
            grow()
            slotIndex = emptySlot(for: Self.tag(hash))
        }
        let value = (Self.tag(hash) << 32) | UInt64(record + 1)
        Publication.publish(value, at: table + 1 + slotIndex)
        count += 1
        if reusesTombstone { tombstones -= 1 }
    }

    /// Removes the entry of `record` under `hash` (it must be there), leaving a tombstone.
    package func remove(_ hash: UInt64, record: Int) {
        let tag = Self.tag(hash)
        let mask = (1 << capacityShift) - 1
        let wanted = (tag << 32) | UInt64(record + 1)
        var index = Self.home(tag: tag, shift: capacityShift)
        while true {
            let slot = table[1 + index]
            precondition(slot != Self.empty, "removing an entry that is not in the index")
            if slot == wanted {
                Publication.publish((tag << 32) | Self.tombstoneValue, at: table + 1 + index)
                count -= 1
                tombstones += 1
                return
            }
            index = (index + 1) & mask
        }
    }

    /// Looks `hash` up from any thread; `matches` confirms a record whose tag matched (and must
    /// itself read the record safely).
    @inline(__always)
    package func read(_ hash: UInt64, matches: (Int) -> Bool) -> Int? {
        // Safe: the published pointer is never nil.
        let current = Publication.observe(published)!.assumingMemoryBound(to: UInt64.self)
        let shift = Int(current[0])
        let mask = (1 << shift) - 1
        let tag = Self.tag(hash)
        var index = Self.home(tag: tag, shift: shift)
        while true {
            let slot = Publication.observe(current + 1 + index)
            if slot == Self.empty { return nil }
            let value = slot & 0xFFFF_FFFF
            if value != Self.tombstoneValue && slot >> 32 == tag && matches(Int(value) - 1) { return Int(value) - 1 }
            index = (index + 1) & mask
        }
    }

    private func emptySlot(for tag: UInt64) -> Int {
        let mask = (1 << capacityShift) - 1
        var index = Self.home(tag: tag, shift: capacityShift)
        while table[1 + index] != Self.empty { index = (index + 1) & mask }
        return index
    }

    private func grow() {
        // Doubling when live entries fill more than a third, else the same size, which only
        // clears tombstones.
        let newShift = count * 3 > (1 << capacityShift) ? capacityShift + 1 : capacityShift
        let old = table
        let oldMemory = memory
        let oldCapacity = 1 << capacityShift
        let (freshMemory, fresh) = Self.allocateTable(shift: newShift)
        let newMask = (1 << newShift) - 1
        for index in 0..<oldCapacity {
            let slot = old[1 + index]
            guard slot != Self.empty, slot & 0xFFFF_FFFF != Self.tombstoneValue else { continue }
            var target = Self.home(tag: slot >> 32, shift: newShift)
            while fresh[1 + target] != Self.empty { target = (target + 1) & newMask }
            fresh[1 + target] = slot
        }
        capacityShift = newShift
        tombstones = 0
        table = fresh
        memory = freshMemory
        Publication.publish(UnsafeMutableRawPointer(fresh), at: published)
        retired.append(oldMemory)
    }
}

/// Where a `TagIndex` search found a key, or where it would insert it.
package struct IndexProbe {
    /// The record, when found.
    package var record: Int?
    /// The slot to insert at (the first tombstone or the empty slot that ended the search).
    var insertSlot: Int
}

/// Hashes for the indexes: a multiply-xorshift mix of both halves of an id, so that sequential
/// and structured ids spread evenly.
@inline(__always)
package func idHash(_ id: UInt128) -> UInt64 {
    let low = UInt64(truncatingIfNeeded: id)
    let high = UInt64(truncatingIfNeeded: id >> 64)
    var hash = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
    hash ^= hash >> 31
    hash = hash &* 0x94D0_49BB_1331_11EB
    hash ^= hash >> 29
    return hash
}

/// FNV-1a over the key's UTF-8, then the same finalizer: account keys are short.
package func keyHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    hash ^= hash >> 31
    hash = hash &* 0x94D0_49BB_1331_11EB
    hash ^= hash >> 29
    return hash
}
