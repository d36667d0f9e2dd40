/// Transfer rules: single-phase postings, holds, posting and voiding holds, refunds, expiry.
extension LedgerState {
    func createTransfer(_ request: NewTransfer, timestamp: UInt64, sequence: UInt64) -> EventResult {
        guard request.id != 0 else { return fail(.idMustNotBeZero) }
        let hash = idHash(request.id)
        let probe = tables.transferIndex.find(hash) { transfers.pointer($0).pointee.hasId(request.id) }
        if let existing = probe.record {
            // A retry is compared with the request as sent, read back from the log (rare); a
            // damaged copy decides nothing.
            guard let earlier = self.request(at: existing) else { return fail(.recordDamaged) }
            let same = earlier == request
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
        let place = NewPlace(hash: hash, probe: probe, timestamp: timestamp, sequence: sequence)
        if request.flags.contains(.postPending) || request.flags.contains(.voidPending) {
            return resolveHold(request, place)
        }
        if request.flags.contains(.refund) { return refund(request, place) }
        guard request.pendingId == 0 else { return fail(.pendingIdMustBeZero) }
        return move(request, place)
    }

    /// Where a new transfer goes: its index probe, time and log sequence.
    struct NewPlace {
        var hash: UInt64
        var probe: IndexProbe
        var timestamp: UInt64
        var sequence: UInt64
    }

    /// The transfer at `index` as its client sent it: what a retry is compared with.
    func request(at index: Int) -> NewTransfer? {
        let sequence = transfers[index].sequence
        switch requests.request(sequence: sequence) {
        case .found(let request): return request
        case .damaged: return nil
        case .missing:
            // Every request is kept or logged before it is applied, and the log keeps every
            // record; a miss means the log was lost under a running ledger.
            preconditionFailure("the request at sequence \(sequence) is not in the log")
        }
    }

    /// The transfer at `index` as readers see it, with its live state; nil when a request it is
    /// described from is damaged in the log.
    func transfer(at index: Int) -> Transfer? {
        try? tables.describe(
            index, state: { transfers[$0].state }, find: { transferRecord($0) },
            request: { requests.request(sequence: $0) }, refunded: { refunded[UInt32($0)] ?? 0 })
    }

    private func append(_ request: NewTransfer, _ place: NewPlace, state: TransferState, debit: Int, credit: Int) {
        let record = TransferRecord(id: request.id, timestamp: place.timestamp, sequence: place.sequence, state: state)
        appendTransfer(record, hash: place.hash, probe: place.probe, debit: debit, credit: credit)
    }

    /// A single-phase posting or a new hold.
    private func move(_ request: NewTransfer, _ place: NewPlace) -> EventResult {
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        guard request.debitAccountId != request.creditAccountId else { return fail(.accountsMustBeDifferent) }
        guard let debit = accountRecord(request.debitAccountId) else { return fail(.debitAccountNotFound) }
        guard let credit = accountRecord(request.creditAccountId) else { return fail(.creditAccountNotFound) }
        let isHold = request.flags.contains(.pending)
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: !isHold) {
            return fail(failure)
        }
        let amount = request.amountMinor
        var expiresAt: UInt64 = 0
        if isHold {
            let (window, overflowA) = UInt64(request.timeoutSeconds).multipliedReportingOverflow(
                by: nanosecondsPerSecond)
            let (deadline, overflowB) = place.timestamp.addingReportingOverflow(window)
            guard !overflowA && !overflowB else { return fail(.overflowsBalance) }
            expiresAt = deadline
            updateAccount(debit) { $0.debitsPending += amount }
            updateAccount(credit) { $0.creditsPending += amount }
        } else {
            updateAccount(debit) { $0.debitsPosted += amount }
            updateAccount(credit) { $0.creditsPosted += amount }
        }
        append(request, place, state: isHold ? .pending : .posted, debit: debit, credit: credit)
        if isHold {
            // After the record exists: adding to the expiry queue may compact it, which reads
            // the records of the holds it keeps.
            openHold(
                transfers.count - 1,
                HoldEntry(
                    debitAccount: UInt32(debit), creditAccount: UInt32(credit), amountMinor: amount,
                    expiresAt: expiresAt), timestamp: place.timestamp)
        }
        return EventResult(code: .ok, timestamp: place.timestamp)
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
        if AccountFlags(rawValue: debitAccount.pointee.flags).contains(.debitsMustNotExceedCredits) {
            let debits =
                UInt128(debitAccount.pointee.debitsPosted) + UInt128(debitAccount.pointee.debitsPending)
                + UInt128(amount)
            if debits > UInt128(debitAccount.pointee.creditsPosted) { return .insufficientFunds }
        }
        if AccountFlags(rawValue: creditAccount.pointee.flags).contains(.creditsMustNotExceedDebits) {
            let credits =
                UInt128(creditAccount.pointee.creditsPosted) + UInt128(creditAccount.pointee.creditsPending)
                + UInt128(amount)
            if credits > UInt128(creditAccount.pointee.debitsPosted) { return .exceedsDebits }
        }
        return nil
    }

