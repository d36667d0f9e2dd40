import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerStorage
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Archive repair")
struct RepairTests {
    static func repair(_ fixture: ArchiveFixture, archive: String? = nil) async throws -> RepairOutcome {
        let ledger = fixture.ledgerDirectory
        let archiveDirectory = archive ?? fixture.archiveDirectory
        let aside = fixture.root.path + "/data/damaged-segments"
        let key = fixture.key.publicKey
        return try await offThePool {
            try ArchiveRepairer.repair(
                ledgerDirectory: ledger, archiveDirectory: archiveDirectory, asideDirectory: aside, trustedKey: key)
        }
    }

    /// The sealed segment files, oldest first.
    static func sealed(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("segment-") }.sorted()
            .dropLast().map { directory + "/" + $0 }
    }

    static func flip(_ path: String, at offset: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [byte ^ 0x20])
    }

    @Test("a damaged sealed segment is rebuilt byte for byte, the damaged file kept, the ledger checked")
    func repairs() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 25_000, seed: 51)
        _ = try await Blocking.export(fixture.request())
        let original = try ArchiveFixture.segments(fixture.ledgerDirectory)
        let sealed = try Self.sealed(fixture.ledgerDirectory)
        try #require(sealed.count >= 3)
        let nothing = try await Self.repair(fixture)
        #expect(nothing.repaired.isEmpty && !nothing.chain.isEmpty)

        // A record in the second segment and the header of the third.
        try Self.flip(sealed[1], at: Format.segmentHeaderSizeBytes + 128 * 300 + 40)
        try Self.flip(sealed[2], at: 20)
        #expect(SegmentScrub.pass(directory: fixture.ledgerDirectory) { _ in true }.damage.count >= 2)
        let outcome = try await Self.repair(fixture)
        #expect(outcome.repaired.map(\.fileName) == [sealed[1], sealed[2]].map { ($0 as NSString).lastPathComponent })
        #expect(outcome.chain == nothing.chain)
        let now = try ArchiveFixture.segments(fixture.ledgerDirectory)
        #expect(now == original, "every segment byte for byte as before the damage")
        for segment in outcome.repaired {
            #expect(FileManager.default.fileExists(atPath: segment.keptAt), "the damaged file is kept")
        }
        #expect(try StoreVerifier.verify(directory: fixture.ledgerDirectory).chain.hex == nothing.chain)
        // The ledger opens with its balances.
        let ledger = try Ledger.open(directory: fixture.ledgerDirectory, configuration: ArchiveFixture.configuration())
        #expect(ledger.accounts(after: 0, limit: 1_000).count == 203)
        ledger.close()
    }

    @Test("refused, changing nothing: an archive without the segment, of another history, an open ledger")
    func refusals() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 25_000, seed: 52)
        let sealed = try Self.sealed(fixture.ledgerDirectory)
        try #require(sealed.count >= 4)
        // An archive that ends inside the second segment.
        var partial = fixture.request()
        let second = try LogSegments.header(path: sealed[1]).firstSequence
        partial.toSequence = second + 100
        _ = try await Blocking.export(partial)

        // An archive of another history: the whole log, signed with the trusted key, but the
        // chain it states after the damaged segment is not the one the ledger's next segment
        // starts from (the manifest is rewritten consistently and signed again).
        let whole = fixture.root.path + "/whole"
        var full = fixture.request()
        full.archiveDirectory = whole
        let folder = try #require(try await Blocking.export(full).folder)
        let chain = try LogSegments.header(path: sealed[3]).startChain.hex
        let manifestPath = folder + "/manifest.json"
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
        #expect(text.contains(chain))
        let bytes = Array(text.replacingOccurrences(of: chain, with: String(repeating: "ab", count: 32)).utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: manifestPath))
        let signature =
            "{\"algorithm\":\"ed25519\",\"publicKey\":\"\(fixture.key.publicKey.hex)\",\"signature\":\""
            + Crypto.hex(fixture.key.sign(bytes)) + "\"}"
        try Data(signature.utf8).write(to: URL(fileURLWithPath: folder + "/manifest.sig"))
        try Self.flip(sealed[2], at: Format.segmentHeaderSizeBytes + 128 * 10 + 50)
        let damaged = try ArchiveFixture.segments(fixture.ledgerDirectory)
        await #expect {
            _ = try await Self.repair(fixture)
        } throws: { error in
            (error as? ArchiveError)?.kind == .refused && "\(error)".contains("holds no record of this segment")
        }
        await #expect {
            _ = try await Self.repair(fixture, archive: whole)
        } throws: { error in
            (error as? ArchiveError)?.kind == .refused && "\(error)".contains("another ledger")
        }
        #expect(try ArchiveFixture.segments(fixture.ledgerDirectory) == damaged, "nothing changed")

        // With the ledger's lock held (as an open ledger holds it), nothing is touched.
        let lock = open(fixture.ledgerDirectory + "/LOCK", O_RDWR | O_CREAT, 0o644)
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        await #expect {
            _ = try await Self.repair(fixture, archive: whole)
        } throws: { error in
            (error as? ArchiveError)?.kind == .refused && "\(error)".contains("open in another process")
        }
        close(lock)
        #expect(try ArchiveFixture.segments(fixture.ledgerDirectory) == damaged, "nothing changed")
    }
}
