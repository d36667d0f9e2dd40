import Dispatch
import Foundation
import LedgerCore
import LedgerStorage
import Synchronization
import TestSupport
import Testing

@testable import Ledger

/// Readers on their own threads while 8 submitters post: what they see is always a state some
/// durable group left (no torn balances, no unacknowledged effects), without taking locks.
@Suite("Ledger readers under load")
struct ConcurrentReadTests {
    static let accountCount = 20

    @Test("readers never see torn balances, broken histories or lost acknowledged transfers")
    func readersDuringLoad() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let ledger = try Ledger.open(directory: scratch.path, configuration: ScratchLedger.configuration)
        defer { ledger.close() }
        // Odd accounts are unrestricted sources; even ones must not be overdrawn, funded first.
        _ = try await ledger.submit(LedgerEngineTests.accounts(Self.accountCount))
        let funding: [Event] = (1...Self.accountCount / 2).map { (pair: Int) -> Event in
            let id: UInt128 = (UInt128(1) << 100) | UInt128(pair)
            let transfer = NewTransfer(
                id: id, debitAccountId: UInt128(2 * pair - 1), creditAccountId: UInt128(2 * pair),
                amountMinor: 1_000_000)
            return .createTransfer(transfer)
        }
        #expect(try await ledger.submit(funding).allSatisfy { $0.code == .ok })

        let shared = Shared()
        let readers = DispatchGroup()
        for reader in 0..<2 {
            readers.enter()
            BackgroundThread.start(name: "reader-\(reader)") {
                Self.read(ledger, seed: UInt64(reader), shared: shared)
                readers.leave()
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for submitter in 0..<8 {
                group.addTask {
                    try await Self.submit(ledger, submitter: submitter, shared: shared)
                }
            }
            try await group.waitForAll()
        }
        shared.stop.store(true, ordering: .releasing)
        readers.wait()
        #expect(shared.problems.withLock { $0 } == [])
        // Idle now: every acknowledged transfer is readable and the books balance.
        let ids = shared.acknowledged.withLock { $0 }
        #expect(ids.count > 10_000)
        #expect(ids.allSatisfy { (try! ledger.transfer(id: $0)) != nil })
        let accounts = ledger.accounts
        #expect(accounts.map(\.debitsPosted).reduce(0, +) == accounts.map(\.creditsPosted).reduce(0, +))
        #expect(accounts.map(\.debitsPending).reduce(0, +) == accounts.map(\.creditsPending).reduce(0, +))
    }

