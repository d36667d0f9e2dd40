/// Transfer rules: single-phase postings, holds, posting and voiding holds, refunds, expiry.
extension LedgerState {
    func createTransfer(_ request: NewTransfer, timestamp: UInt64) -> EventResult {
        guard request.id != 0 else { return fail(.idMustNotBeZero) }
        let hash = idHash(request.id)
        let probe = tables.transferIndex.find(hash) { transfers.pointer($0).pointee.hasId(request.id) }
        if let existing = probe.record {
            let same = self.request(at: existing) == request
            return EventResult(
                code: same ? .exists : .existsWithDifferentFields, timestamp: same ? transfers[existing].timestamp : 0)
        }
        guard TransferFlags.known.isSuperset(of: request.flags) else { return fail(.unknownFlags) }
        guard request.flags.intersection(TransferFlags.kinds).rawValue.nonzeroBitCount <= 1 else {
            return fail(.flagsAreMutuallyExclusive)
        }
        let isHold = request.flags.contains(.pending)
        if request.timeoutSeconds != 0 && !isHold { return fail(.timeoutRequiresPending) }
        if isHold && request.timeoutSeconds == 0 { return fail(.timeoutMustNotBeZero) }
        if request.flags.contains(.postPending) || request.flags.contains(.voidPending) {
            return resolveHold(request, timestamp: timestamp, hash: hash, probe: probe)
        }
        if request.flags.contains(.refund) { return refund(request, timestamp: timestamp, hash: hash, probe: probe) }
        guard request.pendingId == 0 else { return fail(.pendingIdMustBeZero) }
        return move(request, timestamp: timestamp, hash: hash, probe: probe)
    }

    /// The transfer at `index` as its client sent it: what a retry is compared with.
    func request(at index: Int) -> NewTransfer {
        let record = transfers[index]
        return NewTransfer(
            id: record.id,
            debitAccountId: record.given & GivenFields.debitAccount != 0 ? accounts[Int(record.debitAccount)].id : 0,
            creditAccountId: record.given & GivenFields.creditAccount != 0 ? accounts[Int(record.creditAccount)].id : 0,
            amountMinor: record.given & GivenFields.amount != 0 ? record.amountMinor : 0,
            pendingId: record.pending == noRecord ? 0 : transfers[Int(record.pending)].id,
            timeoutSeconds: record.timeoutSeconds, code: record.code,
            reference: TransferReference(bytes: record.reference),
            flags: TransferFlags(rawValue: record.flags))
    }

    /// A new record for `request` moving `amount` from account record `debit` to `credit`.
    private func newRecord(
        _ request: NewTransfer, debit: Int, credit: Int, amount: UInt64, pending: UInt32, state: TransferState,
        timestamp: UInt64
    ) -> TransferRecord {
        var given: UInt8 = 0
        if request.debitAccountId != 0 { given |= GivenFields.debitAccount }
        if request.creditAccountId != 0 { given |= GivenFields.creditAccount }
        if request.amountMinor != 0 { given |= GivenFields.amount }
        return TransferRecord(
            idLow: UInt64(truncatingIfNeeded: request.id), idHigh: UInt64(truncatingIfNeeded: request.id >> 64),
            reference: request.reference.bytes, timestamp: timestamp, amountMinor: amount,
            debitAccount: UInt32(debit), creditAccount: UInt32(credit), pending: pending,
            timeoutSeconds: request.timeoutSeconds, code: request.code, flags: request.flags.rawValue,
            state: state.rawValue, committedState: state.rawValue, given: given)
    }

