import Archive
import Foundation
import KhataCrypto
import TestSupport
import Testing

/// `archive prune`: retention deletes only verified, old, whole exports, and nothing else.
@Suite("Archive prune")
struct ArchivePruneTests {
    static let day: UInt64 = 86_400 * 1_000_000_000
    static let start: UInt64 = 1_796_000_000_000_000_000

    @Test("old exports go once verified; unverified, damaged or cluttered folders are refused")
    func prune() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        var manifests: [ArchiveManifest] = []
        for round in 0..<3 {
            try await fixture.write(
                transfers: 3_000, seed: UInt64(round), start: Self.start + UInt64(round) * 10 * Self.day)
            manifests.append(try #require(try await Blocking.export(fixture.request()).manifest))
        }
        let segments = try ArchiveFixture.segments(fixture.ledgerDirectory)
        let archive = fixture.archiveDirectory
        let now = Self.start + 21 * Self.day
        let oldest = archive + "/" + manifests[0].folderName

        // Never verified: refused, nothing deleted.
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: false)
        }
        VerificationLog.record(archive, ok: true, detail: "test", exports: manifests.map(\.folderName))
        let dry = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: true)
        #expect(dry.deleted.map(\.folderName) == manifests.prefix(2).map(\.folderName))
        #expect(FileManager.default.fileExists(atPath: oldest + "/manifest.json"))

        // A file the manifest does not name: refused before anything is deleted.
        try Data("notes".utf8).write(to: URL(fileURLWithPath: oldest + "/auditor-notes.txt"))
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: false)
        }
        let exportsLeft = try await Blocking.exports(directory: archive, trustedKey: nil)
        #expect(exportsLeft.count == 3)
        try FileManager.default.removeItem(atPath: oldest + "/auditor-notes.txt")

        // The last verification failed: refused.
        VerificationLog.record(archive, ok: false, detail: "damage in a test")
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: false)
        }
        VerificationLog.record(archive, ok: true, detail: "test", exports: manifests.map(\.folderName))

        let pruned = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: false)
        #expect(pruned.deleted.count == 2 && pruned.kept == 1 && pruned.bytes > 0)
        #expect(!FileManager.default.fileExists(atPath: oldest))
        let left = try await Blocking.verify(directory: archive, trustedKey: fixture.key.publicKey)
        #expect(left.firstSequence == manifests[2].firstSequence && !left.startsAtFirstSequence)
        // The ledger's own segments are untouched.
        #expect(try ArchiveFixture.segments(fixture.ledgerDirectory) == segments)
        // Nothing older is left: a second prune deletes nothing.
        let again = try await Blocking.prune(directory: archive, keepDays: 5, nowNanoseconds: now, dryRun: false)
        #expect(again.deleted.isEmpty && again.kept == 1)
    }
}
