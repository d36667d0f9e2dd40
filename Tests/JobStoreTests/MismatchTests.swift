import Foundation
import TestSupport
import Testing

@testable import JobStore

/// Reconciliation runs, mismatches and their review history, and contacts, on both backends.
@Suite("Mismatches and contacts")
struct MismatchTests {
    static let start: UInt64 = 1_795_000_000 * 1_000_000_000

    static let found: [NewMismatch] = [
        NewMismatch(
            category: .amountMismatch, identity: "bkash:txn:TRX1", settlementFileId: 3, settlementSourceLine: 11,
            ourReference: "KH0000000000000001", providerTxnId: "TRX1", ledgerTransferId: "42", currency: "BDT",
            ledgerMinor: 150_000, providerMinor: 149_900, feeMinor: 2_775, contractedFeeMinor: 2_775,
            netMinor: 147_125, fields: [MismatchField(name: "amount", ledger: "1500.00", provider: "1499.00")],
            detail: "amount: ledger 1500.00, provider 1499.00"),
        NewMismatch(
            category: .missingInLedger, identity: "bkash:txn:TRX2", providerTxnId: "TRX2", currency: "BDT",
            providerMinor: 50_000, detail: "no reservation has the payment reference KH…2"),
        NewMismatch(
            category: .adjustment, identity: "bkash:txn:TRX3", kind: "chargeback", currency: "BDT",
            providerMinor: 300, fields: [MismatchField(name: "note", ledger: "\"quoted\"\n", provider: "ৎ")],
            detail: "chargeback of 3.00 BDT for review"),
    ]

    static let totals = [
        ReconciliationTotal(category: "amount_mismatch", currency: "BDT", count: 1, amountMinor: 149_900),
        ReconciliationTotal(category: "matched", currency: "BDT", count: 117, amountMinor: 9_000_000),
        ReconciliationTotal(category: "missing_in_ledger", currency: "USD", count: 1, amountMinor: 50_000),
    ]

    static func findings(
        _ mismatches: [NewMismatch], settled: [(identity: String, note: String)] = [],
        totals: [ReconciliationTotal] = []
    ) -> ReconciliationFindings {
        ReconciliationFindings(
            mismatches: mismatches, settled: settled, totals: totals, linesRead: 120, matchedCount: 117,
            carriedCount: 4, clearedCount: 234)
    }

    static func start(_ store: Mismatches, at time: UInt64) async throws -> Int64 {
        try await store.startRun(
            provider: "bkash", settlementDate: "2026-11-28", windowStart: "2026-11-25", windowEnd: "2026-11-28",
            inputSHA256: String(repeating: "ab", count: 32), inputFiles: [3, 4], runBy: "cli", jobRunId: nil,
            at: time)
    }

    @Test(
        "a run keeps its findings at once: totals by category and currency, every field of a mismatch",
        arguments: Backend.available)
    func runs(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let run = try await Self.start(store, at: Self.start)
        #expect(try await store.runs(provider: "bkash").first?.outcome == "running")
        #expect(try await store.list(runId: run).isEmpty)

        let recorded = try await store.finishRun(
            id: run, provider: "bkash", findings: Self.findings(Self.found + [Self.found[0]], totals: Self.totals),
            at: Self.start + 1_000_000_000)
        #expect(recorded.added == 3 && recorded.resolved.isEmpty && recorded.mismatchIds.count == 3)
        let kept = try #require(try await store.run(id: run))
        #expect(kept.outcome == "succeeded" && kept.linesRead == 120 && kept.matchedCount == 117)
        #expect(kept.mismatchCount == 4 && kept.carriedCount == 4 && kept.clearedCount == 234)
        #expect(kept.settlementDate == "2026-11-28" && kept.inputFiles == [3, 4] && kept.runBy == "cli")
        #expect(kept.endedAt == UTCTime.text(nanoseconds: Self.start + 1_000_000_000))
        #expect(try await store.runs(provider: "nagad").isEmpty)

        let listed = try await store.list(runId: run)
        #expect(listed.map(\.found) == Self.found)
        #expect(listed.allSatisfy { $0.state == .open && $0.provider == "bkash" && $0.runId == run })
        #expect(try await store.totals(runId: run) == Self.totals)
    }

