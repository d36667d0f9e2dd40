import Bookings
import Dispatch
import Ledger
import LedgerCore
import Synchronization

/// A seeded stream of the platform's reservation traffic written into a ledger as the HTTP API
/// writes it: one event per batch, ids and payment references derived from booking ids with
/// SHA-256, holds with 30-minute windows captured, cancelled, expired (by the expiry job's batch)
/// and sometimes refunded, on a simulated clock. Archives and their benchmarks use it: this is
/// the log they must compress.
public struct ReservationTraffic: Sendable {
    /// Transfers to write, at least (holds, captures, voids, expiries' transfers and refunds).
    public var transfers: Int
    public var seed: UInt64
    /// Reservations per block; captures and voids of a block follow two blocks later, expiries
    /// four later (the clock moves ten minutes a block).
    public var blockReservations = 1_000
    public static let merchants = 200
    public static let providers = ["bkash", "nagad", "sslcommerz"]

    public init(transfers: Int, seed: UInt64) {
        self.transfers = transfers
        self.seed = seed
    }

    /// What was written.
    public struct Outcome: Sendable {
        public var reservations = 0
        public var transfers = 0
        public var refused = 0
    }

    /// The clock the ledger must be opened with: the traffic moves it.
    public static func clock(startNanoseconds: UInt64) -> (
        clock: @Sendable () -> UInt64, advance: @Sendable (UInt64) -> Void
    ) {
        let box = ClockBox(start: startNanoseconds)
        return ({ box.read() }, { box.advance($0) })
    }

    /// Writes the traffic; `advance` moves the ledger's clock (from `clock`).
    public func write(into ledger: Ledger, advance: @Sendable (UInt64) -> Void) async throws -> Outcome {
        var random = BenchRandom(seed: seed)
        var outcome = Outcome()
        let clearing = Self.providers.map { NewAccount.derivedId(forKey: "provider:\($0):clearing") }
        let merchants = (1...Self.merchants).map { NewAccount.derivedId(forKey: "merchant:SVC-\($0)") }
        var accounts = zip(Self.providers, clearing).map { provider, id in
            Event.createAccount(NewAccount(id: id, key: "provider:\(provider):clearing", currency: .bdt))
        }
        accounts += merchants.enumerated().map { index, id in
            Event.createAccount(NewAccount(id: id, key: "merchant:SVC-\(index + 1)", currency: .bdt))
        }
        _ = try await ledger.submit(accounts)
        var pending: [[Event]] = []
        var expiring: [[Event]] = []
        var block = 0
        while outcome.transfers < transfers {
            var holds: [Event] = []
            var resolutions: [Event] = []
            var expiries: [Event] = []
            for number in 0..<blockReservations {
                let ids = BookingIds(bookingId: "BK-\(seed)-\(block * blockReservations + number)")
                let provider = Int(random.next() % 3)
                let merchant = merchants[Int(random.next() % UInt64(Self.merchants))]
                let amount = 50_000 + (random.next() % 1_950_000) / 100 * 100
                // Safe: payment references are 18 ASCII characters.
                let reference = TransferReference(ids.paymentReference)!
                holds.append(
                    .createTransfer(
                        NewTransfer(
                            id: ids.holdId, debitAccountId: clearing[provider], creditAccountId: merchant,
                            amountMinor: amount, timeoutSeconds: 1_800, code: BusinessCode.bookingPayment,
                            reference: reference, flags: .pending)))
                let fate = random.next() % 100
                if fate < 75 {
                    resolutions.append(
                        .createTransfer(
                            NewTransfer(
                                id: ids.confirmId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0,
                                pendingId: ids.holdId, code: BusinessCode.bookingPayment, reference: reference,
                                flags: .postPending)))
                    if fate < 4 {
                        let refunded = fate < 2 ? amount : amount / 2
                        resolutions.append(
                            .createTransfer(
                                NewTransfer(
                                    id: ids.cancelId, debitAccountId: merchant, creditAccountId: clearing[provider],
                                    amountMinor: refunded, pendingId: ids.confirmId,
                                    code: BusinessCode.bookingPayment, reference: reference, flags: .refund)))
                    }
                } else if fate < 85 {
                    resolutions.append(
                        .createTransfer(
                            NewTransfer(
                                id: ids.cancelId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0,
                                pendingId: ids.holdId, code: BusinessCode.bookingPayment, flags: .voidPending)))
                } else {
                    expiries.append(.expirePending(pendingId: ids.holdId))
                }
            }
            outcome.reservations += blockReservations
            pending.append(resolutions)
            expiring.append(expiries)
            var singles = holds
            if pending.count > 2 { singles += pending.removeFirst() }
            let (ok, refused) = try await submitEach(singles, ledger: ledger)
            outcome.transfers += ok + refused
            outcome.refused += refused
            if expiring.count > 4 {
                let due = expiring.removeFirst()
                if !due.isEmpty {
                    let results = try await ledger.submit(due)
                    outcome.transfers += results.count
                    outcome.refused += results.count { $0.code != .ok }
                }
            }
            advance(600 * 1_000_000_000)
            block += 1
        }
        return outcome
    }

    /// Submits each event as its own batch, as the API does, many in flight.
    private func submitEach(_ events: [Event], ledger: Ledger) async throws -> (ok: Int, refused: Int) {
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            let lanes = 64
            for lane in 0..<lanes {
                group.addTask {
                    var ok = 0
                    var refused = 0
                    for index in stride(from: lane, to: events.count, by: lanes) {
                        let result = try await ledger.submit([events[index]])
                        if result.first?.code == .ok { ok += 1 } else { refused += 1 }
                    }
                    return (ok, refused)
                }
            }
            var total = (ok: 0, refused: 0)
            for try await (ok, refused) in group {
                total.ok += ok
                total.refused += refused
            }
            return total
        }
    }
}

private final class ClockBox: Sendable {
    let now: Atomic<UInt64>
    init(start: UInt64) { now = Atomic(start) }
    func read() -> UInt64 { now.add(1_000, ordering: .relaxed).newValue }
    func advance(_ nanoseconds: UInt64) { _ = now.add(nanoseconds, ordering: .relaxed) }
}
