import LedgerCore

/// A second, deliberately plain implementation of the ledger's rules, written from the rules
/// themselves (docs and ResultCode comments), sharing no code with LedgerState: dictionaries of
/// simple values, a journal of saved values for linked chains. Tests compare the two.
final class ReferenceLedger {
    struct Balances: Equatable {
        var debitsPending: UInt64 = 0
        var debitsPosted: UInt64 = 0
        var creditsPending: UInt64 = 0
        var creditsPosted: UInt64 = 0
    }

    struct AccountRow {
        var key: String
        var currency: UInt16
        var flags: UInt16
        var code: UInt16
        var timestamp: UInt64
        var balances = Balances()
    }

    enum Status: Equatable { case posted, held, captured, released, lapsed }

    struct TransferRow {
        var request: NewTransfer
        var debit: UInt128
        var credit: UInt128
        var amount: UInt64
        var status: Status
        var deadline: UInt64
        var refunded: UInt64
        var timestamp: UInt64
        var isVoidOrRefund: Bool
    }

    var accounts: [UInt128: AccountRow] = [:]
    var keys: Set<String> = []
    var transfers: [UInt128: TransferRow] = [:]
    var last: UInt64 = 0
    private var savedAccounts: [UInt128: AccountRow?]?
    private var savedTransfers: [UInt128: TransferRow?]?
    private var savedKeys: Set<String>?

    func apply(_ events: [Event], now: UInt64) -> [ResultCode] {
        let first = now > last ? now : last + 1
        var codes: [ResultCode] = []
        var index = 0
        while index < events.count {
            // A chain runs from a linked event to the first event that is not linked.
            var end = index
            while end < events.count && events[end].isLinked { end += 1 }
            if end == index {
                codes.append(applyOne(events[index], at: first + UInt64(index)))
                index += 1
                continue
            }
            if end == events.count {
                codes += Array(repeating: .linkedEventChainOpen, count: end - index)
                index = end
                continue
            }
            startJournal()
            var chainCodes: [ResultCode] = []
            var failedAt: Int?
            for position in index...end {
                let code = applyOne(events[position], at: first + UInt64(position))
                chainCodes.append(code)
                if code != .ok && code != .exists {
                    failedAt = position - index
                    break
                }
            }
            if let failedAt {
                undoJournal()
                for position in 0...(end - index) {
                    codes.append(position == failedAt ? chainCodes[failedAt] : .linkedEventFailed)
                }
            } else {
                dropJournal()
                codes += chainCodes
            }
            index = end + 1
        }
        if !events.isEmpty { last = first + UInt64(events.count) - 1 }
        return codes
    }

    private func applyOne(_ event: Event, at time: UInt64) -> ResultCode {
        switch event {
        case .createAccount(let account): return open(account, at: time)
        case .createTransfer(let request): return move(request, at: time)
        case .expirePending(let id): return lapse(id, at: time)
        }
    }

    private func open(_ new: NewAccount, at time: UInt64) -> ResultCode {
        if new.id == 0 { return .idMustNotBeZero }
        if let row = accounts[new.id] {
            let same =
                row.key == new.key && row.currency == new.currency.numericCode
                && row.flags == new.flags.rawValue && row.code == new.code
            return same ? .exists : .existsWithDifferentFields
        }
        if new.flags.rawValue & ~UInt16(3) != 0 { return .unknownFlags }
        if new.flags.rawValue == 3 { return .flagsAreMutuallyExclusive }
        if new.key.isEmpty { return .accountKeyMustNotBeEmpty }
        if new.key.utf8.count > 64 { return .accountKeyTooLong }
        if keys.contains(new.key) { return .accountKeyExists }
        saveAccount(new.id)
        saveKeys()
        accounts[new.id] = AccountRow(
            key: new.key, currency: new.currency.numericCode, flags: new.flags.rawValue, code: new.code, timestamp: time
        )
        keys.insert(new.key)
        return .ok
    }

