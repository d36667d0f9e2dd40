import LedgerCore
import TestSupport
import Testing

/// The booking flow and each rule, one scenario at a time.
@Suite("Ledger state machine")
struct LedgerStateTests {
    static let second: UInt64 = 1_000_000_000
    static let start: UInt64 = 1_764_000_000 * second

    /// A ledger with a bKash clearing account (may go negative: it mirrors money outside) and a
    /// merchant that must never be overdrawn.
    static func ledger() -> LedgerState<Unshared> {
        let state = LedgerState<Unshared>()
        let results = state.apply(
            [
                .createAccount(NewAccount(id: 1, key: "provider:bkash:clearing", currency: .bdt)),
                .createAccount(
                    NewAccount(id: 2, key: "merchant:SVC-456", currency: .bdt, flags: .debitsMustNotExceedCredits)),
                .createAccount(
                    NewAccount(id: 3, key: "customer:C-9", currency: .bdt, flags: .debitsMustNotExceedCredits)),
                .createAccount(NewAccount(id: 4, key: "provider:usd", currency: Currency(code: "USD")!)),
            ], now: start)
        precondition(results.allSatisfy { $0.code == .ok })
        return state
    }

    static func hold(_ id: UInt128, amount: UInt64, windowSeconds: UInt32 = 1800) -> Event {
        .createTransfer(
            NewTransfer(
                id: id, debitAccountId: 1, creditAccountId: 2, amountMinor: amount, timeoutSeconds: windowSeconds,
                reference: "PAY-\(id)", flags: .pending))
    }

    static func codes(
        _ state: LedgerState<Unshared>, _ events: [Event], at now: UInt64 = start + second
    ) -> [ResultCode] {
        state.apply(events, now: now).map(\.code)
    }

