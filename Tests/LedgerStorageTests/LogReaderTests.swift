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
}