    static func submit(_ ledger: Ledger, submitter: Int, shared: Shared) async throws {
        var random = SplitMix(seed: 100 + UInt64(submitter))
        var holds: [UInt128] = []
        var next = UInt128(submitter + 1) << 64
        for _ in 0..<40 {
            var events: [Event] = []
            for _ in 0..<50 {
                next += 1
                let debit = UInt128(2 * Int.random(in: 1...accountCount / 2, using: &random))
                var credit = UInt128(Int.random(in: 1...accountCount, using: &random))
                if credit == debit { credit = debit - 1 }
                let roll = random.next() % 10
                if roll < 3 {
                    holds.append(next)
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: next, debitAccountId: debit, creditAccountId: credit,
                                amountMinor: random.next() % 500 + 1, timeoutSeconds: 3_600, flags: .pending)))
                } else if roll < 5, let hold = holds.popLast() {
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: next, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: hold,
                                flags: roll == 3 ? .postPending : .voidPending)))
                } else {
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: next, debitAccountId: debit, creditAccountId: credit,
                                amountMinor: random.next() % 500 + 1)))
                }
            }
            let results = try await ledger.submit(events)
            let ok = zip(events, results).compactMap { event, result -> UInt128? in
                guard result.code == .ok, case .createTransfer(let transfer) = event else { return nil }
                return transfer.id
            }
            shared.acknowledged.withLock { $0 += ok }
        }
    }

    static func read(_ ledger: Ledger, seed: UInt64, shared: Shared) {
        var random = SplitMix(seed: seed)
        func problem(_ text: String) { shared.problems.withLock { if $0.count < 10 { $0.append(text) } } }
        while !shared.stop.load(ordering: .acquiring) {
            let id = UInt128(Int.random(in: 1...accountCount, using: &random))
            guard let account = ledger.account(id: id) else {
                problem("account \(id) vanished")
                continue
            }
            // All four balances come from one durable group, so a limit holds in every read.
            if account.flags.contains(.debitsMustNotExceedCredits)
                && account.debitsPosted + account.debitsPending > account.creditsPosted
            {
                problem("account \(id) read torn or overdrawn: \(account)")
            }
            let page = try! ledger.history(accountId: id, after: 0, limit: 50)
            for (earlier, later) in zip(page, page.dropFirst()) where earlier.timestamp >= later.timestamp {
                problem("history of \(id) out of order")
            }
            if page.contains(where: { $0.fields.debitAccountId != id && $0.fields.creditAccountId != id }) {
                problem("history of \(id) lists a transfer of other accounts")
            }
            // Due holds are read without locks too: each one is a committed hold.
            for hold in ledger.dueHolds(at: UInt64.max, limit: 20)
            where !(try! ledger.transfer(id: hold)?.fields.flags.contains(.pending) ?? false) {
                problem("due hold \(hold) is not a committed hold")
            }
            // A transfer acknowledged before this read started must be visible.
            let known = shared.acknowledged.withLock { $0.isEmpty ? nil : $0[Int(random.next() % UInt64($0.count))] }
            if let known, (try! ledger.transfer(id: known)) == nil {
                problem("acknowledged transfer \(known) not readable")
            }
            // A pause between rounds: thousands of reads a second still overlap every commit,
            // and two readers spinning flat out would take both cores of a small machine from
            // the submitters (and from every other test running beside this one).
            usleep(200)
        }
    }
}

/// What the submitters and readers share.
final class Shared: Sendable {
    let acknowledged = Mutex<[UInt128]>([])
    let problems = Mutex<[String]>([])
    let stop = Atomic<Bool>(false)
}

@Suite("Due holds through the engine")
struct DueHoldTests {
    @Test("due holds are the committed open ones, earliest deadline first, and expiring them empties the list")
    func dueHolds() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let clock = SteppingClock()
        let ledger = try Ledger.open(
            directory: scratch.path, configuration: ScratchLedger.configuration, clock: clock.now)
        defer { ledger.close() }
        _ = try await ledger.submit(LedgerEngineTests.accounts(4))
        var random = SplitMix(seed: 9)
        var holds: [UInt128] = []
        for batch in 0..<20 {
            let events: [Event] = (0..<100).map { index in
                let id = UInt128(batch * 100 + index + 1)
                holds.append(id)
                return .createTransfer(
                    NewTransfer(
                        id: id, debitAccountId: 1, creditAccountId: 2, amountMinor: 10,
                        timeoutSeconds: UInt32(60 + random.next() % 7_200), flags: .pending))
            }
            #expect(try await ledger.submit(events).allSatisfy { $0.code == .ok })
        }
        // Post four holds in five, in several groups, so most queued entries are resolved.
        let posted = holds.filter { $0 % 5 != 0 }
        for start in stride(from: 0, to: posted.count, by: 400) {
            let events: [Event] = posted[start..<min(start + 400, posted.count)].map { hold in
                .createTransfer(
                    NewTransfer(
                        id: 100_000 + hold, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: hold,
                        flags: .postPending))
            }
            #expect(try await ledger.submit(events).allSatisfy { $0.code == .ok })
        }
        let later = clock.now() + 100_000 * 1_000_000_000
        let due = ledger.dueHolds(at: later, limit: 10_000)
        #expect(Set(due) == Set(holds.filter { $0 % 5 == 0 }))
        let deadlines = due.map { (try! ledger.transfer(id: $0))!.expiresAt }
        #expect(deadlines == deadlines.sorted())
        #expect(ledger.dueHolds(at: later, limit: 7).count == 7)
        #expect(ledger.dueHolds(at: 0, limit: 10).isEmpty)
        let expiry = try await ledger.submit(due.prefix(50).map { .expirePending(pendingId: $0) })
        #expect(expiry.allSatisfy { $0.code == .pendingNotExpired })
    }
}
