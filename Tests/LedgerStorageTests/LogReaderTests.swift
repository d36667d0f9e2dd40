import Foundation
import LedgerStorage
import TestSupport
import Testing

@Suite("Log reader")
struct LogReaderTests {
    @Test("every committed record is found by its sequence, across segments and while the log grows")
    func findsEveryRecord() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        defer { store.close() }
        let reader = LogReader(directory: directory.path)
        #expect(reader.record(sequence: 1) == nil)
        try Bodies.append(store, count: 700, groupSize: 97)
        // Segments the store started after the reader first looked are found on demand.
        try Bodies.append(store, count: 1_300, groupSize: 61)
        #expect(store.segmentCount > 3)
        for sequence in UInt64(1)...2_000 {
            guard let (kind, body) = reader.record(sequence: sequence) else {
                Issue.record("sequence \(sequence) not found")
                return
            }
            #expect(kind.rawValue >= RecordKind.firstDataKind)
            #expect(Array(UnsafeRawBufferPointer(start: body, count: 112)) == Bodies.body(sequence))
        }
        #expect(reader.record(sequence: 0) == nil)
        #expect(reader.record(sequence: 2_001) == nil)
    }

    @Test("a scan visits the same records as reads by sequence, from any start, across segments")
    func scanMatchesReads() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        defer { store.close() }
        try Bodies.append(store, count: 1_500, groupSize: 53)
        #expect(store.segmentCount > 3)
        let reader = LogReader(directory: directory.path)
        var random = SplitMix(seed: 41)
        for _ in 0..<40 {
            let after = UInt64.random(in: 0...1_500, using: &random)
            let through = UInt64.random(in: after...1_500, using: &random)
            var visited: [UInt64] = []
            let end = reader.scan(after: after, through: through) { sequence, kind, body in
                #expect(kind == Bodies.kind)
                #expect(Array(UnsafeRawBufferPointer(start: body, count: 112)) == Bodies.body(sequence))
                visited.append(sequence)
                return true
            }
            #expect(end == .completed)
            #expect(visited == Array(stride(from: after + 1, through: through, by: 1)))
        }
        // The visitor stops the scan; a range past the log's end is missing there.
        var seen = 0
        #expect(
            reader.scan(after: 10, through: 900) { _, _, _ in
                seen += 1
                return seen < 5
            } == .completed)
        #expect(seen == 5)
        #expect(reader.scan(after: 1_490, through: 1_600) { _, _, _ in true } == .missing(1_501))
    }

    @Test("a scan stops at a damaged record with its file and offset, having visited only those before it")
    func scanStopsAtDamage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
            defer { store.close() }
            try Bodies.append(store, count: 300, groupSize: 20)
        }
        let first = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("segment-") }
                .sorted().first)
        let path = directory.path + "/" + first
        // Sequence 30's slot: the data record whose sequence field says 30.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let offset = try #require(
            stride(from: Format.segmentHeaderSizeBytes, to: bytes.count, by: Format.recordSizeBytes).first { slot in
                bytes[slot + 4] >= RecordKind.firstDataKind && bytes[slot + 8] == 30 && bytes[slot + 9] == 0
            })
        let before = LogReader(directory: directory.path)
        #expect(before.record(sequence: 30) != nil)
        try FileBytes.flipBit(path, offset: offset + 60, bit: 2)
        let reader = LogReader(directory: directory.path)
        var visited: [UInt64] = []
        let end = reader.scan(after: 5, through: 300) { sequence, _, _ in
            visited.append(sequence)
            return true
        }
        #expect(visited == Array(6...29))
        guard case .damaged(let damage) = end else {
            Issue.record("the scan ended \(end), not at the damage")
            return
        }
        #expect(damage.path == path)
        #expect(damage.offset == offset)
        #expect(damage.sequence == 30)
    }
}
