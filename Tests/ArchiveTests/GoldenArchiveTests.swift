import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerBench
import LedgerStorage
import TestSupport
import Testing

/// An archive written by an earlier build, committed under `Golden/`: this build must still
/// verify it and restore from it the very segment files it was made from. A change that breaks
/// it is a format change (docs/ARCHIVE.md). `KHATA_WRITE_GOLDEN_ARCHIVE=1` writes a new one.
@Suite("Golden archive")
struct GoldenArchiveTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
        .path

    /// What the golden archive must give back.
    struct Expected: Codable {
        var publicKey: String
        var lastSequence: UInt64
        var chainHead: String
        /// SHA-256 of each segment file the archive was exported from.
        var segments: [String: String]
    }

    @Test("the committed archive verifies and restores the segments it was made from")
    func goldenArchive() async throws {
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.golden + "/expected.json")))
        let key = try Ed25519.PublicKey(text: expected.publicKey)
        let check = try await Blocking.verify(directory: Self.golden + "/archive", trustedKey: key)
        #expect(check.lastSequence == expected.lastSequence)
        #expect(check.endChain == expected.chainHead)
        let root = TemporaryDirectory("khata-golden-restore")
        defer { root.remove() }
        let outcome = try await Blocking.restore(
            archiveDirectory: Self.golden + "/archive", dataDirectory: root.path + "/data", trustedKey: key)
        #expect(outcome.endChain == expected.chainHead)
        let restored = try ArchiveFixture.segments(root.path + "/data/ledger")
        #expect(Set(restored.keys) == Set(expected.segments.keys))
        for (name, bytes) in restored {
            #expect(Crypto.hex(Crypto.sha256(bytes)) == expected.segments[name], "segment \(name)")
        }
        #expect(try StoreVerifier.verify(directory: root.path + "/data/ledger").chain.hex == expected.chainHead)
    }

    @Test(
        "writes a new golden archive (only with KHATA_WRITE_GOLDEN_ARCHIVE=1)",
        .enabled(if: ProcessInfo.processInfo.environment["KHATA_WRITE_GOLDEN_ARCHIVE"] == "1"))
    func writeGolden() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        var configuration = ArchiveFixture.configuration(segmentSizeBytes: 64 * 1024)
        configuration.storage.groupCapacityRecords = 256
        configuration.maximumBatchEvents = 250
        let (clock, advance) = ReservationTraffic.clock(startNanoseconds: 1_796_000_000_000_000_000)
        let ledger = try Ledger.open(directory: fixture.ledgerDirectory, configuration: configuration, clock: clock)
        var traffic = ReservationTraffic(transfers: 1_500, seed: 2026)
        traffic.blockReservations = 250
        _ = try await traffic.write(into: ledger, advance: advance)
        ledger.close()
        let manifest = try #require(try await Blocking.export(fixture.request()).manifest)
        try? FileManager.default.removeItem(atPath: Self.golden + "/archive")
        try FileManager.default.createDirectory(atPath: Self.golden, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture.archiveDirectory, toPath: Self.golden + "/archive")
        try? FileManager.default.removeItem(atPath: Self.golden + "/archive/.lock")
        let segments = try ArchiveFixture.segments(fixture.ledgerDirectory).mapValues {
            Crypto.hex(Crypto.sha256($0))
        }
        let expected = Expected(
            publicKey: fixture.key.publicKey.hex, lastSequence: manifest.lastSequence, chainHead: manifest.endChain,
            segments: segments)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(expected).write(to: URL(fileURLWithPath: Self.golden + "/expected.json"))
    }
}
