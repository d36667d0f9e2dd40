import Bookings
import JSONInput
import JobStore
import Ledger
import LedgerCore

/// The ledger in this process: for jobs that run beside the data directory.
public struct LocalLedger: LedgerAccess {
    public let ledger: Ledger
    /// Where reservations are looked up by payment reference; nil when the caller has no job
    /// store (then `reservation(paymentReference:)` is refused).
    public let desk: BookingDesk?

    public init(ledger: Ledger, desk: BookingDesk? = nil) {
        self.ledger = ledger
        self.desk = desk
    }

    public var maximumBatchEvents: Int { ledger.configuration.maximumBatchEvents }

    public func submit(_ drafts: [TransferDraft]) async throws(LedgerAccessError) -> [EventResult] {
        var memory = TransferResolver.Memory()
        var events: [Event] = []
        events.reserveCapacity(drafts.count)
        for (index, draft) in drafts.enumerated() {
            do {
                events.append(
                    .createTransfer(
                        try TransferResolver.resolve(
                            draft, place: "transfers[\(index)].", in: LedgerDirectory(ledger: ledger),
                            memory: &memory)))
            } catch {
                throw LedgerAccessError(.refused, "\(error)")
            }
        }
        return try await submit(events)
    }

    public func account(key: String) async throws(LedgerAccessError) -> Account? { ledger.account(key: key) }

    public func bookingEvents(after: UInt64, limit: Int) async throws(LedgerAccessError) -> BookingEventPage {
        do {
            return try BookingEvents.read(from: ledger, after: after, limit: limit)
        } catch {
            throw LedgerAccessError(.refused, error.message)
        }
    }

    public func logEnd() async throws(LedgerAccessError) -> UInt64 { ledger.visibleSequence }

    public func dueHolds(at now: UInt64, limit: Int) async throws(LedgerAccessError) -> [UInt128] {
        ledger.dueHolds(at: now, limit: limit)
    }

    public func expire(_ holdIds: [UInt128]) async throws(LedgerAccessError) -> [EventResult] {
        try await submit(holdIds.map { .expirePending(pendingId: $0) })
    }

    public func reservation(paymentReference: String) async throws(LedgerAccessError) -> ReservationSummary? {
        guard let desk else {
            throw LedgerAccessError(.invalidConfiguration, "looking up reservations needs the job store")
        }
        do {
            return try await desk.reservation(paymentReference: paymentReference).map(ReservationSummary.init)
        } catch {
            throw LedgerAccessError(
                error.code == .storeUnavailable ? .unavailable : .refused, error.message,
                problemType: "/problems/\(error.code.name)")
        }
    }

    public func payments(bookingIds: [String], refundsFor: Set<String>, at now: UInt64)
        async throws(LedgerAccessError) -> [PaymentLedgerState?]
    {
        do {
            return try PaymentLedgerState.read(bookingIds: bookingIds, refundsFor: refundsFor, in: ledger, now: now)
        } catch {
            throw LedgerAccessError(.refused, "\(error)")
        }
    }

    public func openAccount(key: String, currency: Currency) async throws(LedgerAccessError) -> Account {
        if let existing = ledger.account(key: key) { return try Self.check(existing, currency: currency) }
        let id = NewAccount.derivedId(forKey: key)
        let result = try await submit([.createAccount(NewAccount(id: id, key: key, currency: currency))])[0]
        guard result.code == .ok || result.code == .exists, let account = ledger.account(id: id) else {
            throw LedgerAccessError(
                .refused, "the account \(key) cannot be opened in \(currency.code): \(result.code)",
                problemType: "/problems/account-exists")
        }
        return try Self.check(account, currency: currency)
    }

    /// `account`, when it is in `currency`.
    static func check(_ account: Account, currency: Currency) throws(LedgerAccessError) -> Account {
        guard account.currency == currency else {
            throw LedgerAccessError(
                .refused, "the account \(account.key) is in \(account.currency.code), not \(currency.code)",
                problemType: "/problems/currency-mismatch")
        }
        return account
    }

    private func submit(_ events: [Event]) async throws(LedgerAccessError) -> [EventResult] {
        do {
            return try await ledger.submit(events)
        } catch {
            let code: LedgerAccessError.Code = error.code == .overloaded ? .unavailable : .refused
            throw LedgerAccessError(code, "\(error)")
        }
    }

}

extension ReservationSummary {
    init(_ reservation: Reservation) {
        self.init(
            holdId: reservation.record.holdId, bookingId: reservation.record.bookingId,
            paymentReference: reservation.record.paymentReference, provider: reservation.record.provider,
            currency: reservation.currency, amountMinor: UInt64(reservation.record.amountMinor),
            state: reservation.state, providerTransactionId: reservation.confirmation?.fields.reference.string)
    }
}

/// Names accounts by key, or by decimal id when no account has that key (the command line's
/// way), for resolving transfer drafts against a ledger in this process.
public struct LedgerDirectory: TransferDirectory {
    public let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    public func account(named name: String) throws -> Account? {
        if let account = ledger.account(key: name) { return account }
        return TextRules.id(name).flatMap { ledger.account(id: $0) }
    }

    public func currency(ofTransfer id: UInt128) throws -> Currency? {
        guard let transfer = try ledger.transfer(id: id) else { return nil }
        return ledger.account(id: transfer.fields.debitAccountId)?.currency
    }
}
