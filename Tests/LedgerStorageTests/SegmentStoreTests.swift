import Foundation
import LedgerStorage
import TestSupport
import Testing

@Suite("Segment store")
struct SegmentStoreTests {
    @Test("appended records survive a reopen, across segment rolls, in order")
    func appendAndReopen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        #expect(store.committedSequence == 0)
        let last = try Bodies.append(store, count: 2_000, groupSize: 97)
        #expect(last == 2_000)
        #expect(store.committedSequence == 2_000)
        #expect(store.segmentCount > 3)
        store.close()

        let (reopened, seen) = try Bodies.replayAll(directory.path)
        defer { reopened.close() }
        #expect(seen.count == 2_000)
        for (index, (sequence, body)) in seen.enumerated() {
            #expect(sequence == UInt64(index + 1))
            #expect(body == Bodies.body(sequence))
        }
        #expect(reopened.recovery.lastSequence == 2_000)
        #expect(reopened.recovery.truncatedTornBytes == 0)
        #expect(try Bodies.append(reopened, count: 10, groupSize: 10) == 2_010)
    }

    @Test("segment files are named by their first sequence, zero-padded, and preallocated")
    func segmentNamesAndSizes() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        try Bodies.append(store, count: 1_000, groupSize: 100)
        store.close()
        let names = try FileBytes.segments(directory.path).map { ($0 as NSString).lastPathComponent }
        #expect(names.first == "segment-00000000000000000001.khata")
        #expect(names == names.sorted())
        for path in try FileBytes.segments(directory.path) {
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(size == Bodies.small.segmentSizeBytes)
        }
    }

    @Test("recovery replays only the records after the newest checkpoint")
    func checkpointBoundsReplay() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        try Bodies.append(store, count: 1_500, groupSize: 100)
        let checkpoint = try store.writeCheckpoint(payload: Array("state at 1500".utf8))
        #expect(checkpoint.sequence == 1_500)
        try Bodies.append(store, count: 120, groupSize: 40)
        store.close()

        let (reopened, seen) = try Bodies.replayAll(directory.path)
        defer { reopened.close() }
        #expect(reopened.checkpoint?.payload == Array("state at 1500".utf8))
        #expect(reopened.recovery.checkpointSequence == 1_500)
        #expect(seen.map(\.0) == Array(1_501...1_620))
        #expect(reopened.committedSequence == 1_620)
    }

    @Test("only the configured number of checkpoints is kept")
    func checkpointRetention() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        defer { store.close() }
        for _ in 0..<4 {
            try Bodies.append(store, count: 50, groupSize: 50)
            try store.writeCheckpoint(payload: [1, 2, 3])
        }
        let names = try FileBytes.checkpoints(directory.path).map { ($0 as NSString).lastPathComponent }
        #expect(names == ["checkpoint-00000000000000000150.khata", "checkpoint-00000000000000000200.khata"])
    }

    @Test("a second process-level open of the same store is refused")
    func exclusiveOpen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        defer { store.close() }
        #expect(throws: StorageError.self) {
            try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        }
        do {
            _ = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        } catch {
            #expect(error.code == .locked)
        }
    }

    @Test("bad arguments are refused without changing the store")
    func badArguments() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        defer { store.close() }
        #expect(throws: StorageError.self) { try store.append([]) }
        #expect(throws: StorageError.self) { try store.append([(kind: RecordKind.commit, body: Bodies.body(1))]) }
        #expect(throws: StorageError.self) { try store.append([(kind: Bodies.kind, body: [1, 2, 3])]) }
        #expect(throws: StorageError.self) {
            try store.append(Array(repeating: (kind: Bodies.kind, body: Bodies.body(1)), count: 101))
        }
        #expect(store.committedSequence == 0)
        var bad = StoreConfiguration()
        bad.segmentSizeBytes = 1000
        #expect(throws: StorageError.self) {
            try SegmentStore.open(directory: directory.path + "/other", configuration: bad)
        }
    }

    @Test("the verifier accepts a healthy store and counts everything")
    func verifierOnHealthyStore() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        try Bodies.append(store, count: 1_234, groupSize: 60)
        try store.writeCheckpoint(payload: [9])
        store.close()
        let report = try StoreVerifier.verify(directory: directory.path)
        #expect(report.records == 1_234)
        #expect(report.groups == 21)
        #expect(report.lastSequence == 1_234)
        #expect(report.checkpointSequences == [1_234])
        #expect(report.tornTail == nil)
    }
}
