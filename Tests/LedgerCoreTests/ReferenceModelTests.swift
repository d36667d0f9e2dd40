import LedgerCore
import TestSupport
import Testing

/// Seeded random streams of events applied to the engine and to the reference model: every
/// result code and every balance must agree, and the invariants must hold after every batch.
@Suite("Engine against the reference model")
struct ReferenceModelTests {
    @Test("random streams agree with the model", arguments: [(10, UInt64(1)), (10_000, UInt64(2)), (40, UInt64(3))])
    func agreesWithModel(accountCount: Int, seed: UInt64) {
        var workload = Workload(accountCount: accountCount, seed: seed)
        let engine = LedgerState<Unshared>()
        let model = ReferenceLedger()
        var now: UInt64 = 1_764_000_000 * 1_000_000_000
        var resolutions: [UInt128: Int] = [:]
        var applied = 0
        var batchNumber = 0
        for batch in workload.setup() + [] {
            #expect(engine.apply(batch, now: now).map(\.code) == model.apply(batch, now: now))
        }
        while applied < 120_000 {
            batchNumber += 1
            now += UInt64.random(in: 0...90, using: &workload.random) * 1_000_000_000
            // Every tenth batch lands exactly on a hold's deadline and resolves that hold first,
            // so the boundary of the payment window is exercised, not just either side of it.
            var focus: UInt128?
            if batchNumber % 10 == 0,
                let (id, deadline) = workload.openHold(engine: engine, after: max(now, engine.lastTimestamp + 1))
            {
                now = deadline
                focus = id
            }
            let batch = workload.nextBatch(engine: engine, now: now, focus: focus)
            let results = engine.apply(batch, now: now)
            let expected = model.apply(batch, now: now)
            let codes = results.map(\.code)
            if codes != expected {
                let index = zip(codes, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
                let message =
                    "seed \(seed), batch \(batchNumber), event \(index): engine \(codes[index]), model "
                    + "\(expected[index]) for \(batch[index])"
                Issue.record("\(message)")
                return
            }
            for (event, result) in zip(batch, results) where result.code == .ok {
                switch event {
                case .createTransfer(let t) where t.flags.contains(.postPending) || t.flags.contains(.voidPending):
                    resolutions[t.pendingId, default: 0] += 1
                case .expirePending(let id):
                    resolutions[id, default: 0] += 1
                default: break
                }
            }
            if let broken = engine.brokenInvariant(checkingHolds: batchNumber % 50 == 0) {
                Issue.record("seed \(seed), batch \(batchNumber): \(broken)")
                return
            }
            applied += batch.count
        }
        #expect(resolutions.values.allSatisfy { $0 == 1 }, "a hold resolved more than once")
        #expect(engine.brokenInvariant() == nil)
        compareStates(engine, model, seed: seed)
        #expect(workload.counts.okTransfers > 20_000, "too few successful transfers to mean much")
    }

    private func compareStates(_ engine: LedgerState<Unshared>, _ model: ReferenceLedger, seed: UInt64) {
        #expect(engine.allAccounts.count == model.accounts.count)
        for account in engine.allAccounts {
            guard let row = model.accounts[account.id] else {
                Issue.record("seed \(seed): account \(account.id) missing in the model")
                continue
            }
            let balances = ReferenceLedger.Balances(
                debitsPending: account.debitsPending, debitsPosted: account.debitsPosted,
                creditsPending: account.creditsPending, creditsPosted: account.creditsPosted)
            #expect(balances == row.balances, "seed \(seed): account \(account.key)")
        }
        #expect(engine.transferCount == model.transfers.count)
        for (id, row) in model.transfers {
            guard let transfer = engine.transfer(id: id) else {
                Issue.record("seed \(seed): transfer \(id) missing in the engine")
                continue
            }
            let state: TransferState =
                switch row.status {
                case .posted: .posted
                case .held: .pending
                case .captured: .pendingPosted
                case .released: .pendingVoided
                case .lapsed: .pendingExpired
                }
            #expect(
                transfer.state == state && transfer.fields.amountMinor == row.amount
                    && transfer.refundedMinor == row.refunded && transfer.timestamp == row.timestamp,
                "seed \(seed): transfer \(id)")
        }
    }
}

