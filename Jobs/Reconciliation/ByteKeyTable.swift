import CMemoryHints
import Glibc

/// Byte strings (payment references, provider transaction ids) numbered 0, 1, 2, … in the order
/// they are first added, so that the rest of a run compares and indexes plain integers.
///
/// Reconciliation looks up every settlement line's reference and transaction id once; at two
/// million lines a night that is what the run spends its time on, and each lookup is a cache miss
/// in a table larger than the cache. So the table is built to take one miss per lookup, and to
/// let callers overlap them: open addressing with linear probing in one flat array of 32-byte
/// slots, each holding the key's full hash, its id and length, and its first 16 bytes, so that a
/// key of up to 16 bytes is found or refused without leaving the slot. Callers that have many
/// keys compute `hash` and `prefetch` the slot a few keys ahead of `insert` or `find`. The slots
/// sit on huge pages where the system offers them. No per-key allocation, no reference counting.
public final class ByteKeyTable {
    /// One slot: `hash` 0 is empty (a key hashing to 0 is stored as 1).
    private struct Slot {
        var hash: UInt64
        var id: Int32
        var length: UInt32
        var prefix0: UInt64
        var prefix1: UInt64
    }

    /// The table's state, behind a pointer the object never replaces: the lookups, many
    /// millions a run, then do no exclusivity bookkeeping on the object's properties.
    private struct State {
        var slots: UnsafeMutablePointer<Slot>
        var slotsBytes: Int
        var slotMask: Int
        /// Every key's bytes, in id order (a slot keeps the first 16 of them too).
        var arena: UnsafeMutablePointer<UInt8>
        var arenaCapacity: Int
        var arenaCount = 0
        /// Each key's start in the arena (upper 48 bits) and length (lower 16 bits), by id.
        var spans: UnsafeMutablePointer<UInt64>
        var spansCapacity: Int
        var count = 0
    }

    private let state: UnsafeMutablePointer<State>

    /// Keys are identifiers, which the importer limits to 128 bytes; this is the table's own bound.
    public static let maximumKeyBytes = Int(UInt16.max)

    /// How many keys the table holds; the ids are `0..<count`.
    public var count: Int { state.pointee.count }

    /// A table sized for `expectedCount` keys (it grows past them).
    public init(expectedCount: Int = 1_024) {
        var capacity = 64
        while capacity < max(expectedCount, 1) * 2 { capacity <<= 1 }
        let (slots, slotsBytes) = Self.allocateSlots(capacity)
        let arenaCapacity = max(1_024, expectedCount * 16)
        let spansCapacity = max(64, expectedCount)
        state = .allocate(capacity: 1)
        state.initialize(
            to: State(
                slots: slots, slotsBytes: slotsBytes, slotMask: capacity - 1, arena: .allocate(capacity: arenaCapacity),
                arenaCapacity: arenaCapacity, spans: .allocate(capacity: spansCapacity), spansCapacity: spansCapacity))
    }

