import Expiry
import Ledger
import LedgerAccess
import LedgerCore
import LedgerStorage
import Synchronization
import TestSupport
import Testing

/// A clock the test moves by hand, so that payment windows pass without sleeping.
final class HandClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(1_764_400_000_000_000_000)
    var now: UInt64 { nanoseconds.load(ordering: .sequentiallyConsistent) }
    func advance(seconds: UInt64) { nanoseconds.add(seconds * 1_000_000_000, ordering: .sequentiallyConsistent) }
    var read: @Sendable () -> UInt64 { { [self] in now } }
}

/// Counts shared by the racing tasks.
final class Tally: Sendable {
    let confirmed = Atomic<Int>(0)
    let expired = Atomic<Int>(0)
}

/// The expire-reservations job against a real ledger in a scratch directory.
@Suite("Expiry job")
struct ExpiryJobTests {
    static let clearing: UInt128 = 1
    static let merchant: UInt128 = 2

    static func open(_ directory: TemporaryDirectory, clock: HandClock) async throws -> Ledger {
        var configuration = LedgerConfiguration()
        configuration.storage.segmentSizeBytes = 16 << 20
        configuration.storage.spareSegmentCount = 0
        let ledger = try Ledger.open(
            directory: directory.path + "/ledger", configuration: configuration, clock: clock.read)
        let results = try await ledger.submit([
            .createAccount(NewAccount(id: clearing, key: "provider:bkash:clearing", currency: .bdt)),
            .createAccount(NewAccount(id: merchant, key: "merchant:SVC-456", currency: .bdt)),
        ])
        #expect(results.allSatisfy { $0.code == .ok })
        return ledger
    }

    /// Holds of 1.00 with the given windows, ids from `firstId`.
    static func holds(_ windows: [UInt32], firstId: UInt128 = 1_000) -> [Event] {
        windows.enumerated().map { index, window in
            .createTransfer(
                NewTransfer(
                    id: firstId + UInt128(index), debitAccountId: clearing, creditAccountId: merchant, amountMinor: 100,
                    timeoutSeconds: window, flags: .pending))
        }
    }

    @Test("voids exactly the holds whose window has passed, once; a second run finds nothing")
    func expiresDueHolds() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = HandClock()
        let ledger = try await Self.open(directory, clock: clock)
        defer { ledger.close() }
        var random = SplitMix(seed: 6)
        let windows = (0..<2_500).map { _ in UInt32.random(in: 60...3_600, using: &random) }
        let created = try await ledger.submit(Self.holds(windows))
        #expect(created.allSatisfy { $0.code == .ok })
        clock.advance(seconds: 1_800)
        let job = ExpiryJob(ledger: LocalLedger(ledger: ledger), batchSize: 500)
        let first = try await job.run(now: clock.now)
        // A hold made at the start (plus a few nanoseconds) is due when its whole window fits.
        let due = windows.filter { $0 < 1_800 }.count
        #expect(first.expired == due && first.alreadyResolved == 0 && first.notYetDue == 0)
        #expect(first.batches == (due + 499) / 500)
        let second = try await job.run(now: clock.now)
        #expect(second == ExpiryOutcome())
        for (index, window) in windows.enumerated() {
            let state = try ledger.transfer(id: 1_000 + UInt128(index))?.state
            #expect(state == (window < 1_800 ? .pendingExpired : .pending), "hold \(index), window \(window)")
        }
        let merchant = try #require(ledger.account(id: Self.merchant))
        #expect(merchant.creditsPending == UInt64(windows.count - due) * 100)
        #expect(merchant.creditsPosted == 0)
        // A `now` ahead of the ledger's clock selects holds the ledger does not yet see as due.
        let ahead = try await job.run(now: clock.now + 3_600 * 1_000_000_000)
        #expect(ahead.expired == 0 && ahead.notYetDue == windows.count - due)
    }

    @Test(
        "10,000 holds, random windows, confirmations racing two expiry runs: each hold ends in exactly one state")
    func races() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = HandClock()
        let ledger = try await Self.open(directory, clock: clock)
        defer { ledger.close() }
        var random = SplitMix(seed: 10_000)
        let count = 10_000
        let windows = (0..<count).map { _ in UInt32.random(in: 60...600, using: &random) }
        for start in stride(from: 0, to: count, by: 1_000) {
            let results = try await ledger.submit(
                Self.holds(Array(windows[start..<start + 1_000]), firstId: 1_000 + UInt128(start)))
            #expect(results.allSatisfy { $0.code == .ok })
        }
        // Each confirmer captures its share of the holds in a seeded order while the clock moves
        // and two expiry runs release whatever is due.
        let order = (0..<count).shuffled(using: &random)
        let job = ExpiryJob(ledger: LocalLedger(ledger: ledger), batchSize: 250)
        let tally = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for confirmer in 0..<4 {
                let share = order.enumerated().filter { $0.offset % 4 == confirmer }.map(\.element)
                group.addTask {
                    for chunk in stride(from: 0, to: share.count, by: 50) {
                        let events = share[chunk..<min(chunk + 50, share.count)].map { index in
                            Event.createTransfer(
                                NewTransfer(
                                    id: 100_000 + UInt128(index), debitAccountId: 0, creditAccountId: 0, amountMinor: 0,
                                    pendingId: 1_000 + UInt128(index), flags: .postPending))
                        }
                        let results = try await ledger.submit(events)
                        tally.confirmed.add(results.filter { $0.code == .ok }.count, ordering: .relaxed)
                        clock.advance(seconds: 1)
                    }
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    for _ in 0..<40 {
                        let outcome = try await job.run(now: clock.now)
                        tally.expired.add(outcome.expired, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        clock.advance(seconds: 3_600)
        tally.expired.add(try await job.run(now: clock.now).expired, ordering: .relaxed)
        // Exactly one outcome per hold, and the balances say the same.
        var posted = 0
        var lapsed = 0
        for index in 0..<count {
            switch try ledger.transfer(id: 1_000 + UInt128(index))?.state {
            case .pendingPosted?: posted += 1
            case .pendingExpired?: lapsed += 1
            case let other: Issue.record("hold \(index) ended \(String(describing: other))")
            }
        }
        #expect(posted == tally.confirmed.load(ordering: .relaxed))
        #expect(lapsed == tally.expired.load(ordering: .relaxed))
        #expect(posted + lapsed == count)
        #expect(posted > 0 && lapsed > 0)
        let merchant = try #require(ledger.account(id: Self.merchant))
        let clearing = try #require(ledger.account(id: Self.clearing))
        #expect(merchant.creditsPending == 0 && clearing.debitsPending == 0)
        #expect(merchant.creditsPosted == UInt64(posted) * 100 && clearing.debitsPosted == UInt64(posted) * 100)
    }
}