    /// Posting (capture) or voiding (release) of a hold.
    private func resolveHold(_ request: NewTransfer, _ place: NewPlace) -> EventResult {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let holdIndex = transferRecord(request.pendingId) else { return fail(.pendingTransferNotFound) }
        let holdRecord = transfers.pointer(holdIndex).pointee
        if let blocked = holdState(holdRecord, index: holdIndex, at: place.timestamp) { return fail(blocked) }
        // Safe: holdState found the hold open, and open holds are in the table.
        let hold = holds[UInt32(holdIndex)]!
        let debit = Int(hold.debitAccount)
        let credit = Int(hold.creditAccount)
        if (request.debitAccountId != 0 && request.debitAccountId != accounts.pointer(debit).pointee.id)
            || (request.creditAccountId != 0 && request.creditAccountId != accounts.pointer(credit).pointee.id)
        {
            return fail(.pendingTransferHasDifferentAccounts)
        }
        let held = hold.amountMinor
        let isPost = request.flags.contains(.postPending)
        if isPost {
            let amount = request.amountMinor == 0 ? held : request.amountMinor
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
            updateAccount(debit) { $0.debitsPending -= held }
            updateAccount(credit) { $0.creditsPending -= held }
        }
        closeHold(holdIndex)
        setState(holdIndex, isPost ? TransferState.pendingPosted.rawValue : TransferState.pendingVoided.rawValue)
        append(request, place, state: .posted, debit: debit, credit: credit)
        return EventResult(code: .ok, timestamp: place.timestamp)
    }

    /// Why a hold cannot be resolved at `timestamp`, or nil when it can.
    private func holdState(_ hold: TransferRecord, index: Int, at timestamp: UInt64) -> ResultCode? {
        switch hold.transferState {
        case .pending:
            // Safe: a pending transfer is an open hold, which is in the table.
            return timestamp >= holds[UInt32(index)]!.expiresAt ? .pendingExpired : nil
        case .pendingPosted: return .pendingAlreadyPosted
        case .pendingVoided: return .pendingAlreadyVoided
        case .pendingExpired: return .pendingExpired
        case .posted: return .pendingTransferNotPending
        }
    }

    /// A posting in the opposite direction of a posted transfer, never more than what remains.
    private func refund(_ request: NewTransfer, _ place: NewPlace) -> EventResult {
        guard request.pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let originalIndex = transferRecord(request.pendingId) else { return fail(.originalTransferNotFound) }
        // Refunds are rare: the original's accounts and amount are read back from the log, and
        // a damaged copy refunds nothing.
        guard let original = transfer(at: originalIndex) else { return fail(.recordDamaged) }
        guard original.state == .posted, !original.fields.flags.contains(.voidPending),
            !original.fields.flags.contains(.refund)
        else { return fail(.originalTransferNotRefundable) }
        guard request.amountMinor != 0 else { return fail(.amountMustNotBeZero) }
        // A refund runs the other way: it debits the original's credit account.
        let debitId = original.fields.creditAccountId
        let creditId = original.fields.debitAccountId
        guard request.debitAccountId == 0 || request.debitAccountId == debitId,
            request.creditAccountId == 0 || request.creditAccountId == creditId
        else {
            return fail(.refundAccountsMismatch)
        }
        let remaining = original.fields.amountMinor - original.refundedMinor
        guard request.amountMinor <= remaining else { return fail(.refundExceedsOriginal) }
        // Safe: the original moved money between these accounts, which are never removed.
        let debit = accountRecord(debitId)!
        let credit = accountRecord(creditId)!
        if let failure = checkMove(debit: debit, credit: credit, amount: request.amountMinor, posted: true) {
            return fail(failure)
        }
        let amount = request.amountMinor
        updateAccount(debit) { $0.debitsPosted += amount }
        updateAccount(credit) { $0.creditsPosted += amount }
        addRefund(originalIndex, amount: amount)
        append(request, place, state: .posted, debit: debit, credit: credit)
        return EventResult(code: .ok, timestamp: place.timestamp)
    }

    /// Releases a hold whose payment window has closed.
    func expire(_ pendingId: UInt128, timestamp: UInt64) -> EventResult {
        guard pendingId != 0 else { return fail(.pendingIdRequired) }
        guard let holdIndex = transferRecord(pendingId) else { return fail(.pendingTransferNotFound) }
        switch transfers.pointer(holdIndex).pointee.transferState {
        case .pending: break
        case .pendingPosted: return fail(.pendingAlreadyPosted)
        case .pendingVoided: return fail(.pendingAlreadyVoided)
        case .pendingExpired: return fail(.pendingExpired)
        case .posted: return fail(.pendingTransferNotPending)
        }
        // Safe: a pending transfer is an open hold, which is in the table.
        let hold = holds[UInt32(holdIndex)]!
        guard timestamp >= hold.expiresAt else { return fail(.pendingNotExpired) }
        updateAccount(Int(hold.debitAccount)) { $0.debitsPending -= hold.amountMinor }
        updateAccount(Int(hold.creditAccount)) { $0.creditsPending -= hold.amountMinor }
        closeHold(holdIndex)
        setState(holdIndex, TransferState.pendingExpired.rawValue)
        return EventResult(code: .ok, timestamp: timestamp)
    }
}
