import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerBench
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

/// A ledger of reservation traffic in small segments, for the archive's tests.
struct ArchiveFixture: Sendable {
    let root: TemporaryDirectory
    let key = Ed25519.PrivateKey.generate()
    var ledgerDirectory: String { root.path + "/data/ledger" }
    var archiveDirectory: String { root.path + "/archive" }

    init() { root = TemporaryDirectory("khata-archive") }

    static func configuration(segmentSizeBytes: Int = 1 << 20) -> LedgerConfiguration {
        var configuration = LedgerConfiguration()
        configuration.storage.segmentSizeBytes = segmentSizeBytes
        configuration.storage.spareSegmentCount = 1
        configuration.storage.groupCapacityRecords = 4_096
        configuration.maximumBatchEvents = 4_000
        configuration.expectedTransfers = 100_000
        configuration.expectedAccounts = 1_000
        return configuration
    }

    /// Writes `transfers` transfers of seeded reservation traffic (appending to what is there).
    func write(
        transfers: Int, seed: UInt64, start: UInt64 = 1_796_000_000_000_000_000,
        configuration: LedgerConfiguration = Self.configuration(), blockReservations: Int = 500
    ) async throws {
        let (clock, advance) = ReservationTraffic.clock(startNanoseconds: start)
        let ledger = try Ledger.open(directory: ledgerDirectory, configuration: configuration, clock: clock)
        defer { ledger.close() }
        var traffic = ReservationTraffic(transfers: transfers, seed: seed)
        traffic.blockReservations = blockReservations
        let outcome = try await traffic.write(into: ledger, advance: advance)
        #expect(outcome.transfers >= transfers)
    }

    func request() -> ExportRequest {
        ExportRequest(
            ledgerDirectory: ledgerDirectory, archiveDirectory: archiveDirectory, signingKey: key,
            khataVersion: "test")
    }

    /// The segment files of a ledger folder by name, with their bytes.
    static func segments(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix("segment-") {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return files
    }
}

@Suite("Archive round trip")
struct ArchiveRoundTripTests {
    @Test("export, verify and restore give back every segment byte for byte, incrementally too")
    func roundTrip() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 30_000, seed: 7)
        let first = try await Blocking.export(fixture.request())
        let manifest = try #require(first.manifest)
        #expect(manifest.firstSequence == 1)
        #expect(manifest.records.transfers + manifest.records.expiries >= 30_000)
        #expect(manifest.logFiles.count > 3, "small segments make several files")
        let original = try ArchiveFixture.segments(fixture.ledgerDirectory)
        let compressed = manifest.files.reduce(0) { $0 + $1.compressed.bytes }
        #expect(manifest.logBytes / compressed >= 4, "the columns compress the log at least 4:1")

        // Nothing new: nothing written.
        let again = try await Blocking.export(fixture.request())
        #expect(again.manifest == nil)
        #expect(again.nothingToExport != nil)

        // More traffic, then an incremental export that continues the chain.
        try await fixture.write(transfers: 10_000, seed: 8, start: 1_797_000_000_000_000_000)
        let second = try #require(try await Blocking.export(fixture.request()).manifest)
        #expect(second.firstSequence == manifest.lastSequence + 1)
        #expect(second.startChain == manifest.endChain)

        let check = try await Blocking.verify(directory: fixture.archiveDirectory, trustedKey: fixture.key.publicKey)
        #expect(check.exports.count == 2)
        #expect(check.firstSequence == 1 && check.lastSequence == second.lastSequence)
        #expect(check.endChain == second.endChain)

        let target = fixture.root.path + "/restored"
        let restored = try await Blocking.restore(
            archiveDirectory: fixture.archiveDirectory, dataDirectory: target, trustedKey: fixture.key.publicKey)
        #expect(restored.lastSequence == second.lastSequence)
        let rebuilt = try ArchiveFixture.segments(target + "/ledger")
        let now = try ArchiveFixture.segments(fixture.ledgerDirectory)
        #expect(Set(rebuilt.keys) == Set(now.keys))
        for (name, bytes) in now { #expect(rebuilt[name] == bytes, "segment \(name) differs") }
        for (name, bytes) in original where name != original.keys.max() {
            #expect(rebuilt[name] == bytes, "sealed segment \(name) differs from before the second export")
        }
        #expect(try StoreVerifier.verify(directory: target + "/ledger").chain.hex == second.endChain)

        // The restored ledger opens with the same balances.
        let reopened = try Ledger.open(directory: target + "/ledger", configuration: ArchiveFixture.configuration())
        let accounts = reopened.accounts(after: 0, limit: 1_000)
        reopened.close()
        let originalLedger = try Ledger.open(
            directory: fixture.ledgerDirectory, configuration: ArchiveFixture.configuration())
        let originalAccounts = originalLedger.accounts(after: 0, limit: 1_000)
        originalLedger.close()
        #expect(accounts.count == 203)
        #expect(accounts == originalAccounts)

        // A second restore into the same place is refused.
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.restore(
                archiveDirectory: fixture.archiveDirectory, dataDirectory: target, trustedKey: nil)
        }
    }
}
