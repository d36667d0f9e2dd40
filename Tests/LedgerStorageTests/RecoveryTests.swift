import Foundation
import LedgerStorage
import TestSupport
import Testing

/// Recovery cases, each built from a real store then edited on disk: what opening does, and
/// what the verifier reports.
@Suite("Recovery and damage")
struct RecoveryTests {
    static let header = Format.segmentHeaderSizeBytes
    static let record = Format.recordSizeBytes

    /// A store of 1,000 records in groups of 100 (10 groups, 4+ segments of 64 KiB), closed.
    static func makeStore(_ directory: TemporaryDirectory, records: Int = 1_000) throws {
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        try Bodies.append(store, count: records, groupSize: 100)
        store.close()
    }

    /// Rewrites a record's checksum after an edit, as a deliberate forger would.
    static func resealRecord(_ path: String, offset: Int, edit: (inout [UInt8]) -> Void) throws {
        var bytes = try FileBytes.read(path)
        var slot = Array(bytes[offset..<(offset + record)])
        edit(&slot)
        let crc = slot.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
        slot.replaceSubrange(0..<4, with: withUnsafeBytes(of: crc.littleEndian, Array.init))
        bytes.replaceSubrange(offset..<(offset + record), with: slot)
        try FileBytes.write(path, bytes)
    }

