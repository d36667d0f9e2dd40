/// Checks of the ledger's invariants, for tests and for `khata check` of the live state.
extension LedgerState {
    /// The first broken invariant, described, or nil when all hold: per currency, posted debits
    /// equal posted credits and pending debits equal pending credits; no flagged account crosses
    /// its limit; every pending hold is counted in its accounts' pending balances (that last check
    /// reads every transfer; `checkingHolds: false` skips it).
    public func brokenInvariant(checkingHolds: Bool = true) -> String? {
        var totals: [UInt16: (UInt128, UInt128, UInt128, UInt128)] = [:]
        for account in allAccounts {
            var sum = totals[account.currency.numericCode] ?? (0, 0, 0, 0)
            sum.0 += UInt128(account.debitsPosted)
            sum.1 += UInt128(account.creditsPosted)
            sum.2 += UInt128(account.debitsPending)
            sum.3 += UInt128(account.creditsPending)
            totals[account.currency.numericCode] = sum
            if account.flags.contains(.debitsMustNotExceedCredits),
                UInt128(account.debitsPosted) + UInt128(account.debitsPending) > UInt128(account.creditsPosted)
            {
                return "account \(account.key) has debits beyond its credits"
            }
            if account.flags.contains(.creditsMustNotExceedDebits),
                UInt128(account.creditsPosted) + UInt128(account.creditsPending) > UInt128(account.debitsPosted)
            {
                return "account \(account.key) has credits beyond its debits"
            }
        }
        for (currency, sum) in totals {
            if sum.0 != sum.1 { return "currency \(currency): posted debits \(sum.0) != posted credits \(sum.1)" }
            if sum.2 != sum.3 { return "currency \(currency): pending debits \(sum.2) != pending credits \(sum.3)" }
        }
        guard checkingHolds else { return nil }
        var pendingByAccount: [UInt128: (UInt128, UInt128)] = [:]
        var pendingCount = 0
        for index in 0..<transfers.count where transfers[index].transferState == .pending {
            pendingCount += 1
            guard let hold = holds[UInt32(index)] else { return "hold \(transfers[index].id) is not in the hold table" }
            pendingByAccount[accounts[Int(hold.debitAccount)].id, default: (0, 0)].0 += UInt128(hold.amountMinor)
            pendingByAccount[accounts[Int(hold.creditAccount)].id, default: (0, 0)].1 += UInt128(hold.amountMinor)
        }
        if holds.count != pendingCount { return "the hold table lists holds that are not pending" }
        for account in allAccounts {
            let held = pendingByAccount[account.id] ?? (0, 0)
            if held.0 != UInt128(account.debitsPending) || held.1 != UInt128(account.creditsPending) {
                return "account \(account.key): pending balances do not match its open holds"
            }
        }
        return nil
    }
}