    deinit {
        munmap(state.pointee.slots, state.pointee.slotsBytes)
        state.pointee.arena.deallocate()
        state.pointee.spans.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Zeroed slots from the system, on huge pages when it has them: the table is read at random
    /// and a miss in the page tables costs as much as one in the cache.
    private static func allocateSlots(_ capacity: Int) -> (UnsafeMutablePointer<Slot>, Int) {
        let bytes = capacity * MemoryLayout<Slot>.stride
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            memory != MAP_FAILED
        else { fatalError("cannot map \(bytes) bytes for a key table: \(String(cString: strerror(errno)))") }
        // A hint: without huge pages the table works the same, only slower.
        _ = madvise(memory, bytes, MADV_HUGEPAGE)
        // Touched in order now rather than at random later: the lookups ask for slots ahead of
        // use, and the processor drops such a request for a page not yet there.
        let page = memory.assumingMemoryBound(to: UInt8.self)
        for offset in stride(from: 0, to: bytes, by: 4_096) { page[offset] = 0 }
        return (memory.bindMemory(to: Slot.self, capacity: capacity), bytes)
    }

    /// Asks for the slot where `hash`'s search starts to be brought into the cache.
    @inline(__always)
    public func prefetch(hash: UInt64) {
        khata_prefetch(state.pointee.slots + (Int(truncatingIfNeeded: hash) & state.pointee.slotMask))
    }

    /// The id of `key`, adding it when it is new (`added` true).
    @inline(__always)
    public func insert(_ key: UnsafeRawBufferPointer) -> (id: Int32, added: Bool) {
        insert(key, hash: Self.hash(key))
    }

    /// `insert` with the key's hash already computed (`ByteKeyTable.hash`).
    @inline(__always)
    public func insert(_ key: UnsafeRawBufferPointer, hash rawHash: UInt64) -> (id: Int32, added: Bool) {
        let (index, found, hash, prefix0, prefix1) = probe(key, rawHash)
        if found >= 0 { return (found, false) }
        precondition(key.count <= Self.maximumKeyBytes, "a key of \(key.count) bytes")
        let id = Int32(truncatingIfNeeded: state.pointee.count)
        precondition(state.pointee.count < Int(Int32.max) - 1, "more keys than ids")
        if state.pointee.arenaCount + key.count > state.pointee.arenaCapacity {
            growArena(toHold: state.pointee.arenaCount + key.count)
        }
        if state.pointee.count == state.pointee.spansCapacity { growSpans() }
        let start = state.pointee.arenaCount
        if let base = key.baseAddress, key.count > 0 {
            (state.pointee.arena + start).initialize(from: base.assumingMemoryBound(to: UInt8.self), count: key.count)
        }
        state.pointee.spans[Int(id)] = UInt64(start) << 16 | UInt64(key.count)
        state.pointee.arenaCount = start + key.count
        state.pointee.count += 1
        state.pointee.slots[index] = Slot(
            hash: hash, id: id, length: UInt32(key.count), prefix0: prefix0, prefix1: prefix1)
        if state.pointee.count * 2 > state.pointee.slotMask + 1 { growSlots() }
        return (id, true)
    }

    /// The id of `key`, or -1 when the table does not hold it.
    @inline(__always)
    public func find(_ key: UnsafeRawBufferPointer) -> Int32 {
        find(key, hash: Self.hash(key))
    }

    /// `find` with the key's hash already computed (`ByteKeyTable.hash`).
    @inline(__always)
    public func find(_ key: UnsafeRawBufferPointer, hash rawHash: UInt64) -> Int32 {
        probe(key, rawHash).id
    }

    /// Searches from `rawHash`'s slot: the slot holding `key` and its id, or the empty slot that
    /// ends the search and -1; with the hash as stored and the key's first 16 bytes.
    @inline(__always)
    private func probe(_ key: UnsafeRawBufferPointer, _ rawHash: UInt64) -> (
        index: Int, id: Int32, hash: UInt64, prefix0: UInt64, prefix1: UInt64
    ) {
        let hash = rawHash == 0 ? 1 : rawHash
        let (prefix0, prefix1) = Self.prefix(key)
        let slots = state.pointee.slots
        let mask = state.pointee.slotMask
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.hash == 0 { return (index, -1, hash, prefix0, prefix1) }
            if slot.hash == hash && slot.length == UInt32(key.count) && slot.prefix0 == prefix0
                && slot.prefix1 == prefix1 && restEquals(slot.id, key)
            {
                return (index, slot.id, hash, prefix0, prefix1)
            }
            index = (index + 1) & mask
        }
    }

    /// `insert` for a string's UTF-8 bytes.
    public func insert(_ key: String) -> (id: Int32, added: Bool) {
        var key = key
        return key.withUTF8 { insert(UnsafeRawBufferPointer($0)) }
    }

