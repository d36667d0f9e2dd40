import Foundation
import JobStore
import TestSupport
import Testing

/// Reconciliation runs, mismatches and their review history, and contacts, on both backends.
@Suite("Mismatches and contacts")
struct MismatchTests {
    static let start: UInt64 = 1_795_000_000 * 1_000_000_000

    static let found: [NewMismatch] = [
        NewMismatch(
            category: .amountMismatch, identity: "amount_mismatch:bkash:TRX1", settlementFileId: 3,
            settlementSourceLine: 11,
            ourReference: "KH0000000000000001", providerTxnId: "TRX1", ledgerTransferId: "42", currency: "BDT",
            expectedMinor: 150_000, actualMinor: 149_900, detail: "settled 1,499.00 for a 1,500.00 hold"),
        NewMismatch(
            category: .missingInLedger, identity: "missing_in_ledger:bkash:TRX2", providerTxnId: "TRX2",
            currency: "BDT", actualMinor: 50_000, detail: "no hold has reference KH…2"),
        NewMismatch(
            category: .amountMismatch, identity: "amount_mismatch:bkash:TRX3", currency: "BDT", expectedMinor: 100,
            actualMinor: 300, detail: "more than held"),
    ]

    @Test(
        "a run is recorded with its mismatches at once; a repeated identity is kept once; totals by category",
        arguments: Backend.available)
    func runs(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let run = try await store.startRun(
            provider: "bkash", windowStart: "2026-11-27T18:00:00.000Z", windowEnd: "2026-11-28T18:00:00.000Z",
            inputSHA256: String(repeating: "ab", count: 32), jobRunId: nil, at: Self.start)
        #expect(try await store.runs(provider: "bkash").first?.outcome == "running")
        #expect(try await store.list(runId: run).isEmpty)

        try await store.finishRun(
            id: run, provider: "bkash", mismatches: Self.found + [Self.found[0]], linesRead: 120, matchedCount: 117,
            error: nil, at: Self.start + 1_000_000_000)
        let recorded = try #require(try await store.runs(provider: "bkash").first)
        #expect(recorded.outcome == "succeeded" && recorded.linesRead == 120 && recorded.matchedCount == 117)
        #expect(
            recorded.mismatchCount == 3 && recorded.endedAt == UTCTime.text(nanoseconds: Self.start + 1_000_000_000))
        #expect(try await store.runs(provider: "nagad").isEmpty)

        let listed = try await store.list(runId: run)
        #expect(listed.map(\.found) == Self.found)
        #expect(listed.allSatisfy { $0.state == .open && $0.provider == "bkash" && $0.runId == run })
        let totals = try await store.totals(runId: run)
        #expect(totals[.amountMismatch]?.count == 2 && totals[.amountMismatch]?.differenceMinor == 100)
        #expect(totals[.missingInLedger]?.count == 1 && totals[.missingInLedger]?.differenceMinor == 50_000)
        #expect(totals[.feeMismatch] == nil)
    }

    @Test("review: allowed moves are kept in the history; refused moves change nothing", arguments: Backend.available)
    func review(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let run = try await store.startRun(
            provider: "nagad", windowStart: "a", windowEnd: "b", inputSHA256: "00", jobRunId: 7, at: Self.start)
        try await store.finishRun(
            id: run, provider: "nagad", mismatches: Self.found, linesRead: 3, matchedCount: 0, error: nil,
            at: Self.start)
        let id = try #require(try await store.list(runId: run).first?.id)
        let t = Self.start + 60_000_000_000

        try await store.move(id: id, from: .open, to: .acknowledged, actor: "rina", note: "asked bKash", at: t)
        await #expect(throws: MismatchError.changedMeanwhile(id: id, expected: .open, actual: .acknowledged)) {
            try await store.move(id: id, from: .open, to: .resolved, actor: "karim", note: "dup", at: t)
        }
        await #expect(throws: MismatchError.notAllowed(id: id, from: .acknowledged, to: .open)) {
            try await store.move(id: id, from: .acknowledged, to: .open, actor: "rina", note: "oops", at: t)
        }
        await #expect(throws: MismatchError.emptyField("note")) {
            try await store.move(id: id, from: .acknowledged, to: .resolved, actor: "rina", note: "  ", at: t)
        }
        await #expect(throws: MismatchError.notFound(id: 999_999)) {
            try await store.move(id: 999_999, from: .open, to: .resolved, actor: "rina", note: "x", at: t)
        }
        try await store.move(
            id: id, from: .acknowledged, to: .resolved, actor: "rina", note: "fee refunded by bKash on 30 Nov",
            at: t + 1_000_000)
        let history = try await store.history(id: id)
        #expect(history.map(\.to) == [.acknowledged, .resolved] && history.map(\.from) == [.open, .acknowledged])
        #expect(history.map(\.actor) == ["rina", "rina"] && history[1].note == "fee refunded by bKash on 30 Nov")
        #expect(try await store.mismatch(id: id)?.state == .resolved)
        #expect(try await store.list(state: .open).count == 2)
        #expect(try await store.list(state: .resolved).map(\.id) == [id])
    }

    @Test("contacts: stored, replaced, and refused with the field and the reason", arguments: Backend.available)
    func contacts(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let contacts = Contacts(database: try scratch.open())
        let rahim = Contact(customerId: "c-1", phone: "+8801712345678", email: "rahim@example.com.bd")
        let saved = try await contacts.save(rahim, at: Self.start)
        #expect(saved.updatedAt == UTCTime.text(nanoseconds: Self.start))
        #expect(try await contacts.contact(customerId: "c-1") == saved)
        var changed = saved
        changed.language = .en
        changed.optedOut = true
        changed.email = nil
        changed.whatsapp = "+8801812345678"
        let replaced = try await contacts.save(changed, at: Self.start + 1)
        #expect(try await contacts.contact(customerId: "c-1") == replaced)
        #expect(replaced.address(for: .whatsapp) == "+8801812345678" && replaced.address(for: .email) == nil)
        #expect(try await contacts.contact(customerId: "nobody") == nil)

        let refused: [(Contact, String)] = [
            (Contact(customerId: "c-2", phone: "01712345678"), "phone"),
            (Contact(customerId: "c-2", whatsapp: "+88 017"), "whatsapp"),
            (Contact(customerId: "c-2", email: "rahim.example.com"), "email"),
            (Contact(customerId: "c-2", email: "a@b"), "email"),
            (Contact(customerId: ""), "customerId"),
        ]
        for (contact, field) in refused {
            await #expect {
                try await contacts.save(contact, at: Self.start)
            } throws: { ($0 as? ContactError)?.field == field }
        }
        #expect(try await contacts.contact(customerId: "c-2") == nil)
    }

    @Test("leases are recorded with their holder while held", arguments: Backend.available)
    func leases(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        #expect(try await database.tryLease("dispatch-notifications"))
        #expect(!(try await database.tryLease("dispatch-notifications")))
        let held = try await database.leases()
        #expect(held.map(\.job) == ["dispatch-notifications"] && held[0].holder == database.holder)
        try await database.releaseLease("dispatch-notifications")
        #expect(try await database.leases().isEmpty)
    }
}