    /// Opening must fail with `.corrupted` naming `path` and `offset`; the verifier must agree.
    static func expectRefused(
        _ directory: TemporaryDirectory, path: String, offset: Int, mentioning words: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for attempt in ["open", "verify"] {
            do {
                if attempt == "open" {
                    let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
                    store.close()
                } else {
                    _ = try StoreVerifier.verify(directory: directory.path)
                }
                Issue.record("\(attempt) accepted a damaged store", sourceLocation: sourceLocation)
            } catch {
                #expect(error.code == .corrupted, "\(attempt): \(error)", sourceLocation: sourceLocation)
                #expect(error.path == path, "\(attempt): \(error)", sourceLocation: sourceLocation)
                #expect(error.offset == offset, "\(attempt): \(error)", sourceLocation: sourceLocation)
                #expect(error.description.contains(words), "\(attempt): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("an empty directory opens as an empty store")
    func emptyDirectory() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        #expect(store.committedSequence == 0)
        #expect(store.recovery.segmentCount == 0)
        store.close()
        #expect(try StoreVerifier.verify(directory: directory.path).records == 0)
    }

    @Test("a last segment holding only its header opens, and appends continue in it")
    func headerOnlySegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let last = try #require(try FileBytes.segments(directory.path).last)
        // Zero every record of the last segment: what a crash right after a roll leaves.
        var bytes = try FileBytes.read(last)
        let firstOfLast = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self) }
        bytes.replaceSubrange(Self.header..<bytes.count, with: [UInt8](repeating: 0, count: bytes.count - Self.header))
        try FileBytes.write(last, bytes)
        let (store, _) = try Bodies.replayAll(directory.path)
        #expect(store.committedSequence == firstOfLast - 1)
        try Bodies.append(store, count: 5, groupSize: 5)
        store.close()
        #expect(try StoreVerifier.verify(directory: directory.path).lastSequence == firstOfLast + 4)
    }

    @Test("an unfinished group at the end of the last segment is truncated")
    func tornTailIsTruncated() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory, records: 150)  // groups 1...100, 101...150
        let path = try #require(try FileBytes.segments(directory.path).last)
        // Records 151 and 152 written with valid checksums, but no commit record: a crash
        // between pwrite and fdatasync of the next group.
        let end = Self.header + 152 * Self.record
        for (index, sequence) in [UInt64(151), 152].enumerated() {
            try Self.resealRecord(path, offset: end + index * Self.record) { slot in
                slot[4] = Bodies.kind.rawValue
                slot.replaceSubrange(8..<16, with: withUnsafeBytes(of: sequence.littleEndian, Array.init))
                slot.replaceSubrange(16..<128, with: Bodies.body(sequence))
            }
        }
        let report = try StoreVerifier.verify(directory: directory.path)
        #expect(report.tornTail?.offset == end)
        let (store, seen) = try Bodies.replayAll(directory.path)
        #expect(seen.count == 150)
        #expect(store.committedSequence == 150)
        #expect(store.recovery.truncatedTornBytes == 2 * Self.record)
        #expect(store.recovery.truncatedTornOffset == end)
        try Bodies.append(store, count: 3, groupSize: 3)
        store.close()
        let after = try StoreVerifier.verify(directory: directory.path)
        #expect(after.lastSequence == 153)
        #expect(after.tornTail == nil)
    }

    @Test("a group whose commit record reached the disk before some of its records is torn, not damage")
    func tornGroupWithCommitRecord() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory, records: 200)
        let path = try #require(try FileBytes.segments(directory.path).last)
        // Zero one record of the last group (101...200): its page never reached the disk.
        var bytes = try FileBytes.read(path)
        let victim = Self.header + (101 + 50) * Self.record
        bytes.replaceSubrange(victim..<(victim + Self.record), with: [UInt8](repeating: 0, count: Self.record))
        try FileBytes.write(path, bytes)
        let (store, seen) = try Bodies.replayAll(directory.path)
        defer { store.close() }
        #expect(seen.count == 100)
        #expect(store.committedSequence == 100)
    }

    @Test("garbage after the last group of the last segment is damage, not a torn write")
    func badChecksumInTail() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory, records: 150)
        let path = try #require(try FileBytes.segments(directory.path).last)
        let end = Self.header + 152 * Self.record
        try FileBytes.flipBit(path, offset: end + 77)
        Self.expectRefused(directory, path: path, offset: end, mentioning: "record checksum mismatch")
    }

    @Test(
        "damage in each region is detected with its location",
        arguments: [
            "segment header magic", "segment header field", "segment header checksum",
            "record body", "record checksum", "record kind", "commit record chain hash",
        ])
    func bitFlips(region: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let sealed = try FileBytes.segments(directory.path)[0]
        let lastGroupCommit = Self.header + 300 * Self.record + 2 * Self.record  // third group's commit
        switch region {
        case "segment header magic":
            try FileBytes.flipBit(sealed, offset: 3)
            Self.expectRefused(directory, path: sealed, offset: 0, mentioning: "magic")
        case "segment header field":
            try FileBytes.flipBit(sealed, offset: 26)
            Self.expectRefused(directory, path: sealed, offset: 124, mentioning: "segment header checksum mismatch")
        case "segment header checksum":
            try FileBytes.flipBit(sealed, offset: 125, bit: 3)
            Self.expectRefused(directory, path: sealed, offset: 124, mentioning: "segment header checksum mismatch")
        case "record body":
            let offset = Self.header + 17 * Self.record
            try FileBytes.flipBit(sealed, offset: offset + 90, bit: 5)
            Self.expectRefused(directory, path: sealed, offset: offset, mentioning: "record checksum mismatch")
        case "record checksum":
            let offset = Self.header + 42 * Self.record
            try FileBytes.flipBit(sealed, offset: offset + 2, bit: 7)
            Self.expectRefused(directory, path: sealed, offset: offset, mentioning: "record checksum mismatch")
        case "record kind":
            let offset = Self.header + 5 * Self.record
            try FileBytes.flipBit(sealed, offset: offset + 4, bit: 1)
            Self.expectRefused(directory, path: sealed, offset: offset, mentioning: "record checksum mismatch")
        case "commit record chain hash":
            try FileBytes.flipBit(sealed, offset: lastGroupCommit + 40)
            Self.expectRefused(directory, path: sealed, offset: lastGroupCommit, mentioning: "record checksum mismatch")
        default:
            Issue.record("unknown region \(region)")
        }
    }

    @Test("an edited record with a recomputed checksum breaks the hash chain")
    func forgedRecordBreaksChain() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let sealed = try FileBytes.segments(directory.path)[0]
        try Self.resealRecord(sealed, offset: Self.header + 120 * Self.record) { slot in slot[60] ^= 0xFF }
        // Records 101...200 form the second group; its commit record follows record 200.
        let commit = Self.header + 201 * Self.record
        Self.expectRefused(directory, path: sealed, offset: commit + 32, mentioning: "chain hash mismatch")
    }

    @Test("a forged chain hash in a later segment's header breaks continuity")
    func forgedSegmentChain() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let second = try FileBytes.segments(directory.path)[1]
        var bytes = try FileBytes.read(second)
        bytes[45] ^= 0x10
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<124])) }
        bytes.replaceSubrange(124..<128, with: withUnsafeBytes(of: crc.littleEndian, Array.init))
        try FileBytes.write(second, bytes)
        Self.expectRefused(directory, path: second, offset: 40, mentioning: "continues chain")
    }

    @Test("a sequence number edited with a recomputed checksum is a gap")
    func sequenceGap() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let sealed = try FileBytes.segments(directory.path)[0]
        let offset = Self.header + 10 * Self.record
        try Self.resealRecord(sealed, offset: offset) { slot in slot[8] &+= 1 }
        Self.expectRefused(
            directory, path: sealed, offset: offset + 8, mentioning: "sequence gap: expected 11, found 12")
    }

    @Test("a missing segment in the middle is reported")
    func missingSegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let segments = try FileBytes.segments(directory.path)
        try FileManager.default.removeItem(atPath: segments[1])
        Self.expectRefused(directory, path: segments[2], offset: 32, mentioning: "a segment is missing")
    }

    @Test("a missing first segment is reported")
    func missingFirstSegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let segments = try FileBytes.segments(directory.path)
        try FileManager.default.removeItem(atPath: segments[0])
        Self.expectRefused(directory, path: segments[1], offset: 24, mentioning: "earlier segments are missing")
    }

    @Test("a truncated segment file is reported")
    func truncatedSegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let sealed = try FileBytes.segments(directory.path)[0]
        let bytes = try FileBytes.read(sealed)
        try FileBytes.write(sealed, Array(bytes[0..<(bytes.count / 2)]))
        Self.expectRefused(directory, path: sealed, offset: bytes.count / 2, mentioning: "header says")
    }

    @Test("a damaged checkpoint is skipped on open and reported by the verifier")
    func damagedCheckpoint() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Bodies.small)
        try Bodies.append(store, count: 300, groupSize: 100)
        try store.writeCheckpoint(payload: [1])
        try Bodies.append(store, count: 100, groupSize: 100)
        try store.writeCheckpoint(payload: [2])
        store.close()
        let newest = try #require(try FileBytes.checkpoints(directory.path).last)
        try FileBytes.flipBit(newest, offset: 128)
        let (reopened, seen) = try Bodies.replayAll(directory.path)
        #expect(reopened.checkpoint?.payload == [1])
        #expect(seen.map(\.0) == Array(301...400))
        #expect(reopened.recovery.skippedCheckpoints.count == 1)
        reopened.close()
        #expect(throws: StorageError.self) { try StoreVerifier.verify(directory: directory.path) }
    }
}
