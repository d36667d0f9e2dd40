/// Checks of the ledger's invariants, for tests and for `khata check` of the live state.
extension LedgerState {
    /// The first broken invariant, described, or nil when all hold: per currency, posted debits
    /// equal posted credits and pending debits equal pending credits; no flagged account crosses
    /// its limit; the pending balances are exactly the open holds' amounts, and every open hold is
    /// pending (so a hold resolves at most once); `checkingHolds` adds a scan of every transfer
    /// for pending holds missing from the hold table.
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
        // The open-hold table is small (resolved holds leave it), so it is checked every time:
        // every entry is a pending transfer, and the pending balances are exactly its sums.
        var pendingDebits: [UInt32: UInt128] = [:]
        var pendingCredits: [UInt32: UInt128] = [:]
        for (index, hold) in holds {
            guard Int(index) < transfers.count, transfers[Int(index)].transferState == .pending else {
                return "the hold table lists transfer \(index), which is not a pending hold"
            }
            pendingDebits[hold.debitAccount, default: 0] += UInt128(hold.amountMinor)
            pendingCredits[hold.creditAccount, default: 0] += UInt128(hold.amountMinor)
        }
        if checkingHolds {
            // Reads every transfer: no pending hold is missing from the table.
            var pendingCount = 0
            for index in 0..<transfers.count where transfers[index].transferState == .pending { pendingCount += 1 }
            if pendingCount != holds.count { return "\(pendingCount) pending holds, \(holds.count) in the hold table" }
        }
        for index in 0..<accounts.count {
            let account = accounts.pointer(index)
            if pendingDebits[UInt32(index)] ?? 0 != UInt128(account.pointee.debitsPending)
                || pendingCredits[UInt32(index)] ?? 0 != UInt128(account.pointee.creditsPending)
            {
                return "account \(account.pointee.keyString): pending balances do not match its open holds"
            }
        }
        return nil
    }
}