/// Generates the events: many valid, many that must be refused, retries, chains and holds that
/// run out of their window.
struct Workload {
    var random: SplitMix
    let accountCount: Int
    var accountIds: [UInt128] = []
    var fundingIds: [UInt128] = []
    var holdIds: [UInt128] = []
    var postedIds: [UInt128] = []
    var sent: [NewTransfer] = []
    var nextId: UInt128 = 1_000_000
    var counts = (okTransfers: 0, all: 0)

    init(accountCount: Int, seed: UInt64) {
        self.accountCount = accountCount
        random = SplitMix(seed: seed)
    }

    /// Account creation, with a few refusals mixed in.
    mutating func setup() -> [[Event]] {
        var events: [Event] = []
        let usd = Currency(code: "USD")!
        for index in 0..<accountCount {
            let id = UInt128(index + 1)
            let roll = Int.random(in: 0..<100, using: &random)
            let flags: AccountFlags =
                roll < 30 ? .debitsMustNotExceedCredits : roll < 35 ? .creditsMustNotExceedDebits : []
            let currency = index % 17 == 16 ? usd : Currency.bdt
            events.append(.createAccount(NewAccount(id: id, key: "acct:\(index)", currency: currency, flags: flags)))
            accountIds.append(id)
            if flags.isEmpty { fundingIds.append(id) }
        }
        events.append(.createAccount(NewAccount(id: 1, key: "acct:0", currency: .bdt)))
        events.append(.createAccount(NewAccount(id: 999_999, key: "acct:1", currency: .bdt)))
        events.append(.createAccount(NewAccount(id: 0, key: "zero", currency: .bdt)))
        events.append(.createAccount(NewAccount(id: 999_998, key: "", currency: .bdt)))
        events.append(
            .createAccount(
                NewAccount(
                    id: 999_997, key: "both", currency: .bdt,
                    flags: [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits])))
        if fundingIds.isEmpty { fundingIds = [accountIds[0]] }
        return stride(from: 0, to: events.count, by: 500).map { Array(events[$0..<min($0 + 500, events.count)]) }
    }

    private mutating func pick(_ ids: [UInt128]) -> UInt128 {
        ids.isEmpty ? 424_242 : ids[Int.random(in: 0..<ids.count, using: &random)]
    }

    private mutating func amount() -> UInt64 {
        Int.random(in: 0..<100, using: &random) < 1 ? 0 : UInt64.random(in: 1...200_000, using: &random)
    }

    private mutating func freshId() -> UInt128 {
        nextId += 1
        return nextId
    }

    /// A hold still open whose deadline is later than `time`, if one is found quickly.
    mutating func openHold(engine: LedgerState<Unshared>, after time: UInt64) -> (UInt128, UInt64)? {
        for _ in 0..<20 {
            let id = pick(holdIds)
            if let hold = engine.transfer(id: id), hold.state == .pending, hold.expiresAt > time {
                return (id, hold.expiresAt)
            }
        }
        return nil
    }

    mutating func nextBatch(engine: LedgerState<Unshared>, now: UInt64, focus: UInt128? = nil) -> [Event] {
        let size = Int.random(in: 1...64, using: &random)
        var batch: [Event] = []
        if let focus {
            let flags: [TransferFlags] = [.postPending, .voidPending, []]
            let choice = flags[Int.random(in: 0..<3, using: &random)]
            if choice.isEmpty {
                batch.append(.expirePending(pendingId: focus))
            } else {
                let t = NewTransfer(
                    id: freshId(), debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: focus,
                    flags: choice)
                sent.append(t)
                batch.append(.createTransfer(t))
            }
        }
        for _ in 0..<size {
            let event = nextEvent(engine: engine, now: now)
            if case .createTransfer(let t) = event { sent.append(t) }
            batch.append(event)
        }
        counts.all += batch.count
        counts.okTransfers = engine.transferCount
        return batch
    }