    /// `find` for a string's UTF-8 bytes.
    public func find(_ key: String) -> Int32 {
        var key = key
        return key.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    /// The key numbered `id`, as text.
    public func key(_ id: Int32) -> String {
        precondition(id >= 0 && Int(id) < state.pointee.count, "no key \(id)")
        let span = state.pointee.spans[Int(id)]
        return String(
            decoding: UnsafeBufferPointer(start: state.pointee.arena + Int(span >> 16), count: Int(span & 0xFFFF)),
            as: UTF8.self)
    }

    /// The first 16 bytes of `key`, zero-padded, read with loads inside the key only (no
    /// copy through memory, which would stall the loads that follow).
    @inline(__always)
    private static func prefix(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        guard let base = key.baseAddress else { return (0, 0) }
        let count = key.count
        if count >= 16 {
            return (
                base.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                base.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            )
        }
        if count >= 8 {
            // The last eight bytes, shifted down past the ones the first word already holds.
            let last = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            return (base.loadUnaligned(fromByteOffset: 0, as: UInt64.self), count == 8 ? 0 : last >> (8 * (16 - count)))
        }
        if count >= 4 {
            let low = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let last = UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            return (count == 4 ? low : low | (last >> (8 * (8 - count))) << 32, 0)
        }
        var word: UInt64 = 0
        for index in 0..<count { word |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << (8 * index) }
        return (word, 0)
    }

    /// Whether the bytes past the first 16 of key `id` and of `key` agree (lengths already do).
    @inline(__always)
    private func restEquals(_ id: Int32, _ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count > 16, let base = key.baseAddress else { return true }
        let start = Int(state.pointee.spans[Int(id)] >> 16) + 16
        return memcmp(state.pointee.arena + start, base + 16, key.count - 16) == 0
    }

    private func growArena(toHold needed: Int) {
        var capacity = state.pointee.arenaCapacity * 2
        while capacity < needed { capacity *= 2 }
        state.pointee.arena = moved(state.pointee.arena, count: state.pointee.arenaCount, into: capacity)
        state.pointee.arenaCapacity = capacity
    }

    private func growSpans() {
        let capacity = state.pointee.spansCapacity * 2
        state.pointee.spans = moved(state.pointee.spans, count: state.pointee.count, into: capacity)
        state.pointee.spansCapacity = capacity
    }

    private func growSlots() {
        let oldSlots = state.pointee.slots
        let oldMask = state.pointee.slotMask
        let capacity = (oldMask + 1) * 2
        let (larger, largerBytes) = Self.allocateSlots(capacity)
        let mask = capacity - 1
        for old in 0...oldMask where oldSlots[old].hash != 0 {
            var index = Int(truncatingIfNeeded: oldSlots[old].hash) & mask
            while larger[index].hash != 0 { index = (index + 1) & mask }
            larger[index] = oldSlots[old]
        }
        munmap(oldSlots, state.pointee.slotsBytes)
        state.pointee.slots = larger
        state.pointee.slotsBytes = largerBytes
        state.pointee.slotMask = mask
    }

    /// A 64-bit hash of `key`: 8-byte words folded by 128-bit multiplication (the low half of the
    /// result picks the slot). Not for adversaries: a file's identifiers chosen to collide slow
    /// one run down, and change nothing it finds.
    @inline(__always)
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let count = key.count
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        guard let base = key.baseAddress, count > 0 else { return fold(state, 0x2D35_8DCC_AA6C_78A5) }
        if count >= 8 {
            var offset = 0
            while offset + 8 < count {
                state = fold(state ^ base.loadUnaligned(fromByteOffset: offset, as: UInt64.self), 0xA076_1D64_78BD_642F)
                offset += 8
            }
            // The last word overlaps the one before when the length is not a multiple of 8.
            state = fold(
                state ^ base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self), 0xE703_7ED1_A0B4_28DB)
        } else if count >= 4 {
            let low = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let high = UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            state = fold(state ^ (high << 32 | low), 0xE703_7ED1_A0B4_28DB)
        } else {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            let word = UInt64(bytes[0]) << 16 | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1])
            state = fold(state ^ word, 0xE703_7ED1_A0B4_28DB)
        }
        return fold(state, 0x8EBC_6AF0_9C88_C6E3)
    }

    @inline(__always)
    private static func fold(_ value: UInt64, _ multiplier: UInt64) -> UInt64 {
        let product = value.multipliedFullWidth(by: multiplier)
        return product.high ^ product.low
    }
}

/// `count` values moved from `old` into a new allocation of `capacity`; `old` is freed.
func moved<T>(_ old: UnsafeMutablePointer<T>, count: Int, into capacity: Int) -> UnsafeMutablePointer<T> {
    let larger = UnsafeMutablePointer<T>.allocate(capacity: capacity)
    larger.moveInitialize(from: old, count: count)
    old.deallocate()
    return larger
}