    @Test(
        "one mismatch per identity across runs: updated, resolved by the run that settles it, reopened",
        arguments: Backend.available)
    func acrossRuns(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let first = try await Self.start(store, at: Self.start)
        let ids = try await store.finishRun(
            id: first, provider: "bkash", findings: Self.findings(Self.found), at: Self.start
        ).mismatchIds
        // TRX3 is resolved by a person.
        let trx3 = try #require(ids["bkash:txn:TRX3"])
        try await store.move(id: trx3, from: .open, to: .resolved, actor: "rina", note: "disputed", at: Self.start)

        // The second run finds TRX1 with the fee wrong instead, TRX3 again, and TRX2 settled.
        var changed = Self.found[0]
        changed.category = .feeMismatch
        changed.fields = [MismatchField(name: "fee", ledger: "27.75", provider: "28.00")]
        let second = try await Self.start(store, at: Self.start + 1)
        let recorded = try await store.finishRun(
            id: second, provider: "bkash",
            findings: Self.findings([changed, Self.found[2]], settled: [("bkash:txn:TRX2", "matched by run 2")]),
            at: Self.start + 2)
        #expect(
            recorded.added == 0
                && recorded.mismatchIds == [
                    "bkash:txn:TRX1": ids["bkash:txn:TRX1"]!,
                    "bkash:txn:TRX3": trx3,
                ])
        let trx2 = try #require(ids["bkash:txn:TRX2"])
        #expect(recorded.resolved == [trx2] && recorded.reopened.isEmpty)
        let trx1 = try #require(try await store.mismatch(identity: "bkash:txn:TRX1"))
        #expect(trx1.found == changed && trx1.runId == first && trx1.lastRunId == second && trx1.state == .open)
        #expect(try await store.mismatch(id: trx3)?.state == .resolved)
        let settled = try #require(try await store.mismatch(id: trx2))
        #expect(settled.state == .resolved && settled.resolution == "automatic")
        #expect(
            try await store.history(id: trx2) == [
                MismatchEvent(
                    from: .open, to: .resolved, actor: Mismatches.automaticActor, note: "matched by run 2",
                    at: UTCTime.text(nanoseconds: Self.start + 2), runId: second)
            ])
        #expect(try await store.list(runId: second).map(\.id) == [ids["bkash:txn:TRX1"]!, trx3])
        #expect(try await store.run(id: second)?.resolvedCount == 1)

        // The third finds TRX2 unsettled again: open once more, with why.
        let third = try await Self.start(store, at: Self.start + 3)
        let again = try await store.finishRun(
            id: third, provider: "bkash", findings: Self.findings([Self.found[1]]), at: Self.start + 4)
        #expect(again.reopened == [trx2])
        let reopened = try #require(try await store.mismatch(id: trx2))
        #expect(reopened.state == .open && reopened.resolution == nil)
        #expect(try await store.history(id: trx2).last?.note == "found again by run \(third): missing_in_ledger")
    }

    @Test(
        "upgrading a version 6 store keeps its runs, mismatches and history, and new rows get new ids",
        arguments: Backend.available)
    func upgradeFromVersion6(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let old = try scratch.connection()
        try Migrations.apply(to: old, upTo: 6)
        // Rows get their ids as version 6 gave them: 1, 2, … in order.
        for _ in 1...2 {
            try old.run(
                """
                INSERT INTO reconciliation_runs (provider, window_start, window_end, input_sha256, started_at, outcome)
                VALUES ('bkash', 'a', 'b', 'ab', 'x', 'succeeded')
                """)
        }
        for (run, identity) in [
            (1, "amount_mismatch:bkash:TRX1"), (2, "amount_mismatch:bkash:TRX1"),
            (2, "fee_mismatch:bkash:TRX9"),
        ] as [(Int64, String)] {
            try old.run(
                """
                INSERT INTO mismatches (run_id, provider, category, identity, currency, expected_minor,
                    actual_minor, detail, state, created_at, updated_at)
                VALUES (?, 'bkash', 'amount_mismatch', ?, 'BDT', 100, 99, 'off by one', 'open', 't', 't')
                """, [.integer(run), .text(identity)])
        }
        try old.run(
            """
            INSERT INTO mismatch_events (mismatch_id, from_state, to_state, actor, note, at)
            VALUES (2, 'open', 'acknowledged', 'rina', 'asked bKash', 't')
            """)
        let store = Mismatches(database: try scratch.open())
        #expect(try await store.mismatch(identity: "amount_mismatch:bkash:TRX1")?.id == 2)
        #expect(try await store.mismatch(identity: "amount_mismatch:bkash:TRX1#1")?.id == 1)
        let kept = try #require(try await store.mismatch(id: 3))
        #expect(kept.found.ledgerMinor == 100 && kept.found.providerMinor == 99 && kept.lastRunId == 2)
        #expect(try await store.history(id: 2).map(\.note) == ["asked bKash"])
        #expect(try await store.list(runId: 2).map(\.id) == [2, 3])
        try await store.move(id: 2, from: .open, to: .resolved, actor: "rina", note: "refunded", at: Self.start)
        let run = try await Self.start(store, at: Self.start)
        #expect(run == 3)
        let ids = try await store.finishRun(
            id: run, provider: "bkash", findings: Self.findings([Self.found[1]]), at: Self.start
        ).mismatchIds
        #expect(ids["bkash:txn:TRX2"] == 4)
        #expect(try await store.history(id: 2).count == 2)
    }

    @Test("review: allowed moves are kept in the history; refused moves change nothing", arguments: Backend.available)
    func review(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let run = try await Self.start(store, at: Self.start)
        _ = try await store.finishRun(id: run, provider: "bkash", findings: Self.findings(Self.found), at: Self.start)
        let id = try #require(try await store.list(runId: run).first?.id)
        let t = Self.start + 60_000_000_000

        try await store.move(id: id, from: .open, to: .acknowledged, actor: "rina", note: "asked bKash", at: t)
        await #expect(throws: MismatchError.changedMeanwhile(id: id, expected: .open, actual: .acknowledged)) {
            try await store.move(id: id, from: .open, to: .resolved, actor: "karim", note: "dup", at: t)
        }
        await #expect(throws: MismatchError.notAllowed(id: id, from: .resolved, to: .acknowledged)) {
            try await store.move(id: id, from: .resolved, to: .acknowledged, actor: "rina", note: "oops", at: t)
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
        changed.preferredChannel = .whatsapp
        changed.optedOutChannels = [.sms, .email]
        let replaced = try await contacts.save(changed, at: Self.start + 1)
        #expect(try await contacts.contact(customerId: "c-1") == replaced)
        #expect(replaced.preferredChannel == .whatsapp && replaced.optedOutChannels == [.sms, .email])
        // Opted out of everything: no channel accepts; back in, only the channels not refused.
        #expect(NotificationChannel.allCases.allSatisfy { !replaced.accepts($0) })
        var back = replaced
        back.optedOut = false
        back.phone = "+8801712345678"
        #expect(back.accepts(.whatsapp) && !back.accepts(.sms) && !back.accepts(.email))
        #expect(replaced.address(for: .whatsapp) == "+8801812345678" && replaced.address(for: .email) == nil)
        #expect(try await contacts.contact(customerId: "nobody") == nil)

        let refused: [(Contact, String)] = [
            (Contact(customerId: "c-2", phone: "01712345678"), "phone"),
            (Contact(customerId: "c-2", whatsapp: "+88 017"), "whatsapp"),
            (Contact(customerId: "c-2", phone: "+880 1712-345678"), "phone"),
            (Contact(customerId: "c-2", phone: "+88021234567"), "phone"),
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
        await #expect {
            try await contacts.save(Contact(customerId: "c-2", phone: "+880 1712-345678"), at: Self.start)
        } throws: { ($0 as? ContactError)?.reason == "must be stored in E.164 (+8801712345678)" }
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

    @Test(
        "a reviewer's change keeps its kind and postings, unposted until marked; pages and search find mismatches",
        arguments: Backend.available)
    func reviewWithPostings(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = Mismatches(database: try scratch.open())
        let run = try await Self.start(store, at: Self.start)
        _ = try await store.finishRun(id: run, provider: "bkash", findings: Self.findings(Self.found), at: Self.start)
        let all = try await store.list(runId: run)
        let id = try #require(all.first?.id)
        let t = Self.start + 60_000_000_000

        // Acknowledged without a note, reopened from there, then resolved with money.
        _ = try await store.review(
            id: id, from: .open, to: .acknowledged, resolution: nil, actor: "rina", note: "", at: t
        ) { _, _ in [] }
        _ = try await store.review(
            id: id, from: .acknowledged, to: .open, resolution: nil, actor: "rina", note: "not mine", at: t
        ) { _, _ in [] }
        await #expect(throws: MismatchError.self) {
            try await store.review(
                id: id, from: .open, to: .resolved, resolution: nil, actor: "rina", note: "no kind", at: t
            ) { _, _ in [] }
        }
        await #expect(throws: MismatchError.emptyField("note")) {
            try await store.review(
                id: id, from: .open, to: .resolved, resolution: .writtenOff, actor: "rina", note: " ", at: t
            ) { _, _ in [] }
        }
        let resolved = try await store.review(
            id: id, from: .open, to: .resolved, resolution: .writtenOff, actor: "rina", note: "lost", at: t
        ) { eventId, mismatch in
            [
                ReviewPosting(
                    transferId: "\(eventId)7", debitAccount: "expense:write-offs", creditAccount: "provider:bkash",
                    amountMinor: 100, currency: mismatch.found.currency ?? "BDT", leg: "write-off")
            ]
        }
        #expect(
            !resolved.posted && resolved.postings.count == 1 && resolved.postings[0].transferId == "\(resolved.id)7")
        #expect(try await store.unposted().map(\.id) == [resolved.id])
        try await store.markPosted(eventId: resolved.id)
        #expect(try await store.unposted().isEmpty)
        let history = try await store.reviewHistory(id: id)
        #expect(history.map(\.event.to) == [.acknowledged, .open, .resolved])
        #expect(history.last?.resolution == .writtenOff && history.last?.posted == true)
        #expect(try await store.mismatch(id: id)?.resolution == "written_off")

        // A change whose postings cannot be made writes nothing.
        let other = try #require(all.last?.id)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.review(
                id: other, from: .open, to: .resolved, resolution: .refunded, actor: "rina", note: "x", at: t
            ) { _, _ in throw Refused() }
        }
        #expect(try await store.mismatch(id: other)?.state == .open)
        #expect(try await store.reviewHistory(id: other).isEmpty)

        // Pages in id order, filtered; search by reference or transaction id.
        var seen: [Int64] = []
        var after: Int64 = 0
        while true {
            let page = try await store.page(runId: run, after: after, limit: 1)
            seen += page.mismatches.map(\.id)
            guard let next = page.next else { break }
            after = next
        }
        #expect(seen == all.map(\.id))
        #expect(try await store.page(runId: run, state: .resolved, limit: 10).mismatches.map(\.id) == [id])

        // The same rows as bytes (what the CSV report reads), in ranges cut at page boundaries.
        let ends = try await store.pageBoundaries(runId: run, every: 2)
        #expect(ends == stride(from: 1, to: all.count - 1, by: 2).map { all[$0].id })
        var raw: [[String?]] = []
        for (after, through) in zip([0] + ends, ends.map { Optional($0) } + [nil]) {
            // Read both ways: as a dense range of ids (merged) and as scattered ones (looked up).
            let dense = try await store.rawRange(runId: run, after: after, through: through, expectedRows: 2)
            let scattered = try await store.rawRange(runId: run, after: after, through: through)
            #expect(dense.columnCount == MismatchColumn.allCases.count && dense.rowCount <= 2)
            func texts(_ rows: RawRows) -> [[String?]] {
                rows.withView { view in
                    (0..<view.rowCount).map { row in (0..<view.columnCount).map { view.text(row, $0) } }
                }
            }
            #expect(texts(dense) == texts(scattered))
            raw += texts(dense)
        }
        let records = try await store.page(runId: run, limit: 100).mismatches
        #expect(raw.count == records.count)
        for (values, record) in zip(raw, records) {
            typealias C = MismatchColumn
            #expect(values[C.id.rawValue] == String(record.id) && values[C.state.rawValue] == record.state.rawValue)
            #expect(values[C.providerTxnId.rawValue] == record.found.providerTxnId)
            #expect(values[C.ledgerMinor.rawValue] == record.found.ledgerMinor.map(String.init))
            #expect(values[C.resolution.rawValue] == record.resolution)
            #expect(MismatchField.decode(values[C.fields.rawValue] ?? "") == record.found.fields)
            #expect(values[C.createdAt.rawValue] == record.createdAt)
        }
        let first = try #require(all.first)
        if let reference = first.found.ourReference {
            #expect(try await store.search(reference).map(\.id).contains(first.id))
        }
        if let txn = first.found.providerTxnId { #expect(try await store.search(txn).map(\.id).contains(first.id)) }
        #expect(try await store.search("nothing-like-it").isEmpty)
    }
}

