import TestSupport
import Testing

@testable import LedgerCore

@Suite("Tag index")
struct TagIndexTests {
    @Test("agrees with a dictionary through inserts, removals (tombstones) and growth (seeded)")
    func agreesWithDictionary() {
        var random = SplitMix(seed: 128)
        let index = TagIndex<Unshared>(minimumCapacity: 4)
        // The index maps hashes to record numbers; the "records" here are the keys themselves.
        var records: [UInt128] = []
        var reference: [UInt128: Int] = [:]
        var keys: [UInt128] = []
        // Clustered ids (small values, shared high halves) stress probing.
        for number in 0..<3_000 {
            let high: UInt128 = number % 3 == 0 ? 0 : UInt128(random.next() % 64) << 64
            keys.append(high | UInt128(number + 1))
        }
        for step in 0..<60_000 {
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let probe = index.find(idHash(key)) { records[$0] == key }
            #expect(probe.record == reference[key], "step \(step)")
            switch random.next() % 4 {
            case 0, 1:
                if probe.record == nil {
                    records.append(key)
                    index.insert(idHash(key), record: records.count - 1, at: probe)
                    reference[key] = records.count - 1
                }
            case 2:
                if let record = probe.record {
                    index.remove(idHash(key), record: record)
                    reference[key] = nil
                }
            default:
                #expect(index.read(idHash(key)) { records[$0] == key } == reference[key], "step \(step)")
            }
            #expect(index.count == reference.count)
        }
        for key in keys { #expect(index.read(idHash(key)) { records[$0] == key } == reference[key]) }
    }

    @Test("ids that share a tag are told apart by the record")
    func sharedTags() {
        let index = TagIndex<Unshared>(minimumCapacity: 16)
        // The confirm closure decides: two records under one hash are both found, each by its own check.
        let hash: UInt64 = 0xDEAD_BEEF_0000_0001
        let first = index.find(hash) { _ in false }
        index.insert(hash, record: 7, at: first)
        let second = index.find(hash) { $0 == 8 }
        #expect(second.record == nil)
        index.insert(hash, record: 8, at: second)
        #expect(index.find(hash) { $0 == 7 }.record == 7)
        #expect(index.find(hash) { $0 == 8 }.record == 8)
        index.remove(hash, record: 7)
        #expect(index.read(hash) { $0 == 7 } == nil)
        #expect(index.read(hash) { $0 == 8 } == 8)
    }
}

@Suite("Record layout")
struct RecordLayoutTests {
    @Test("records have the documented sizes and the apply path's account fields in the first cache line")
    func layout() {
        #expect(MemoryLayout<AccountRecord>.stride == 192)
        // 40 bytes plus at most 23 bytes of index slot (8 bytes at 35-70% load): within 64.
        #expect(MemoryLayout<TransferRecord>.stride == 40)
        #expect(MemoryLayout<AccountRecord>.offset(of: \.lastTransfer)! < 64)
        #expect(MemoryLayout<AccountRecord>.offset(of: \.flags)! < 64)
        #expect(MemoryLayout<AccountRecord>.offset(of: \.creditsPosted)! < 64)
        #expect(MemoryLayout<AccountRecord>.offset(of: \.lastTransferIsDebit)! < 64)
    }
}
