import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerStorage
import TestSupport
import Testing

@Suite("Archive round trip of a million transfers")
struct MillionRoundTripTests {
    /// SHA-256 of every segment file of a ledger folder, read a megabyte at a time.
    static func digests(_ directory: String) throws -> [String: String] {
        var digests: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix("segment-") {
            let handle = try #require(FileHandle(forReadingAtPath: directory + "/" + name))
            defer { try? handle.close() }
            let hash = SHA256Stream()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                chunk.withUnsafeBytes { hash.update($0) }
            }
            digests[name] = Crypto.hex(hash.finish())
        }
        return digests
    }

    @Test("1,000,000 transfers of reservation traffic: export, verify, restore byte for byte, same balances")
    func million() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        var configuration = ArchiveFixture.configuration(segmentSizeBytes: 32 << 20)
        configuration.expectedTransfers = 1_100_000
        configuration.storage.groupCapacityRecords = 16_384
        try await fixture.write(
            transfers: 1_000_000, seed: 61, configuration: configuration, blockReservations: 4_000)
        let manifest = try #require(try await Blocking.export(fixture.request()).manifest)
        #expect(manifest.records.transfers + manifest.records.expiries >= 1_000_000)
        let check = try await Blocking.verify(directory: fixture.archiveDirectory, trustedKey: fixture.key.publicKey)
        #expect(check.lastSequence == manifest.lastSequence && check.endChain == manifest.endChain)

        let target = fixture.root.path + "/restored"
        _ = try await Blocking.restore(
            archiveDirectory: fixture.archiveDirectory, dataDirectory: target, trustedKey: fixture.key.publicKey)
        let original = try await offThePool { try Self.digests(fixture.ledgerDirectory) }
        let rebuilt = try await offThePool { try Self.digests(target + "/ledger") }
        #expect(original.count > 5 && rebuilt == original, "every segment byte for byte")

        let restored = try Ledger.open(directory: target + "/ledger", configuration: configuration)
        let restoredAccounts = restored.accounts(after: 0, limit: 1_000)
        restored.close()
        let reopened = try Ledger.open(directory: fixture.ledgerDirectory, configuration: configuration)
        let originalAccounts = reopened.accounts(after: 0, limit: 1_000)
        reopened.close()
        #expect(restoredAccounts.count == 203 && restoredAccounts == originalAccounts)
    }
}
