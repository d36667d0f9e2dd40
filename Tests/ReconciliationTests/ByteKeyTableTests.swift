import Reconciliation
import TestSupport
import Testing

/// The table that numbers references and transaction ids: every key once, found again by its
/// bytes alone, whatever its length (a slot holds the first 16 bytes, the rest lives apart).
@Suite("Byte key table")
struct ByteKeyTableTests {
    /// Random keys of 0 to 40 bytes over a small alphabet (so that many share prefixes), with
    /// the zero byte in it.
    static func keys(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix(seed: seed)
        let alphabet: [UInt8] = [0, 0x41, 0x42, 0x2D, 0x31, 0x39, 0xE0, 0xA7]
        return (0..<count).map { _ in
            let length = Int(random.next() % 41)
            return (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
        }
    }

    @Test("keys of every length up to 40 bytes are numbered once, in order, and found again (seeded property)")
    func numbersKeysOnce() {
        for seed: UInt64 in [1, 2, 3, 14_2026] {
            let keys = Self.keys(count: 5_000, seed: seed)
            // Sized for far fewer keys: the table grows past its first size.
            let table = ByteKeyTable(expectedCount: 4)
            var expected: [[UInt8]: Int32] = [:]
            for key in keys {
                let (id, added) = key.withUnsafeBytes { table.insert($0) }
                if let known = expected[key] {
                    #expect(!added && id == known, "seed \(seed): \(key) numbered again")
                } else {
                    #expect(added && id == Int32(expected.count), "seed \(seed): \(key) not numbered next")
                    expected[key] = id
                }
            }
            #expect(table.count == expected.count)
            for (key, id) in expected {
                #expect(key.withUnsafeBytes { table.find($0) } == id, "seed \(seed): \(key) not found")
                #expect(Array(table.key(id).utf8) == key || key.contains { $0 >= 0x80 }, "seed \(seed): key \(id)")
            }
        }
    }

    @Test("keys that differ only past byte 16, only in their last byte, or only in length are apart")
    func nearKeys() {
        let base = Array("KH-PAY-0000000000000000000001".utf8)
        var variants: [[UInt8]] = [[], [0], [0, 0], Array(base.prefix(16)), Array(base.prefix(17)), base]
        for position in [0, 7, 8, 15, 16, 17, base.count - 1] {
            var changed = base
            changed[position] ^= 1
            variants.append(changed)
        }
        for length in 0...24 { variants.append(Array(base.prefix(length))) }
        let table = ByteKeyTable(expectedCount: 8)
        var ids: [[UInt8]: Int32] = [:]
        for variant in variants {
            let (id, _) = variant.withUnsafeBytes { table.insert($0) }
            if let known = ids[variant] { #expect(known == id) } else { ids[variant] = id }
        }
        #expect(Set(ids.values).count == ids.count, "two different keys share an id")
        for (variant, id) in ids { #expect(variant.withUnsafeBytes { table.find($0) } == id) }
        #expect(table.find("KH-PAY-absent") == -1)
        #expect(table.find("KH-PAY-000000000000000000000") == -1)
    }

    @Test("strings and bytes are the same keys")
    func stringsAreBytes() {
        let table = ByteKeyTable()
        let (id, added) = table.insert("মূল্য-৳-1500")
        #expect(added)
        #expect(Array("মূল্য-৳-1500".utf8).withUnsafeBytes { table.find($0) } == id)
        #expect(table.key(id) == "মূল্য-৳-1500")
        let again = table.insert("মূল্য-৳-1500")
        #expect(again.id == id && !again.added)
    }
}