    private mutating func nextEvent(engine: LedgerState<Unshared>, now: UInt64) -> Event {
        let roll = Int.random(in: 0..<100, using: &random)
        let linked: TransferFlags = Int.random(in: 0..<100, using: &random) < 8 ? .linked : []
        switch roll {
        case 0..<35:
            let debit = Int.random(in: 0..<10, using: &random) < 7 ? pick(fundingIds) : pick(accountIds)
            let credit = Int.random(in: 0..<100, using: &random) < 2 ? debit : pick(accountIds)
            let id = freshId()
            postedIds.append(id)
            return .createTransfer(
                NewTransfer(
                    id: id, debitAccountId: debit, creditAccountId: credit, amountMinor: amount(), code: 1,
                    reference: "B-\(id)", flags: linked))
        case 35..<55:
            let id = freshId()
            holdIds.append(id)
            let debit = Int.random(in: 0..<10, using: &random) < 7 ? pick(fundingIds) : pick(accountIds)
            return .createTransfer(
                NewTransfer(
                    id: id, debitAccountId: debit, creditAccountId: pick(accountIds), amountMinor: amount(),
                    timeoutSeconds: UInt32.random(in: 1...900, using: &random), reference: "PAY-\(id)",
                    flags: linked.union(.pending)))
        case 55..<75:
            let capture = roll < 67
            let pending = Int.random(in: 0..<100, using: &random) < 5 ? 77 : pick(holdIds)
            let held = engine.transfer(id: pending)?.fields
            var amount: UInt64 = 0
            let choice = Int.random(in: 0..<10, using: &random)
            if choice >= 6, let held {
                amount =
                    choice == 9 ? held.amountMinor + 1 : UInt64.random(in: 0...max(held.amountMinor, 1), using: &random)
            }
            var debit: UInt128 = 0
            if Int.random(in: 0..<10, using: &random) < 3 { debit = held?.debitAccountId ?? 0 }
            if Int.random(in: 0..<100, using: &random) < 5 { debit = pick(accountIds) }
            let id = freshId()
            if capture { postedIds.append(id) }
            return .createTransfer(
                NewTransfer(
                    id: id, debitAccountId: debit, creditAccountId: 0, amountMinor: amount, pendingId: pending,
                    flags: linked.union(capture ? .postPending : .voidPending)))
        case 75..<82:
            let original = pick(postedIds)
            let fields = engine.transfer(id: original)?.fields
            var debit: UInt128 = 0
            var credit: UInt128 = 0
            let choice = Int.random(in: 0..<10, using: &random)
            if choice < 3 {
                debit = fields?.creditAccountId ?? 0
                credit = fields?.debitAccountId ?? 0
            }
            if choice == 9 { debit = fields?.debitAccountId ?? 0 }
            let amount = UInt64.random(in: 0...max(fields?.amountMinor ?? 1, 1), using: &random)
            return .createTransfer(
                NewTransfer(
                    id: freshId(), debitAccountId: debit, creditAccountId: credit, amountMinor: amount,
                    pendingId: original, code: 2, flags: linked.union(.refund)))
        case 82..<88:
            let due = engine.dueHolds(at: now, limit: 4)
            return .expirePending(
                pendingId: due.isEmpty || Int.random(in: 0..<4, using: &random) == 0 ? pick(holdIds) : due[0])
        case 88..<94:
            guard !sent.isEmpty else { return .expirePending(pendingId: 5) }
            var again = sent[Int.random(in: 0..<sent.count, using: &random)]
            if Int.random(in: 0..<10, using: &random) < 3 { again.amountMinor &+= 1 }
            return .createTransfer(again)
        default:
            return junk()
        }
    }

    private mutating func junk() -> Event {
        let base = NewTransfer(
            id: freshId(), debitAccountId: pick(fundingIds), creditAccountId: pick(accountIds), amountMinor: 100)
        var bad = base
        switch Int.random(in: 0..<8, using: &random) {
        case 0: bad.id = 0
        case 1: bad.amountMinor = 0
        case 2: bad.flags = [.pending, .refund]
        case 3: bad.timeoutSeconds = 10
        case 4: bad.debitAccountId = 5_555_555
        case 5: bad.creditAccountId = 5_555_555
        case 6: bad.pendingId = 3
        default: bad.flags = TransferFlags(rawValue: 1 << 12)
        }
        return .createTransfer(bad)
    }
}