    @Test("a reservation holds, then a confirmation captures it")
    func holdThenPost() throws {
        let state = Self.ledger()
        #expect(Self.codes(state, [Self.hold(10, amount: 100_000)]) == [.ok])
        var merchant = try #require(state.account(id: 2))
        #expect(merchant.creditsPending == 100_000 && merchant.creditsPosted == 0)
        #expect(state.transfer(id: 10)?.state == .pending)
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 11, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .postPending))
                ]) == [.ok])
        merchant = try #require(state.account(id: 2))
        #expect(merchant.creditsPending == 0 && merchant.creditsPosted == 100_000)
        #expect(merchant.available == 100_000)
        #expect(state.transfer(id: 10)?.state == .pendingPosted)
        #expect(state.transfer(id: 11)?.fields.amountMinor == 100_000)
        #expect(state.brokenInvariant() == nil)
    }

    @Test("a partial capture releases the rest of the hold")
    func partialPost() throws {
        let state = Self.ledger()
        _ = Self.codes(state, [Self.hold(10, amount: 100_000)])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 11, debitAccountId: 1, creditAccountId: 2, amountMinor: 60_000, pendingId: 10,
                            flags: .postPending))
                ]) == [.ok])
        let clearing = try #require(state.account(id: 1))
        #expect(clearing.debitsPending == 0 && clearing.debitsPosted == 60_000)
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 12, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .voidPending))
                ]) == [.pendingAlreadyPosted])
    }

    @Test("a hold resolves at most once")
    func resolvesOnce() {
        let state = Self.ledger()
        _ = Self.codes(state, [Self.hold(10, amount: 5_000)])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 11, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .voidPending))
                ]) == [.ok])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 12, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .postPending))
                ]) == [.pendingAlreadyVoided])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 13, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .voidPending))
                ]) == [.pendingAlreadyVoided])
        #expect(
            Self.codes(state, [.expirePending(pendingId: 10)], at: Self.start + 4000 * Self.second) == [
                .pendingAlreadyVoided
            ])
        #expect(state.brokenInvariant() == nil)
    }

    @Test("after the payment window a capture is refused and the expiry releases the hold")
    func expiry() throws {
        let state = Self.ledger()
        _ = Self.codes(state, [Self.hold(10, amount: 5_000, windowSeconds: 60)])
        let late = Self.start + 61 * Self.second
        #expect(
            Self.codes(state, [.expirePending(pendingId: 10)], at: Self.start + 30 * Self.second) == [
                .pendingNotExpired
            ])
        #expect(state.dueHolds(at: Self.start + 30 * Self.second, limit: 10).isEmpty)
        #expect(state.dueHolds(at: late, limit: 10) == [10])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 11, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                            flags: .postPending))
                ], at: late) == [.pendingExpired])
        #expect(Self.codes(state, [.expirePending(pendingId: 10)], at: late) == [.ok])
        #expect(state.transfer(id: 10)?.state == .pendingExpired)
        #expect(try #require(state.account(id: 2)).creditsPending == 0)
        #expect(state.dueHolds(at: late, limit: 10).isEmpty)
        #expect(Self.codes(state, [.expirePending(pendingId: 10)], at: late) == [.pendingExpired])
    }

    @Test("refunds reverse a capture and never exceed what remains")
    func refunds() throws {
        let state = Self.ledger()
        _ = Self.codes(state, [Self.hold(10, amount: 10_000)])
        _ = Self.codes(
            state,
            [
                .createTransfer(
                    NewTransfer(
                        id: 11, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 10,
                        flags: .postPending))
            ])
        let refund = { (id: UInt128, amount: UInt64) in
            Event.createTransfer(
                NewTransfer(
                    id: id, debitAccountId: 2, creditAccountId: 1, amountMinor: amount, pendingId: 11, flags: .refund))
        }
        #expect(Self.codes(state, [refund(20, 4_000)]) == [.ok])
        #expect(Self.codes(state, [refund(21, 6_001)]) == [.refundExceedsOriginal])
        #expect(Self.codes(state, [refund(22, 6_000)]) == [.ok])
        #expect(Self.codes(state, [refund(23, 1)]) == [.refundExceedsOriginal])
        #expect(state.transfer(id: 11)?.refundedMinor == 10_000)
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 24, debitAccountId: 1, creditAccountId: 2, amountMinor: 1, pendingId: 11, flags: .refund
                        ))
                ]) == [.refundAccountsMismatch])
        #expect(
            Self.codes(
                state,
                [
                    .createTransfer(
                        NewTransfer(
                            id: 25, debitAccountId: 2, creditAccountId: 1, amountMinor: 1, pendingId: 10, flags: .refund
                        ))
                ]) == [.originalTransferNotRefundable])
        #expect(try #require(state.account(id: 2)).available == 0)
        #expect(state.brokenInvariant() == nil)
    }

    @Test("an account that must not be overdrawn refuses the debit")
    func insufficientFunds() {
        let state = Self.ledger()
        #expect(
            Self.codes(
                state, [.createTransfer(NewTransfer(id: 30, debitAccountId: 3, creditAccountId: 2, amountMinor: 1))])
                == [.insufficientFunds])
        _ = Self.codes(
            state, [.createTransfer(NewTransfer(id: 31, debitAccountId: 1, creditAccountId: 3, amountMinor: 500))])
        #expect(
            Self.codes(
                state, [.createTransfer(NewTransfer(id: 32, debitAccountId: 3, creditAccountId: 2, amountMinor: 500))])
                == [.ok])
        #expect(
            Self.codes(
                state, [.createTransfer(NewTransfer(id: 33, debitAccountId: 3, creditAccountId: 2, amountMinor: 1))])
                == [.insufficientFunds])
    }

    @Test("a retry returns exists; a reused id with other fields is refused")
    func idempotency() {
        let state = Self.ledger()
        let transfer = NewTransfer(
            id: 40, debitAccountId: 1, creditAccountId: 2, amountMinor: 700, code: 7, reference: "B-1")
        let first = state.apply([.createTransfer(transfer)], now: Self.start + Self.second)
        let again = state.apply([.createTransfer(transfer)], now: Self.start + 2 * Self.second)
        #expect(first[0].code == .ok)
        #expect(again[0] == EventResult(code: .exists, timestamp: first[0].timestamp))
        var changed = transfer
        changed.amountMinor = 701
        #expect(Self.codes(state, [.createTransfer(changed)]) == [.existsWithDifferentFields])
        #expect(state.account(id: 2)?.creditsPosted == 700)
        #expect(
            Self.codes(
                state,
                [
                    .createAccount(
                        NewAccount(id: 2, key: "merchant:SVC-456", currency: .bdt, flags: .debitsMustNotExceedCredits))
                ]) == [.exists])
        #expect(
            Self.codes(state, [.createAccount(NewAccount(id: 2, key: "merchant:other", currency: .bdt))]) == [
                .existsWithDifferentFields
            ])
        #expect(
            Self.codes(state, [.createAccount(NewAccount(id: 9, key: "merchant:SVC-456", currency: .bdt))]) == [
                .accountKeyExists
            ])
    }

    @Test("a linked chain succeeds or fails as a whole")
    func linkedChains() throws {
        let state = Self.ledger()
        let linked = { (id: UInt128, debit: UInt128, amount: UInt64, link: Bool) in
            Event.createTransfer(
                NewTransfer(
                    id: id, debitAccountId: debit, creditAccountId: 2, amountMinor: amount, flags: link ? .linked : []))
        }
        #expect(
            Self.codes(state, [linked(50, 1, 100, true), linked(51, 3, 100, false), linked(52, 1, 5, false)]) == [
                .linkedEventFailed, .insufficientFunds, .ok,
            ])
        #expect(state.transfer(id: 50) == nil)
        #expect(state.account(id: 2)?.creditsPosted == 5)
        #expect(Self.codes(state, [linked(53, 1, 100, true), linked(54, 1, 100, false)]) == [.ok, .ok])
        #expect(Self.codes(state, [linked(55, 1, 1, false), linked(56, 1, 1, true)]) == [.ok, .linkedEventChainOpen])
        #expect(state.transfer(id: 56) == nil)
        #expect(state.account(id: 2)?.creditsPosted == 206)
        #expect(state.brokenInvariant() == nil)
    }

    @Test(
        "bad transfers are refused with their own codes and change nothing",
        arguments: [
            (NewTransfer(id: 0, debitAccountId: 1, creditAccountId: 2, amountMinor: 1), ResultCode.idMustNotBeZero),
            (NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 0), .amountMustNotBeZero),
            (NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 1, amountMinor: 1), .accountsMustBeDifferent),
            (NewTransfer(id: 60, debitAccountId: 99, creditAccountId: 2, amountMinor: 1), .debitAccountNotFound),
            (NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 99, amountMinor: 1), .creditAccountNotFound),
            (NewTransfer(id: 60, debitAccountId: 4, creditAccountId: 2, amountMinor: 1), .currencyMismatch),
            (
                NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 1, timeoutSeconds: 5),
                .timeoutRequiresPending
            ),
            (
                NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 1, flags: .pending),
                .timeoutMustNotBeZero
            ),
            (
                NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 1, pendingId: 5),
                .pendingIdMustBeZero
            ),
            (
                NewTransfer(
                    id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 1, flags: [.postPending, .voidPending]),
                .flagsAreMutuallyExclusive
            ),
            (
                NewTransfer(
                    id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: 1,
                    flags: TransferFlags(rawValue: 1 << 9)), .unknownFlags
            ),
            (
                NewTransfer(id: 60, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, flags: .postPending),
                .pendingIdRequired
            ),
            (
                NewTransfer(
                    id: 60, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: 77, flags: .postPending),
                .pendingTransferNotFound
            ),
            (
                NewTransfer(
                    id: 60, debitAccountId: 2, creditAccountId: 1, amountMinor: 1, pendingId: 77, flags: .refund),
                .originalTransferNotFound
            ),
            (NewTransfer(id: 60, debitAccountId: 1, creditAccountId: 2, amountMinor: .max), .insufficientFunds),
        ])
    func refusals(transfer: NewTransfer, expected: ResultCode) {
        let state = Self.ledger()
        _ = Self.codes(
            state, [.createTransfer(NewTransfer(id: 70, debitAccountId: 1, creditAccountId: 3, amountMinor: 10))])
        let before = state.allAccounts
        let flagged = expected == .insufficientFunds
        var request = transfer
        if flagged {
            request.creditAccountId = 2
            request.debitAccountId = 3
        }
        #expect(Self.codes(state, [.createTransfer(request)]) == [expected])
        #expect(state.allAccounts == before)
        #expect(state.transfer(id: 60) == nil)
    }

    @Test("references hold at most 32 bytes of UTF-8 and no NUL, and read back exactly")
    func references() {
        #expect(TransferReference(String(repeating: "x", count: 32))?.string == String(repeating: "x", count: 32))
        #expect(TransferReference(String(repeating: "x", count: 33)) == nil)
        // String(...) picks the failable initializer rather than the literal one.
        #expect(TransferReference(String("a\u{0}b")) == nil)
        #expect(TransferReference(String("বুকিং-৪২"))?.string == "বুকিং-৪২")
        #expect(TransferReference(String(""))?.isEmpty == true)
        #expect(TransferReference.problem(with: String(repeating: "y", count: 40)) == .referenceTooLong)
        #expect(TransferReference.problem(with: "\u{0}") == .referenceInvalid)
        #expect(TransferReference.problem(with: "PAY-1") == nil)
    }

    @Test("timestamps are unique and strictly increasing, even if the clock goes back")
    func timestamps() {
        let state = Self.ledger()
        let first = state.apply(
            [Self.hold(80, amount: 1), Self.hold(81, amount: 1)], now: Self.start + 10 * Self.second)
        let second = state.apply([Self.hold(82, amount: 1)], now: Self.start)
        #expect(first[1].timestamp == first[0].timestamp + 1)
        #expect(second[0].timestamp == first[1].timestamp + 1)
    }
}