    /// A single-phase posting or a new hold.
    private func move(_ request: NewTransfer, timestamp: UInt64, hash: UInt64, probe: TagIndex.Probe) -> EventResult {
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        guard request.debitAccountId != request.creditAccountId else { return fail(.accountsMustBeDifferent) }
        guard let debit = accountRecord(request.debitAccountId) else { return fail(.debitAccountNotFound) }
        guard let credit = accountRecord(request.creditAccountId) else { return fail(.creditAccountNotFound) }
        let isHold = request.flags.contains(.pending)
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: !isHold) {
            return fail(failure)
        }
        let amount = request.amountMinor
        if isHold {
            let (window, overflowA) = UInt64(request.timeoutSeconds).multipliedReportingOverflow(
                by: Self.nanosecondsPerSecond)
            let (expiresAt, overflowB) = timestamp.addingReportingOverflow(window)
            guard !overflowA && !overflowB else { return fail(.overflowsBalance) }
            updateAccount(debit) { $0.debitsPending += amount }
            updateAccount(credit) { $0.creditsPending += amount }
            noteNewHold(ExpiryQueue.Entry(expiresAt: expiresAt, timestamp: timestamp, record: transfers.count))
        } else {
            updateAccount(debit) { $0.debitsPosted += amount }
            updateAccount(credit) { $0.creditsPosted += amount }
        }
        let record = newRecord(
            request, debit: debit, credit: credit, amount: amount, pending: noRecord,
            state: isHold ? .pending : .posted, timestamp: timestamp)
        appendTransfer(record, hash: hash, probe: probe)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Checks currencies, flag limits and overflow for moving `amount` from `debit` to `credit`,
    /// as posted or as pending balances.
    private func checkMove(debit: Int, credit: Int, amount: UInt64, posted: Bool) -> ResultCode? {
        let debitAccount = accounts.pointer(debit)
        let creditAccount = accounts.pointer(credit)
        guard debitAccount.pointee.currency == creditAccount.pointee.currency else { return .currencyMismatch }
        let overflowA = (posted ? debitAccount.pointee.debitsPosted : debitAccount.pointee.debitsPending)
            .addingReportingOverflow(amount).overflow
        let overflowB = (posted ? creditAccount.pointee.creditsPosted : creditAccount.pointee.creditsPending)
            .addingReportingOverflow(amount).overflow
        guard !overflowA && !overflowB else { return .overflowsBalance }
        let debitFlags = AccountFlags(rawValue: debitAccount.pointee.flags)
        if debitFlags.contains(.debitsMustNotExceedCredits) {
            let debits =
                UInt128(debitAccount.pointee.debitsPosted) + UInt128(debitAccount.pointee.debitsPending)
                + UInt128(amount)
            if debits > UInt128(debitAccount.pointee.creditsPosted) { return .insufficientFunds }
        }
        let creditFlags = AccountFlags(rawValue: creditAccount.pointee.flags)
        if creditFlags.contains(.creditsMustNotExceedDebits) {
            let credits =
                UInt128(creditAccount.pointee.creditsPosted) + UInt128(creditAccount.pointee.creditsPending)
                + UInt128(amount)
            if credits > UInt128(creditAccount.pointee.debitsPosted) { return .exceedsDebits }
        }
        return nil
    }