    private func move(_ t: NewTransfer, at time: UInt64) -> ResultCode {
        if t.id == 0 { return .idMustNotBeZero }
        if let row = transfers[t.id] { return row.request == t ? .exists : .existsWithDifferentFields }
        if t.flags.rawValue & ~UInt16(0x1F) != 0 { return .unknownFlags }
        let kindBits = [UInt16(2), 4, 8, 16].filter { t.flags.rawValue & $0 != 0 }.count
        if kindBits > 1 { return .flagsAreMutuallyExclusive }
        let hold = t.flags.contains(.pending)
        if t.timeoutSeconds != 0 && !hold { return .timeoutRequiresPending }
        if hold && t.timeoutSeconds == 0 { return .timeoutMustNotBeZero }
        if t.flags.contains(.postPending) || t.flags.contains(.voidPending) { return settle(t, at: time) }
        if t.flags.contains(.refund) { return giveBack(t, at: time) }
        if t.pendingId != 0 { return .pendingIdMustBeZero }
        if t.amountMinor == 0 { return .amountMustNotBeZero }
        if t.debitAccountId == t.creditAccountId { return .accountsMustBeDifferent }
        guard accounts[t.debitAccountId] != nil else { return .debitAccountNotFound }
        guard accounts[t.creditAccountId] != nil else { return .creditAccountNotFound }
        if let problem = limits(t.debitAccountId, t.creditAccountId, t.amountMinor, posted: !hold) { return problem }
        var deadline: UInt64 = 0
        if hold {
            let window = UInt128(t.timeoutSeconds) * 1_000_000_000 + UInt128(time)
            if window > UInt128(UInt64.max) { return .overflowsBalance }
            deadline = UInt64(window)
        }
        saveAccount(t.debitAccountId)
        saveAccount(t.creditAccountId)
        if hold {
            accounts[t.debitAccountId]!.balances.debitsPending += t.amountMinor
            accounts[t.creditAccountId]!.balances.creditsPending += t.amountMinor
        } else {
            accounts[t.debitAccountId]!.balances.debitsPosted += t.amountMinor
            accounts[t.creditAccountId]!.balances.creditsPosted += t.amountMinor
        }
        saveTransfer(t.id)
        transfers[t.id] = TransferRow(
            request: t, debit: t.debitAccountId, credit: t.creditAccountId, amount: t.amountMinor,
            status: hold ? .held : .posted, deadline: deadline, refunded: 0, timestamp: time, isVoidOrRefund: false)
        return .ok
    }

    private func limits(_ debit: UInt128, _ credit: UInt128, _ amount: UInt64, posted: Bool) -> ResultCode? {
        let d = accounts[debit]!
        let c = accounts[credit]!
        if d.currency != c.currency { return .currencyMismatch }
        let debitSide = UInt128(posted ? d.balances.debitsPosted : d.balances.debitsPending) + UInt128(amount)
        let creditSide = UInt128(posted ? c.balances.creditsPosted : c.balances.creditsPending) + UInt128(amount)
        if debitSide > UInt128(UInt64.max) || creditSide > UInt128(UInt64.max) { return .overflowsBalance }
        if d.flags & 1 != 0 {
            let total = UInt128(d.balances.debitsPosted) + UInt128(d.balances.debitsPending) + UInt128(amount)
            if total > UInt128(d.balances.creditsPosted) { return .insufficientFunds }
        }
        if c.flags & 2 != 0 {
            let total = UInt128(c.balances.creditsPosted) + UInt128(c.balances.creditsPending) + UInt128(amount)
            if total > UInt128(c.balances.debitsPosted) { return .exceedsDebits }
        }
        return nil
    }

