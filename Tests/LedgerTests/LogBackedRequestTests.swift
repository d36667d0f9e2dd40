import LedgerCore
import LedgerStorage
import TestSupport
import Testing

@testable import Ledger

/// The engine keeps only the newest requests in memory and reads older ones back from the log:
/// retries, posts, voids and refunds of transfers far older than that window must behave exactly
/// as in a state that keeps everything, before and after a reopen.
@Suite("Requests read back from the log")
struct LogBackedRequestTests {
    static var configuration: LedgerConfiguration {
        var configuration = ScratchLedger.configuration
        // Groups of 64 records keep the in-memory window at (3 + 2) × 64 = 320 requests.
        configuration.storage.groupCapacityRecords = 64
        configuration.maximumBatchEvents = 40
        return configuration
    }

    static func batches() -> [[Event]] {
        var batches: [[Event]] = [LedgerEngineTests.accounts(10)]
        var next: UInt128 = 1_000
        var random = SplitMix(seed: 77)
        var holds: [UInt128] = []
        var posted: [NewTransfer] = []
        for _ in 0..<40 {
            var events: [Event] = []
            for _ in 0..<40 {
                next += 1
                let debit = UInt128(Int.random(in: 1...5, using: &random) * 2 - 1)
                let credit = UInt128(Int.random(in: 1...5, using: &random) * 2)
                let isHold = random.next() % 4 == 0
                let transfer = NewTransfer(
                    id: next, debitAccountId: debit, creditAccountId: credit, amountMinor: random.next() % 900 + 100,
                    timeoutSeconds: isHold ? 86_400 : 0, reference: "ref-\(next)", flags: isHold ? .pending : [])
                if isHold { holds.append(next) } else { posted.append(transfer) }
                events.append(.createTransfer(transfer))
            }
            batches.append(events)
        }
        // Everything below names transfers from the first batches, long out of the window.
        var late: [Event] = []
        for transfer in posted.prefix(8) { late.append(.createTransfer(transfer)) }
        var conflicting = posted[8]
        conflicting.amountMinor += 1
        late.append(.createTransfer(conflicting))
        for (offset, hold) in holds.prefix(8).enumerated() {
            next += 1
            late.append(
                .createTransfer(
                    NewTransfer(
                        id: next, debitAccountId: 0, creditAccountId: 0, amountMinor: offset % 2 == 0 ? 0 : 50,
                        pendingId: hold, flags: offset % 3 == 0 ? .voidPending : .postPending)))
        }
        for original in posted.prefix(12) {
            next += 1
            late.append(
                .createTransfer(
                    NewTransfer(
                        id: next, debitAccountId: 0, creditAccountId: 0, amountMinor: original.amountMinor / 2,
                        pendingId: original.id, flags: .refund)))
        }
        batches.append(late)
        // Refund a capture of a hold (its amount and accounts come from the hold's record), and
        // refund more than remains of an original already half refunded.
        let capture = late.compactMap { event -> UInt128? in
            guard case .createTransfer(let transfer) = event, transfer.flags.contains(.postPending) else { return nil }
            return transfer.id
        }[0]
        batches.append([
            .createTransfer(
                NewTransfer(
                    id: next + 1, debitAccountId: 0, creditAccountId: 0, amountMinor: 10, pendingId: capture,
                    flags: .refund)),
            .createTransfer(
                NewTransfer(
                    id: next + 2, debitAccountId: 0, creditAccountId: 0, amountMinor: posted[0].amountMinor,
                    pendingId: posted[0].id, flags: .refund)),
        ])
        return batches
    }

    @Test("old retries, posts, voids and refunds match a state that keeps every request")
    func matchesKeepEverything() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let batches = Self.batches()
        let reference = LedgerState<Unshared>()
        let referenceClock = SteppingClock()
        var expected: [[EventResult]] = []
        for batch in batches { expected.append(reference.apply(batch, now: referenceClock.now())) }
        #expect(expected.last!.map(\.code) == [.ok, .refundExceedsOriginal])
        #expect(expected[expected.count - 2].contains { $0.code == .exists })
        #expect(expected[expected.count - 2].contains { $0.code == .existsWithDifferentFields })

        let ids = batches.flatMap { batch in
            batch.compactMap { event -> UInt128? in
                guard case .createTransfer(let transfer) = event else { return nil }
                return transfer.id
            }
        }
        let clock = SteppingClock()
        let ledger = try Ledger.open(directory: scratch.path, configuration: Self.configuration, clock: clock.now)
        for (batch, results) in zip(batches, expected) { #expect(try await ledger.submit(batch) == results) }
        // The log numbers batch records too, a state standing alone does not: sequences differ.
        func unsequenced(_ transfer: Transfer?) -> Transfer? {
            transfer.map {
                var copy = $0
                copy.sequence = 0
                return copy
            }
        }
        var sequences: Set<UInt64> = []
        for id in Set(ids) {
            let found = try ledger.transfer(id: id)
            #expect(unsequenced(found) == unsequenced(reference.transfer(id: id)), "transfer \(id)")
            if let found { #expect(found.sequence > 0 && sequences.insert(found.sequence).inserted) }
        }
        let history = try ledger.history(accountId: 1, limit: 10_000).map(\.fields.id)
        #expect(!history.isEmpty)
        var ledgerTransfers: [UInt128: Transfer] = [:]
        for id in ids { ledgerTransfers[id] = try ledger.transfer(id: id) }
        ledger.close()

        let reopened = try Ledger.open(directory: scratch.path, configuration: Self.configuration, clock: clock.now)
        defer { reopened.close() }
        for id in ids {
            #expect(try reopened.transfer(id: id) == ledgerTransfers[id], "transfer \(id) reopened")
        }
        #expect(try reopened.history(accountId: 1, limit: 10_000).map(\.fields.id) == history)
        for account in reference.allAccounts { #expect(reopened.account(id: account.id) == account) }
    }
}
