/// Transfer rules: single-phase postings, holds, posting and voiding holds, refunds, expiry.
extension LedgerState {
    func createTransfer(_ request: NewTransfer, timestamp: UInt64) -> EventResult {
        guard request.id != 0 else { return fail(.idMustNotBeZero) }
        if let existing = transfers[request.id] {
            let same = existing.request == request
            return EventResult(
                code: same ? .exists : .existsWithDifferentFields, timestamp: same ? existing.transfer.timestamp : 0)
        }
        guard TransferFlags.known.isSuperset(of: request.flags) else { return fail(.unknownFlags) }
        guard request.flags.intersection(TransferFlags.kinds).rawValue.nonzeroBitCount <= 1 else {
            return fail(.flagsAreMutuallyExclusive)
        }
        let isHold = request.flags.contains(.pending)
        if request.timeoutSeconds != 0 && !isHold { return fail(.timeoutRequiresPending) }
        if isHold && request.timeoutSeconds == 0 { return fail(.timeoutMustNotBeZero) }
        if request.flags.contains(.postPending) || request.flags.contains(.voidPending) {
            return resolveHold(request, timestamp: timestamp)
        }
        if request.flags.contains(.refund) { return refund(request, timestamp: timestamp) }
        guard request.pendingId == 0 else { return fail(.pendingIdMustBeZero) }
        return move(request, timestamp: timestamp)
    }

    /// A single-phase posting or a new hold.
    private func move(_ request: NewTransfer, timestamp: UInt64) -> EventResult {
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        guard request.debitAccountId != request.creditAccountId else { return fail(.accountsMustBeDifferent) }
        guard let debit = accountSlot(request.debitAccountId) else { return fail(.debitAccountNotFound) }
        guard let credit = accountSlot(request.creditAccountId) else { return fail(.creditAccountNotFound) }
        let isHold = request.flags.contains(.pending)
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: !isHold) {
            return fail(failure)
        }
        let amount = request.amountMinor
        var expiresAt: UInt64 = 0
        if isHold {
            let (window, overflowA) = UInt64(request.timeoutSeconds).multipliedReportingOverflow(
                by: Self.nanosecondsPerSecond)
            let (deadline, overflowB) = timestamp.addingReportingOverflow(window)
            guard !overflowA && !overflowB else { return fail(.overflowsBalance) }
            expiresAt = deadline
            updateAccount(debit) { $0.debitsPending += amount }
            updateAccount(credit) { $0.creditsPending += amount }
            expiry.push(ExpiryQueue.Entry(expiresAt: expiresAt, timestamp: timestamp, id: request.id))
        } else {
            updateAccount(debit) { $0.debitsPosted += amount }
            updateAccount(credit) { $0.creditsPosted += amount }
        }
        store(
            request, resolved: request, state: isHold ? .pending : .posted, timestamp: timestamp, expiresAt: expiresAt)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Checks currencies, flag limits and overflow for moving `amount` from `debit` to `credit`,
    /// as posted or as pending balances.
    private func checkMove(debit: Int, credit: Int, amount: UInt64, posted: Bool) -> ResultCode? {
        let debitAccount = accountAt(debit)
        let creditAccount = accountAt(credit)
        guard debitAccount.currency == creditAccount.currency else { return .currencyMismatch }
        let overflowA = (posted ? debitAccount.debitsPosted : debitAccount.debitsPending)
            .addingReportingOverflow(amount).overflow
        let overflowB = (posted ? creditAccount.creditsPosted : creditAccount.creditsPending)
            .addingReportingOverflow(amount).overflow
        guard !overflowA && !overflowB else { return .overflowsBalance }
        if debitAccount.flags.contains(.debitsMustNotExceedCredits) {
            let debits = UInt128(debitAccount.debitsPosted) + UInt128(debitAccount.debitsPending) + UInt128(amount)
            if debits > UInt128(debitAccount.creditsPosted) { return .insufficientFunds }
        }
        if creditAccount.flags.contains(.creditsMustNotExceedDebits) {
            let credits = UInt128(creditAccount.creditsPosted) + UInt128(creditAccount.creditsPending) + UInt128(amount)
            if credits > UInt128(creditAccount.debitsPosted) { return .exceedsDebits }
        }
        return nil
    }

