import Bookings
import JSONInput
import JobStore
import KhataCrypto
import LedgerAccess
import LedgerCore

/// Why a review was refused: the mismatch, the move or the resolution do not fit. Nothing was
/// written or posted.
public struct ReviewError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }
        /// The resolution kind cannot settle this mismatch (a write-off of a duplicate line).
        public static let notApplicable = Code(name: "resolution-not-applicable")
        /// The ledger refused a posting; the change is recorded and its posting will be retried.
        public static let postingFailed = Code(name: "posting-failed")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The finance team's review of mismatches: acknowledge, resolve with a kind and a note, reopen.
/// Each change is checked against the state the reviewer saw (`expected`): a stale one is refused
/// with `MismatchError.changedMeanwhile` and changes nothing. A resolution that settles money
/// posts it to the ledger as linked transfers whose ids derive from the change's event, so the
/// clearing account keeps agreeing with what is still open:
///
/// - `written_off`: the line is cleared as the provider settled it (net to the bank, fee to fee
///   expense) and the difference to what the ledger holds goes from clearing to write-off expense;
///   a payment the provider never settled is written off whole.
/// - `provider_corrected`: the line is cleared at the ledger's amount with the contracted fee.
/// - `ledger_corrected`: the line is cleared as the provider settled it, the difference moved
///   from clearing to the ledger-corrections account.
/// - `not_an_error`: a settled line whose amount agrees (late, or a fee accepted) is cleared as
///   settled; other mismatches (duplicates, adjustments) post nothing.
/// - `refunded`: posts nothing (the refund went through the ledger's refund flow, or outside it).
///
/// Reopening a resolution that posted money posts its reversal.
public struct MismatchReviewer: Sendable {
    public let database: JobDatabase
    public let ledger: any LedgerAccess
    /// The accounts clearing, write-offs and corrections post to.
    public let accounts: ClearingAccounts

    public init(database: JobDatabase, ledger: any LedgerAccess, accounts: ClearingAccounts = ClearingAccounts()) {
        self.database = database
        self.ledger = ledger
        self.accounts = accounts
    }

    /// Moves mismatch `id` from `expected` to `next` (`resolution` names the kind of a resolve),
    /// records who and why, and posts the money the change moves. Answers the recorded change.
    public func review(
        id: Int64, from expected: MismatchState, to next: MismatchState, resolution: ResolutionKind?, actor: String,
        note: String, at now: UInt64
    ) async throws -> ReviewEvent {
        // Earlier changes' postings first; one the ledger still refuses must not block this change.
        try? await postPending()
        let store = Mismatches(database: database)
        // A reopening reverses the money of the last resolution that posted any.
        let previous = try await store.reviewHistory(id: id).last { $0.event.to == .resolved && !$0.postings.isEmpty }
        let plan = PostingPlan(accounts: accounts)
        let event = try await store.review(
            id: id, from: expected, to: next, resolution: resolution, actor: actor, note: note, at: now
        ) { eventId, mismatch in
            if next == .open, expected == .resolved, let previous {
                return plan.reversal(of: previous, eventId: eventId)
            }
            guard let resolution else { return [] }
            return try plan.postings(resolution, for: mismatch, eventId: eventId)
        }
        if !event.postings.isEmpty { try await post(event) }
        return event
    }

    /// Posts every recorded change whose postings are not yet in the ledger (a ledger that was
    /// unreachable when the change was made), oldest first.
    public func postPending() async throws {
        let store = Mismatches(database: database)
        for event in try await store.unposted() { try await post(event) }
    }

    /// Posts one change's transfers (again, if need be: their ids make a retry a no-op).
    private func post(_ event: ReviewEvent) async throws {
        var drafts: [TransferDraft] = []
        for posting in event.postings {
            guard let currency = Currency(code: posting.currency), let id = UInt128(posting.transferId) else {
                throw ReviewError(.postingFailed, "change \(event.id) holds a posting that cannot be read")
            }
            for key in [posting.debitAccount, posting.creditAccount] {
                do {
                    _ = try await ledger.openAccount(key: key, currency: currency)
                } catch {
                    throw ReviewError(.postingFailed, "the account \(key) cannot be opened: \(error)")
                }
            }
            drafts.append(
                TransferDraft(
                    id: id, debitAccount: posting.debitAccount, creditAccount: posting.creditAccount,
                    amount: AmountInput(
                        text: Amount(minorUnits: UInt64(posting.amountMinor)).formatted(currency, grouping: false),
                        field: posting.leg),
                    code: BusinessCode.mismatchResolution, flags: []))
        }
        for index in drafts.indices.dropLast() { drafts[index].flags = .linked }
        let results: [EventResult]
        do {
            results = try await ledger.submit(drafts)
        } catch {
            throw ReviewError(
                .postingFailed,
                "change \(event.id) is recorded; its ledger transfers could not be posted (\(error)) and will be "
                    + "retried with the next review or run")
        }
        for (draft, result) in zip(drafts, results) where result.code != .ok && result.code != .exists {
            throw ReviewError(
                .postingFailed,
                "change \(event.id) is recorded; the ledger refused its transfer \(draft.id) "
                    + "(\(draft.amount?.field ?? "")): \(result.code)")
        }
        try await Mismatches(database: database).markPosted(eventId: event.id)
    }
}