    /// Posting (capture) or voiding (release) of a hold.
    private func resolveHold(_ request: NewTransfer, timestamp: UInt64, hash: UInt64, probe: TagIndex.Probe)
        -> EventResult
    {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let holdIndex = transferRecord(request.pendingId) else { return fail(.pendingTransferNotFound) }
        let hold = transfers.pointer(holdIndex).pointee
        if let blocked = holdState(hold, at: timestamp) { return fail(blocked) }
        let debit = Int(hold.debitAccount)
        let credit = Int(hold.creditAccount)
        if (request.debitAccountId != 0 && request.debitAccountId != accounts.pointer(debit).pointee.id)
            || (request.creditAccountId != 0 && request.creditAccountId != accounts.pointer(credit).pointee.id)
        {
            return fail(.pendingTransferHasDifferentAccounts)
        }
        let held = hold.amountMinor
        let isPost = request.flags.contains(.postPending)
        let amount: UInt64
        if isPost {
            amount = request.amountMinor == 0 ? held : request.amountMinor
            guard amount <= held else { return fail(.amountExceedsPending) }
            guard accounts.pointer(debit).pointee.debitsPosted.addingReportingOverflow(amount).overflow == false,
                accounts.pointer(credit).pointee.creditsPosted.addingReportingOverflow(amount).overflow == false
            else { return fail(.overflowsBalance) }
            updateAccount(debit) {
                $0.debitsPending -= held
                $0.debitsPosted += amount
            }
            updateAccount(credit) {
                $0.creditsPending -= held
                $0.creditsPosted += amount
            }
        } else {
            guard request.amountMinor == 0 || request.amountMinor == held else {
                return fail(.voidAmountMustMatchPending)
            }
            amount = held
            updateAccount(debit) { $0.debitsPending -= held }
            updateAccount(credit) { $0.creditsPending -= held }
        }
        changeTransfer(holdIndex) {
            $0.state = isPost ? TransferState.pendingPosted.rawValue : TransferState.pendingVoided.rawValue
        }
        let record = newRecord(
            request, debit: debit, credit: credit, amount: amount, pending: UInt32(holdIndex), state: .posted,
            timestamp: timestamp)
        appendTransfer(record, hash: hash, probe: probe)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Why a hold cannot be resolved at `timestamp`, or nil when it can.
    private func holdState(_ hold: TransferRecord, at timestamp: UInt64) -> ResultCode? {
        switch TransferState(rawValue: hold.state) {
        case .pending: return timestamp >= hold.expiresAt ? .pendingExpired : nil
        case .pendingPosted: return .pendingAlreadyPosted
        case .pendingVoided: return .pendingAlreadyVoided
        case .pendingExpired: return .pendingExpired
        case .posted, nil: return .pendingTransferNotPending
        }
    }

    /// A posting in the opposite direction of a posted transfer, never more than what remains.
    private func refund(_ request: NewTransfer, timestamp: UInt64, hash: UInt64, probe: TagIndex.Probe) -> EventResult {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let originalIndex = transferRecord(request.pendingId) else { return fail(.originalTransferNotFound) }
        let original = transfers.pointer(originalIndex).pointee
        let originalFlags = TransferFlags(rawValue: original.flags)
        guard original.state == TransferState.posted.rawValue, !originalFlags.contains(.voidPending),
            !originalFlags.contains(.refund)
        else { return fail(.originalTransferNotRefundable) }
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        // A refund runs the other way: it debits the original's credit account.
        let debit = Int(original.creditAccount)
        let credit = Int(original.debitAccount)
        guard request.debitAccountId == 0 || request.debitAccountId == accounts.pointer(debit).pointee.id,
            request.creditAccountId == 0 || request.creditAccountId == accounts.pointer(credit).pointee.id
        else {
            return fail(.refundAccountsMismatch)
        }
        let remaining = original.amountMinor - original.refundedMinor
        guard request.amountMinor <= remaining else { return fail(.refundExceedsOriginal) }
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: true) {
            return fail(failure)
        }
        let amount = request.amountMinor
        updateAccount(debit) { $0.debitsPosted += amount }
        updateAccount(credit) { $0.creditsPosted += amount }
        changeTransfer(originalIndex) { $0.refundedMinor += amount }
        let record = newRecord(
            request, debit: debit, credit: credit, amount: amount, pending: UInt32(originalIndex), state: .posted,
            timestamp: timestamp)
        appendTransfer(record, hash: hash, probe: probe)
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Releases a hold whose payment window has closed.
    func expire(_ pendingId: UInt128, timestamp: UInt64) -> EventResult {
        guard pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let holdIndex = transferRecord(pendingId) else { return fail(.pendingTransferNotFound) }
        let hold = transfers.pointer(holdIndex).pointee
        switch TransferState(rawValue: hold.state) {
        case .pending: break
        case .pendingPosted: return fail(.pendingAlreadyPosted)
        case .pendingVoided: return fail(.pendingAlreadyVoided)
        case .pendingExpired: return fail(.pendingExpired)
        case .posted, nil: return fail(.pendingTransferNotPending)
        }
        guard timestamp >= hold.expiresAt else { return fail(.pendingNotExpired) }
        let held = hold.amountMinor
        updateAccount(Int(hold.debitAccount)) { $0.debitsPending -= held }
        updateAccount(Int(hold.creditAccount)) { $0.creditsPending -= held }
        changeTransfer(holdIndex) { $0.state = TransferState.pendingExpired.rawValue }
        return EventResult(code: .ok, timestamp: timestamp)
    }

    /// Changes an existing transfer's state or refunded amount.
    private func changeTransfer(_ index: Int, _ body: (inout TransferRecord) -> Void) {
        let pointer = transfers.pointer(index)
        remember(
            .transferChanged(index: index, state: pointer.pointee.state, refundedMinor: pointer.pointee.refundedMinor))
        body(&pointer.pointee)
        noteTransferChange(index)
    }
}