    /// Posting (capture) or voiding (release) of a hold.
    private func resolveHold(_ request: NewTransfer, timestamp: UInt64) -> EventResult {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let hold = transfers[request.pendingId] else { return fail(.pendingTransferNotFound) }
        if let blocked = holdState(hold.transfer, at: timestamp) { return fail(blocked) }
        let held = hold.transfer.fields
        if (request.debitAccountId != 0 && request.debitAccountId != held.debitAccountId)
            || (request.creditAccountId != 0 && request.creditAccountId != held.creditAccountId)
        {
            return fail(.pendingTransferHasDifferentAccounts)
        }
        // Safe: a hold was created only between existing accounts, and accounts are never removed.
        let debit = accountSlot(held.debitAccountId)!
        let credit = accountSlot(held.creditAccountId)!
        var resolved = request
        resolved.debitAccountId = held.debitAccountId
        resolved.creditAccountId = held.creditAccountId
        let isPost = request.flags.contains(.postPending)
        if isPost {
            let amount = request.amountMinor == 0 ? held.amountMinor : request.amountMinor
            guard amount <= held.amountMinor else { return fail(.amountExceedsPending) }
            let debitAccount = accountAt(debit)
            let creditAccount = accountAt(credit)
            guard debitAccount.debitsPosted.addingReportingOverflow(amount).overflow == false,
                creditAccount.creditsPosted.addingReportingOverflow(amount).overflow == false
            else { return fail(.overflowsBalance) }
            resolved.amountMinor = amount
            updateAccount(debit) {
                $0.debitsPending -= held.amountMinor
                $0.debitsPosted += amount
            }
            updateAccount(credit) {
                $0.creditsPending -= held.amountMinor
                $0.creditsPosted += amount
            }
        } else {
            guard request.amountMinor == 0 || request.amountMinor == held.amountMinor else {
                return fail(.voidAmountMustMatchPending)
            }
            resolved.amountMinor = held.amountMinor
            updateAccount(debit) { $0.debitsPending -= held.amountMinor }
            updateAccount(credit) { $0.creditsPending -= held.amountMinor }
        }
        change(request.pendingId) { $0.transfer.state = isPost ? .pendingPosted : .pendingVoided }
        store(request, resolved: resolved, state: .posted, timestamp: timestamp, expiresAt: 0)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Why a hold cannot be resolved at `timestamp`, or nil when it can.
    private func holdState(_ hold: Transfer, at timestamp: UInt64) -> ResultCode? {
        switch hold.state {
        case .pending: return timestamp >= hold.expiresAt ? .pendingExpired : nil
        case .pendingPosted: return .pendingAlreadyPosted
        case .pendingVoided: return .pendingAlreadyVoided
        case .pendingExpired: return .pendingExpired
        case .posted: return .pendingTransferNotPending
        }
    }

    /// A posting in the opposite direction of a posted transfer, never more than what remains.
    private func refund(_ request: NewTransfer, timestamp: UInt64) -> EventResult {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let original = transfers[request.pendingId] else { return fail(.originalTransferNotFound) }
        let fields = original.transfer.fields
        guard original.transfer.state == .posted, !fields.flags.contains(.voidPending),
            !fields.flags.contains(.refund)
        else { return fail(.originalTransferNotRefundable) }
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        var resolved = request
        resolved.debitAccountId = request.debitAccountId == 0 ? fields.creditAccountId : request.debitAccountId
        resolved.creditAccountId = request.creditAccountId == 0 ? fields.debitAccountId : request.creditAccountId
        guard resolved.debitAccountId == fields.creditAccountId, resolved.creditAccountId == fields.debitAccountId
        else {
            return fail(.refundAccountsMismatch)
        }
        let remaining = fields.amountMinor - original.transfer.refundedMinor
        guard request.amountMinor <= remaining else { return fail(.refundExceedsOriginal) }
        // Safe: the original moved money between these accounts, which are never removed.
        let debit = accountSlot(resolved.debitAccountId)!
        let credit = accountSlot(resolved.creditAccountId)!
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: true) {
            return fail(failure)
        }
        let amount = request.amountMinor
        updateAccount(debit) { $0.debitsPosted += amount }
        updateAccount(credit) { $0.creditsPosted += amount }
        change(request.pendingId) { $0.transfer.refundedMinor += amount }
        store(request, resolved: resolved, state: .posted, timestamp: timestamp, expiresAt: 0)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Releases a hold whose payment window has closed.
    func expire(_ pendingId: UInt128, timestamp: UInt64) -> EventResult {
        guard pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let hold = transfers[pendingId] else { return fail(.pendingTransferNotFound) }
        switch hold.transfer.state {
        case .pending: break
        case .pendingPosted: return fail(.pendingAlreadyPosted)
        case .pendingVoided: return fail(.pendingAlreadyVoided)
        case .pendingExpired: return fail(.pendingExpired)
        case .posted: return fail(.pendingTransferNotPending)
        }
        guard timestamp >= hold.transfer.expiresAt else { return fail(.pendingNotExpired) }
        let held = hold.transfer.fields
        // Safe: a hold was created only between existing accounts, and accounts are never removed.
        updateAccount(accountSlot(held.debitAccountId)!) { $0.debitsPending -= held.amountMinor }
        updateAccount(accountSlot(held.creditAccountId)!) { $0.creditsPending -= held.amountMinor }
        change(pendingId) { $0.transfer.state = .pendingExpired }
        return EventResult(code: .ok, timestamp: timestamp)
    }

    private func store(
        _ request: NewTransfer, resolved: NewTransfer, state: TransferState, timestamp: UInt64, expiresAt: UInt64
    ) {
        let transfer = Transfer(
            fields: resolved, state: state, timestamp: timestamp, expiresAt: expiresAt, refundedMinor: 0)
        transfers[request.id] = StoredTransfer(request: request, transfer: transfer)
        record(.transferCreated(id: request.id))
        noteTransferChange(request.id)
    }

    private func change(_ id: UInt128, _ body: (inout StoredTransfer) -> Void) {
        // Safe: callers looked the transfer up just before.
        let previous = transfers[id]!
        record(.transferChanged(id: id, previous: previous))
        transfers.update(id, body)
        noteTransferChange(id)
    }
}
