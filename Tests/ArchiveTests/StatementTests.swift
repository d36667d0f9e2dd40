import Archive
import Foundation
import KhataCrypto
import Ledger
import LedgerCore
import TestSupport
import Testing

@Suite("Archive statements")
struct StatementTests {
    static func statement(
        _ directory: String, _ key: String, from: UInt64, until: UInt64
    ) async throws -> Statement {
        try await offThePool {
            try ArchiveStatementReader.statement(
                StatementRequest(
                    archiveDirectory: directory, trustedKey: nil, accountKey: key, fromNanoseconds: from,
                    untilNanoseconds: until))
        }
    }

    @Test("a statement from a full archive lists what the ledger applied, with the ledger's own balances")
    func fullHistory() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 20_000, seed: 31)
        let manifest = try #require(try await Blocking.export(fixture.request()).manifest)
        let first = try #require(manifest.firstTimeNanoseconds)
        let last = try #require(manifest.lastTimeNanoseconds)
        let ledger = try Ledger.open(directory: fixture.ledgerDirectory, configuration: ArchiveFixture.configuration())
        defer { ledger.close() }

        for key in ["merchant:SVC-1", "provider:bkash:clearing"] {
            let account = try #require(ledger.account(key: key))
            // The period ends a second after the last batch began: after its last event.
            let end = last + 1_000_000_000
            let whole = try await Self.statement(fixture.archiveDirectory, key, from: 0, until: end)
            #expect(whole.complete && whole.limitation == nil && !whole.coversPeriodEnd)
            #expect(whole.accountId == account.id && whole.currency == account.currency)
            #expect(whole.createdAtNanoseconds == account.timestamp)
            #expect(whole.opening == StatementBalances.zero)
            let closing = try #require(whole.closing)
            #expect(closing.debitsPosted == account.debitsPosted && closing.creditsPosted == account.creditsPosted)
            #expect(closing.debitsPending == account.debitsPending)
            #expect(closing.creditsPending == account.creditsPending)
            #expect(whole.entries.last?.balancesAfter == closing)

            // Every transfer the ledger's history holds for the account, once, and nothing else.
            var history: [Transfer] = []
            var after: UInt64 = 0
            while true {
                let page = try ledger.history(accountId: account.id, after: after, limit: 1_000)
                history += page
                guard let next = page.last?.timestamp else { break }
                after = next
            }
            let listed = whole.entries.filter { $0.kind != .expiry }
            #expect(listed.map(\.transferId) == history.map(\.fields.id), "\(key): entries in history's order")
            #expect(listed.map(\.timestampNanoseconds) == history.map(\.timestamp))
            let expired = history.filter { $0.state == .pendingExpired }.map(\.fields.id)
            let statedExpiries = Set(whole.entries.filter { $0.kind == .expiry }.map(\.transferId))
            #expect(statedExpiries == Set(expired))
            #expect(!expired.isEmpty && whole.entries.contains { $0.kind == .capture })
            if key.hasPrefix("provider") { #expect(whole.entries.contains { $0.kind == .refund }) }

            // Two adjacent periods: the first's closing is the second's opening; together they
            // are the whole.
            let middle = first + (last - first) / 2
            let before = try await Self.statement(fixture.archiveDirectory, key, from: 0, until: middle)
            let since = try await Self.statement(fixture.archiveDirectory, key, from: middle, until: end)
            #expect(before.closing == since.opening && since.closing == closing)
            #expect(before.entries + since.entries == whole.entries)
            #expect(!before.entries.isEmpty && !since.entries.isEmpty)
            #expect(before.entries.allSatisfy { $0.timestampNanoseconds < middle } && before.coversPeriodEnd)
        }
        await #expect(throws: ArchiveError.self) {
            _ = try await Self.statement(fixture.archiveDirectory, "merchant:SVC-1", from: 10, until: 10)
        }
        let unknown = try await Self.statement(fixture.archiveDirectory, "merchant:nobody", from: 0, until: .max)
        #expect(!unknown.complete && unknown.entries.isEmpty && unknown.limitation != nil)
    }

    @Test("a statement from an archive that starts later lists the requests logged, and says balances are unknown")
    func partialHistory() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 6_000, seed: 32)
        var request = fixture.request()
        request.fromSequence = 5_000
        let manifest = try #require(try await Blocking.export(request).manifest)
        #expect(manifest.firstSequence > 1)
        let statement = try await Self.statement(
            fixture.archiveDirectory, "merchant:SVC-2", from: 0, until: UInt64.max)
        #expect(!statement.complete && statement.opening == nil && statement.closing == nil)
        #expect(statement.limitation?.contains("starts at sequence") == true)
        #expect(statement.accountId == NewAccount.derivedId(forKey: "merchant:SVC-2"))
        #expect(!statement.entries.isEmpty && statement.entries.allSatisfy { $0.balancesAfter == nil })
        #expect(statement.entries.allSatisfy { $0.sequence >= manifest.firstSequence })
    }

    @Test("a damaged archive gives no statement")
    func damaged() async throws {
        let fixture = ArchiveFixture()
        defer { fixture.root.remove() }
        try await fixture.write(transfers: 3_000, seed: 33)
        let folder = try #require(try await Blocking.export(fixture.request()).folder)
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix("log-") })
        let path = folder + "/" + name
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 40] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        await #expect {
            _ = try await Self.statement(fixture.archiveDirectory, "merchant:SVC-1", from: 0, until: UInt64.max)
        } throws: { error in
            (error as? ArchiveError)?.kind == .damaged && (error as? ArchiveError)?.path == path
        }
    }
}

extension StatementBalances {
    static let zero = StatementBalances(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 0)
}