/// The differing fields are kept as JSON written by hand and read back by a fast reader, with
/// the general parser for anything else (what earlier versions wrote).
@Suite("Mismatch fields as JSON")
struct MismatchFieldTextTests {
    @Test("any text survives writing and reading back, escapes and all (seeded property)")
    func roundTrip() {
        var random = SplitMix(seed: 8_2026)
        let pieces = [
            "a", "\"", "\\", "/", "\n", "\r", "\t", "\u{0001}", "\u{001F}", "৳", "😀", " ", "{", "]", ":", ",",
        ]
        for _ in 0..<2_000 {
            let fields = (0..<Int(random.next() % 4)).map { _ in
                MismatchField(
                    name: (0..<Int(random.next() % 6)).map { _ in pieces[Int(random.next() % 16)] }.joined(),
                    ledger: (0..<Int(random.next() % 6)).map { _ in pieces[Int(random.next() % 16)] }.joined(),
                    provider: (0..<Int(random.next() % 6)).map { _ in pieces[Int(random.next() % 16)] }.joined())
            }
            #expect(MismatchField.decode(MismatchField.encode(fields)) == fields)
        }
    }

    @Test("what the general JSON writer wrote reads the same: other key orders, blanks, escaped slashes")
    func earlierForms() {
        let expected = [MismatchField(name: "amount", ledger: "1500.00", provider: "1/2")]
        for text in [
            #"[{"ledger":"1500.00","name":"amount","provider":"1\/2"}]"#,
            #"[{"name": "amount", "provider": "1/2", "ledger": "1500.00"}]"#,
            #"[ {"ledger":"1500.00","name":"amount","provider":"1\u002f2"} ]"#,
        ] {
            #expect(MismatchField.decode(text) == expected, "\(text)")
        }
        #expect(MismatchField.decode("not json").isEmpty && MismatchField.decode("[]").isEmpty)
    }
}
