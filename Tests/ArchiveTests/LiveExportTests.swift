import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerBench
import LedgerStorage
import TestSupport
import Testing

@Suite("Archive export beside a writing ledger")
struct LiveExportTests {
    @Test("exports taken while the ledger writes hold whole durable groups, chain on, and restore byte for byte")
    func whileWriting() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        let (clock, advance) = ReservationTraffic.clock(startNanoseconds: 1_796_000_000_000_000_000)
        let ledger = try Ledger.open(
            directory: fixture.ledgerDirectory, configuration: ArchiveFixture.configuration(), clock: clock)
        var exported: [ArchiveManifest] = []
        // Each round writes traffic on a task of its own while an export reads the same segment
        // files; how much of the round an export sees depends on timing, what it must hold does not.
        for round in 0..<4 {
            var traffic = ReservationTraffic(transfers: 6_000, seed: 40 + UInt64(round))
            traffic.blockReservations = 100
            let writing = Task { [traffic] in try await traffic.write(into: ledger, advance: advance) }
            let outcome = try await Blocking.export(fixture.request())
            if let manifest = outcome.manifest { exported.append(manifest) }
            _ = try await writing.value
        }
        // With the ledger still open, the tail of its live segment, which is not yet full.
        if let manifest = try await Blocking.export(fixture.request()).manifest { exported.append(manifest) }
        let committed = ledger.committedSequence
        ledger.close()
        #expect(exported.last?.lastSequence == committed, "the last export holds every committed record")
        for (before, after) in zip(exported, exported.dropFirst()) {
            #expect(after.firstSequence == before.lastSequence + 1 && after.startChain == before.endChain)
        }

        let check = try await Blocking.verify(directory: fixture.archiveDirectory, trustedKey: fixture.key.publicKey)
        #expect(check.firstSequence == 1 && check.lastSequence == committed)
        let target = fixture.root.path + "/restored"
        _ = try await Blocking.restore(
            archiveDirectory: fixture.archiveDirectory, dataDirectory: target, trustedKey: fixture.key.publicKey)
        let rebuilt = try ArchiveFixture.segments(target + "/ledger")
        let original = try ArchiveFixture.segments(fixture.ledgerDirectory)
        #expect(Set(rebuilt.keys) == Set(original.keys))
        for (name, bytes) in original { #expect(rebuilt[name] == bytes, "segment \(name) differs") }
    }
}
