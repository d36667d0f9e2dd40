import LedgerCore

/// A map from 128-bit ids to small numbers for the export's inner loop, hashed as the ledger's
/// own indexes hash ids (`idHash`): the standard dictionary's seeded SipHash cost a fifth of the
/// export in profiles. Open addressing, linear probing, power-of-two capacity; id 0 is never
/// stored (zero means "none" in every field).
struct IdTable {
    private var keys: [UInt128]
    private var values: [UInt32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 10) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ id: UInt128, _ mask: Int) -> Int { Int(truncatingIfNeeded: idHash(id)) & mask }

    /// The number stored for `id`, if any.
    @inline(__always)
    func value(for id: UInt128) -> UInt32? {
        var index = Self.slot(id, mask)
        while true {
            let key = keys[index]
            if key == id { return values[index] }
            if key == 0 { return nil }
            index = (index + 1) & mask
        }
    }

    /// Stores `value` for `id` (replacing any earlier one).
    @inline(__always)
    mutating func set(_ id: UInt128, _ value: UInt32) {
        precondition(id != 0, "id 0 is never stored")
        if (count + 1) * 2 > keys.count { grow() }
        var index = Self.slot(id, mask)
        while true {
            let key = keys[index]
            if key == id {
                values[index] = value
                return
            }
            if key == 0 {
                keys[index] = id
                values[index] = value
                count += 1
                return
            }
            index = (index + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for index in oldKeys.indices where oldKeys[index] != 0 { set(oldKeys[index], oldValues[index]) }
    }
}
