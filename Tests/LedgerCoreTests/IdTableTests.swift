import TestSupport
import Testing

@testable import LedgerCore

@Suite("Id table")
struct IdTableTests {
    @Test("agrees with a dictionary through inserts, updates, removals and growth (seeded)")
    func agreesWithDictionary() {
        var random = SplitMix(seed: 128)
        let table = IdTable(minimumCapacity: 4)
        var reference: [UInt128: Int] = [:]
        // Clustered ids (small values, shared high halves) stress probing and backward shifts.
        var keys: [UInt128] = []
        for index in 0..<3_000 {
            let low = UInt128(index + 1)
            let high: UInt128 = index % 3 == 0 ? 0 : UInt128(random.next() % 64) << 64
            keys.append(high | low)
        }
        for step in 0..<60_000 {
            let key = keys[Int(random.next() % UInt64(keys.count))]
            switch random.next() % 4 {
            case 0, 1:
                table[key] = step
                reference[key] = step
            case 2:
                table[key] = nil
                reference[key] = nil
            default:
                #expect(table[key] == reference[key], "step \(step)")
            }
            #expect(table.count == reference.count)
        }
        for key in keys { #expect(table[key] == reference[key]) }
    }
}