    private func settle(_ t: NewTransfer, at time: UInt64) -> ResultCode {
        if t.pendingId == 0 { return .pendingIdRequired }
        guard let hold = transfers[t.pendingId] else { return .pendingTransferNotFound }
        switch hold.status {
        case .posted: return .pendingTransferNotPending
        case .captured: return .pendingAlreadyPosted
        case .released: return .pendingAlreadyVoided
        case .lapsed: return .pendingExpired
        case .held: if time >= hold.deadline { return .pendingExpired }
        }
        if t.debitAccountId != 0 && t.debitAccountId != hold.debit { return .pendingTransferHasDifferentAccounts }
        if t.creditAccountId != 0 && t.creditAccountId != hold.credit { return .pendingTransferHasDifferentAccounts }
        let capture = t.flags.contains(.postPending)
        var amount = hold.amount
        if capture {
            if t.amountMinor != 0 { amount = t.amountMinor }
            if amount > hold.amount { return .amountExceedsPending }
            if UInt128(accounts[hold.debit]!.balances.debitsPosted) + UInt128(amount) > UInt128(UInt64.max)
                || UInt128(accounts[hold.credit]!.balances.creditsPosted) + UInt128(amount) > UInt128(UInt64.max)
            {
                return .overflowsBalance
            }
        } else if t.amountMinor != 0 && t.amountMinor != hold.amount {
            return .voidAmountMustMatchPending
        }
        saveAccount(hold.debit)
        saveAccount(hold.credit)
        accounts[hold.debit]!.balances.debitsPending -= hold.amount
        accounts[hold.credit]!.balances.creditsPending -= hold.amount
        if capture {
            accounts[hold.debit]!.balances.debitsPosted += amount
            accounts[hold.credit]!.balances.creditsPosted += amount
        }
        saveTransfer(t.pendingId)
        transfers[t.pendingId]!.status = capture ? .captured : .released
        saveTransfer(t.id)
        transfers[t.id] = TransferRow(
            request: t, debit: hold.debit, credit: hold.credit, amount: amount, status: .posted, deadline: 0,
            refunded: 0, timestamp: time, isVoidOrRefund: !capture)
        return .ok
    }

    private func giveBack(_ t: NewTransfer, at time: UInt64) -> ResultCode {
        if t.pendingId == 0 { return .pendingIdRequired }
        guard let original = transfers[t.pendingId] else { return .originalTransferNotFound }
        if original.status != .posted || original.isVoidOrRefund { return .originalTransferNotRefundable }
        if t.amountMinor == 0 { return .amountMustNotBeZero }
        let debit = t.debitAccountId == 0 ? original.credit : t.debitAccountId
        let credit = t.creditAccountId == 0 ? original.debit : t.creditAccountId
        if debit != original.credit || credit != original.debit { return .refundAccountsMismatch }
        if t.amountMinor > original.amount - original.refunded { return .refundExceedsOriginal }
        if let problem = limits(debit, credit, t.amountMinor, posted: true) { return problem }
        saveAccount(debit)
        saveAccount(credit)
        accounts[debit]!.balances.debitsPosted += t.amountMinor
        accounts[credit]!.balances.creditsPosted += t.amountMinor
        saveTransfer(t.pendingId)
        transfers[t.pendingId]!.refunded += t.amountMinor
        saveTransfer(t.id)
        transfers[t.id] = TransferRow(
            request: t, debit: debit, credit: credit, amount: t.amountMinor, status: .posted, deadline: 0, refunded: 0,
            timestamp: time, isVoidOrRefund: true)
        return .ok
    }

    private func lapse(_ id: UInt128, at time: UInt64) -> ResultCode {
        if id == 0 { return .pendingIdRequired }
        guard let hold = transfers[id] else { return .pendingTransferNotFound }
        switch hold.status {
        case .posted: return .pendingTransferNotPending
        case .captured: return .pendingAlreadyPosted
        case .released: return .pendingAlreadyVoided
        case .lapsed: return .pendingExpired
        case .held: if time < hold.deadline { return .pendingNotExpired }
        }
        saveAccount(hold.debit)
        saveAccount(hold.credit)
        accounts[hold.debit]!.balances.debitsPending -= hold.amount
        accounts[hold.credit]!.balances.creditsPending -= hold.amount
        saveTransfer(id)
        transfers[id]!.status = .lapsed
        return .ok
    }

    // Journal for linked chains: the first value seen of each touched row, restored on failure.
    private func startJournal() {
        savedAccounts = [:]
        savedTransfers = [:]
        savedKeys = nil
    }

    private func saveAccount(_ id: UInt128) {
        if savedAccounts != nil && savedAccounts![id] == nil { savedAccounts![id] = .some(accounts[id]) }
    }

    private func saveTransfer(_ id: UInt128) {
        if savedTransfers != nil && savedTransfers![id] == nil { savedTransfers![id] = .some(transfers[id]) }
    }

    private func saveKeys() {
        if savedAccounts != nil && savedKeys == nil { savedKeys = keys }
    }

    private func undoJournal() {
        for (id, row) in savedAccounts ?? [:] { accounts[id] = row }
        for (id, row) in savedTransfers ?? [:] { transfers[id] = row }
        if let savedKeys { keys = savedKeys }
        dropJournal()
    }

    private func dropJournal() {
        savedAccounts = nil
        savedTransfers = nil
        savedKeys = nil
    }
}