/// The ledger legs of each resolution kind, from the mismatch's figures.
struct PostingPlan: Sendable {
    let accounts: ClearingAccounts
    var writeOffKey: String { accounts.writeOffKey }
    var ledgerCorrectionKey: String { accounts.ledgerCorrectionKey }

    /// The categories whose money a resolution can settle: a payment the ledger captured, which
    /// sits in the clearing account.
    static let settleable = ClearingAccounts.heldInClearing

    func postings(_ kind: ResolutionKind, for mismatch: Mismatch, eventId: Int64) throws -> [ReviewPosting] {
        let found = mismatch.found
        let settleable =
            Self.settleable.contains(found.category) && found.kind == "payment" && found.ledgerMinor != nil
            && found.currency != nil
        if kind == .refunded || (kind == .notAnError && !settleable) { return [] }
        guard settleable, let ledgerMinor = found.ledgerMinor, let currency = found.currency else {
            throw ReviewError(
                .notApplicable,
                "\(kind.rawValue) moves money, and mismatch \(mismatch.id) (\(found.category.rawValue), "
                    + "\(found.kind)) has no captured payment in the clearing account to settle; resolve it as "
                    + "refunded or not_an_error")
        }
        let clearing = ClearingAccounts.clearingKey(provider: mismatch.provider)
        var legs: [(leg: String, from: String, to: String, amount: Int64)] = []
        if let providerMinor = found.providerMinor {
            // A settled line: cleared at the provider's figures, or at the ledger's.
            let fee = found.feeMinor ?? 0
            switch kind {
            case .providerCorrected:
                let contracted = found.contractedFeeMinor ?? fee
                legs.append(("net", clearing, accounts.settlementBankKey, ledgerMinor - contracted))
                legs.append(("fee", clearing, accounts.feeExpenseKey, contracted))
            case .writtenOff, .ledgerCorrected, .notAnError:
                if kind == .notAnError && providerMinor != ledgerMinor {
                    throw ReviewError(
                        .notApplicable,
                        "the provider settled \(ReconciliationMatcher.major(providerMinor, currency)) against the "
                            + "ledger's \(ReconciliationMatcher.major(ledgerMinor, currency)): resolve the difference "
                            + "as written_off, provider_corrected or ledger_corrected")
                }
                legs.append(("net", clearing, accounts.settlementBankKey, found.netMinor ?? providerMinor - fee))
                legs.append(("fee", clearing, accounts.feeExpenseKey, fee))
                let corrected = kind == .ledgerCorrected
                legs.append(
                    (
                        corrected ? "correction" : "write-off", clearing,
                        corrected ? ledgerCorrectionKey : writeOffKey, ledgerMinor - providerMinor
                    ))
            case .refunded: break
            }
        } else {
            // No line: the provider never settled it.
            guard kind == .writtenOff else {
                throw ReviewError(
                    .notApplicable,
                    "mismatch \(mismatch.id) has no settlement line to clear: \(kind.rawValue) needs one; a payment "
                        + "the provider never settled is written_off")
            }
            legs.append(("write-off", clearing, writeOffKey, ledgerMinor))
        }
        return legs.compactMap { leg in
            guard leg.amount != 0 else { return nil }
            // Money leaves clearing (credit) into the other account (debit); a negative amount the other way.
            let (debit, credit) = leg.amount > 0 ? (leg.to, leg.from) : (leg.from, leg.to)
            return ReviewPosting(
                transferId: String(Self.transferId(eventId: eventId, leg: leg.leg)), debitAccount: debit,
                creditAccount: credit, amountMinor: abs(leg.amount),
                currency: currency, leg: "\(leg.leg) of mismatch \(mismatch.id)")
        }
    }

    /// The legs that undo `event`'s, each with an id of the reopening's own.
    func reversal(of event: ReviewEvent, eventId: Int64) -> [ReviewPosting] {
        event.postings.enumerated().map { index, posting in
            ReviewPosting(
                transferId: String(Self.transferId(eventId: eventId, leg: "reversal-\(index)")),
                debitAccount: posting.creditAccount, creditAccount: posting.debitAccount,
                amountMinor: posting.amountMinor, currency: posting.currency, leg: "reversal of \(posting.leg)")
        }
    }

    /// 128 bits of SHA-256 over the change's event id and the leg.
    static func transferId(eventId: Int64, leg: String) -> UInt128 {
        let digest = Crypto.sha256(Array("khata:mismatch-review:\(eventId):\(leg)".utf8))
        let id = digest.prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return id == 0 ? 1 : id
    }
}
