import Foundation
import LedgerStorage
import TestSupport
import Testing

/// Golden files pin the on-disk format: a store built from fixed input must match them byte
/// for byte. A deliberate format change bumps `Format.formatVersion` and regenerates them with
/// KHATA_REGENERATE_GOLDEN=1 (see docs/FORMAT.md).
@Suite("Golden format files")
struct GoldenFormatTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden"
    ).path

    static var configuration: StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.segmentSizeBytes = 16 * 1024  // 96 record slots: the last group rolls to a second segment
        configuration.groupCapacityRecords = 20
        configuration.spareSegmentCount = 0
        return configuration
    }

    /// The fixed input: groups of varied sizes, then a checkpoint, then one more group.
    static func build(in directory: String) throws {
        let store = try SegmentStore.open(directory: directory, configuration: configuration)
        for size in [1, 20, 7, 20, 20, 20] { try Bodies.append(store, count: size, groupSize: size) }
        try store.writeCheckpoint(payload: Array("golden checkpoint payload".utf8))
        try Bodies.append(store, count: 3, groupSize: 3)
        store.close()
    }

    static func storeFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".khata") }.sorted()
    }

    @Test("a store built from fixed input matches the golden files byte for byte")
    func matchesGoldenFiles() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.build(in: directory.path)
        let built = try Self.storeFiles(directory.path)
        #expect(
            built == [
                "checkpoint-00000000000000000088.khata", "segment-00000000000000000001.khata",
                "segment-00000000000000000089.khata",
            ])
        if ProcessInfo.processInfo.environment["KHATA_REGENERATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(atPath: Self.goldenDirectory)
            try FileManager.default.createDirectory(atPath: Self.goldenDirectory, withIntermediateDirectories: true)
            for name in built {
                try FileManager.default.copyItem(
                    atPath: directory.file(name), toPath: Self.goldenDirectory + "/" + name)
            }
        }
        #expect(try Self.storeFiles(Self.goldenDirectory) == built, "golden files are missing; see docs/FORMAT.md")
        for name in built {
            let expected = try FileBytes.read(Self.goldenDirectory + "/" + name)
            let actual = try FileBytes.read(directory.file(name))
            #expect(actual.count == expected.count, "\(name): size changed")
            if let first = zip(actual, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record("\(name): first difference at byte offset \(first): the on-disk format changed")
            }
        }
    }

    @Test("the golden store opens, verifies and replays with this build")
    func goldenStoreIsReadable() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        for name in try Self.storeFiles(Self.goldenDirectory) {
            try FileManager.default.copyItem(atPath: Self.goldenDirectory + "/" + name, toPath: directory.file(name))
        }
        let report = try StoreVerifier.verify(directory: directory.path)
        #expect(report.lastSequence == 91)
        #expect(report.segmentCount == 2)
        #expect(report.checkpointSequences == [88])
        let (store, seen) = try Bodies.replayAll(directory.path, configuration: Self.configuration)
        defer { store.close() }
        #expect(store.checkpoint?.payload == Array("golden checkpoint payload".utf8))
        #expect(seen.map(\.0) == [89, 90, 91])
        #expect(seen.map(\.1) == [89, 90, 91].map(Bodies.body))
    }

    /// The golden store's groups are small; this pins the chunked chain hash of a group spanning
    /// three chunks against a value computed by a separate implementation (Python's hashlib and
    /// a bitwise CRC-32C, following docs/FORMAT.md).
    @Test("the chain hash of a multi-chunk group matches an independent computation")
    func multiChunkChainVector() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = StoreConfiguration()
        configuration.segmentSizeBytes = 80 * 4096
        configuration.groupCapacityRecords = 2_500
        configuration.spareSegmentCount = 0
        let store = try SegmentStore.open(directory: directory.path, configuration: configuration)
        defer { store.close() }
        let group = try store.append((1...2_500).map { (kind: Bodies.kind, body: Bodies.body(UInt64($0))) })
        #expect(group.chain.hex == "42e9b26aa2f137c7f0d09dea2cdcf3540e5b7d8666e3e335138e5b4cbfd1ddab")
    }

    @Test("a checkpoint of an empty log is refused")
    func emptyCheckpointRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try SegmentStore.open(directory: directory.path, configuration: Self.configuration)
        defer { store.close() }
        #expect(throws: StorageError.self) { try store.writeCheckpoint(payload: [1]) }
        #expect(try FileBytes.checkpoints(directory.path).isEmpty)
    }
}
