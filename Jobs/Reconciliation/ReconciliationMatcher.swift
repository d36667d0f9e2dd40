import JobStore
import LedgerCore
import Scheduler

/// Where reconciliation puts each settlement line and each ledger payment: exactly one of these.
public enum ReconciliationCategory: String, CaseIterable, Sendable, Comparable {
    case matched
    case amountMismatch = "amount_mismatch"
    case feeMismatch = "fee_mismatch"
    case missingInLedger = "missing_in_ledger"
    case missingAtProvider = "missing_at_provider"
    case duplicateSettlement = "duplicate_settlement"
    case statusMismatch = "status_mismatch"
    case currencyMismatch = "currency_mismatch"
    case lateSettlement = "late_settlement"
    /// Chargebacks and the providers' adjustments: always for a person to review.
    case adjustment

    public static func < (lhs: ReconciliationCategory, rhs: ReconciliationCategory) -> Bool {
        // Safe: every case is in allCases.
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A refund the ledger posted against a payment.
public struct LedgerRefund: Sendable, Equatable {
    public var transferId: String
    public var amountMinor: Int64
    public var atNanoseconds: Int64

    public init(transferId: String, amountMinor: Int64, atNanoseconds: Int64) {
        self.transferId = transferId
        self.amountMinor = amountMinor
        self.atNanoseconds = atNanoseconds
    }
}

/// A payment as the ledger holds it: the reservation's hold, found by its payment reference.
public struct LedgerPayment: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Held, its payment window still open.
        case pending
        case captured
        /// Voided by a cancellation, or by the expiry of its payment window.
        case cancelled, expired
    }

    public var provider: String
    public var paymentReference: String
    /// The hold's transfer id.
    public var transferId: String
    public var amountMinor: Int64
    public var currency: String
    public var state: State
    public var capturedAtNanoseconds: Int64?
    public var refunds: [LedgerRefund]

    public init(
        provider: String, paymentReference: String, transferId: String, amountMinor: Int64, currency: String,
        state: State, capturedAtNanoseconds: Int64?, refunds: [LedgerRefund] = []
    ) {
        self.provider = provider
        self.paymentReference = paymentReference
        self.transferId = transferId
        self.amountMinor = amountMinor
        self.currency = currency
        self.state = state
        self.capturedAtNanoseconds = capturedAtNanoseconds
        self.refunds = refunds
    }

    /// The Asia/Dhaka date of the capture.
    public var capturedDhakaDate: CivilDate? {
        capturedAtNanoseconds.map { CivilDate(daysSinceEpoch: Int(($0 / 1_000_000_000 + 6 * 3_600) / 86_400)) }
    }
}

/// A field the two sides disagree on, with both values as people read them: the job store's
/// own, so that what a run finds is kept as it was found.
public typealias DifferingField = MismatchField

/// What reconciliation found for one settlement line or one ledger payment.
public struct ReconciliationItem: Sendable, Equatable {
    public var category: ReconciliationCategory
    public var provider: String
    public var providerTxnId: String?
    public var paymentReference: String?
    /// The settlement line concerned, if one is.
    public var line: SettlementLineKey?
    /// The ledger transfer concerned (the payment's hold, or the refund), if one is.
    public var ledgerTransferId: String?
    public var currency: String
    /// The line's kind (`payment`, `refund`, …); `payment` for a ledger payment alone.
    public var kind: String
    public var ledgerAmountMinor: Int64?
    public var providerAmountMinor: Int64?
    /// The provider's fee and net on the line, and the contracted fee where a schedule applies.
    public var feeMinor: Int64?
    public var netMinor: Int64?
    public var contractedFeeMinor: Int64?
    public var fields: [DifferingField]

    /// The money the item is about: the provider's amount for a line, the ledger's otherwise.
    public var amountMinor: Int64 { providerAmountMinor ?? ledgerAmountMinor ?? 0 }
}

/// A settlement line with where it is stored.
public struct StoredSettlementLine: Sendable, Equatable {
    public var key: SettlementLineKey
    public var line: SettlementLine

    public init(key: SettlementLineKey, line: SettlementLine) {
        self.key = key
        self.line = line
    }
}

/// The rules of reconciliation, on data already gathered: every settlement line of one provider
/// and settlement date, the ledger's payments they name, and the ledger's captured payments
/// still waiting for a settlement. Pure and deterministic: the same input gives the same items
/// in the same order.
public struct ReconciliationMatcher: Sendable {
    public var fees: FeeSchedule
    /// A line settling more than this many days after the Asia/Dhaka date of the capture is
    /// late; a capture unsettled for longer is missing at the provider.
    public var lateWindowDays: Int

    public init(fees: FeeSchedule, lateWindowDays: Int = 2) {
        self.fees = fees
        self.lateWindowDays = lateWindowDays
    }

    /// The items of one run.
    /// - Parameters:
    ///   - lines: the provider's settlement lines of `date` (duplicates included).
    ///   - payments: the ledger's payments by payment reference: those the lines name, and
    ///     those of `unsettled`.
    ///   - unsettled: references of the provider's captured payments that no payment line
    ///     settled up to and including `date` (today's lines are matched here first).
    public func reconcile(
        provider: String, date: CivilDate, lines: [StoredSettlementLine], payments: [String: LedgerPayment],
        unsettled: [String]
    ) -> (items: [ReconciliationItem], carried: Int) {
        var items: [ReconciliationItem] = []
        var settledToday: Set<String> = []
        // Refunds of a payment are taken in time order, each by one line of the same amount.
        var refundsLeft: [String: [LedgerRefund]] = [:]
        // Lines in the order they are stored (file, then line); refunds among them in the
        // order they happened, so that equal partial refunds pair up in time. Sorting by the
        // integer key keeps the run deterministic without comparing time texts for every line.
        var ordered = lines.sorted { $0.key < $1.key }
        let refundPositions = ordered.indices.filter { ordered[$0].line.kind == "refund" }
        let refundsInTime = refundPositions.map { ordered[$0] }.sorted {
            ($0.line.transactedAt, $0.key) < ($1.line.transactedAt, $1.key)
        }
        for (position, refundLine) in zip(refundPositions, refundsInTime) { ordered[position] = refundLine }
        for stored in ordered {
            let line = stored.line
            var item = ReconciliationItem(
                category: .matched, provider: provider, providerTxnId: line.providerTxnId,
                paymentReference: line.ourReference, line: stored.key, ledgerTransferId: nil, currency: line.currency,
                kind: line.kind, ledgerAmountMinor: nil, providerAmountMinor: line.grossMinor, feeMinor: line.feeMinor,
                netMinor: line.netMinor, contractedFeeMinor: nil, fields: [])
            if let first = line.duplicateOf {
                item.category = .duplicateSettlement
                item.fields.append(
                    DifferingField(
                        name: "providerTxnId", ledger: "settled once (file \(first.fileId) line \(first.line))",
                        provider: "again (file \(stored.key.fileId) line \(stored.key.line))"))
                items.append(item)
                continue
            }
            if line.kind == "chargeback" || line.kind == "adjustment" {
                item.category = .adjustment
                items.append(item)
                continue
            }
            guard let payment = payments[line.ourReference] else {
                item.category = line.status == "settled" ? .missingInLedger : .matched
                if item.category == .matched { item.feeMinor = 0 }
                if item.category == .missingInLedger {
                    item.fields.append(
                        DifferingField(name: "paymentReference", ledger: "no reservation", provider: line.ourReference))
                }
                items.append(item)
                continue
            }
            item.ledgerTransferId = payment.transferId
            if payment.provider != provider {
                item.category = .missingInLedger
                item.fields.append(DifferingField(name: "provider", ledger: payment.provider, provider: provider))
                items.append(item)
                continue
            }
            if line.kind == "refund" {
                item = refund(item, line: line, payment: payment, left: &refundsLeft)
                items.append(item)
                continue
            }
            item = paymentLine(item, line: line, payment: payment, date: date)
            // A settled line accounts for its payment whatever it disagrees on: the disagreement is
            // the line's to report, and the payment is not missing as well.
            if line.status == "settled" { settledToday.insert(line.ourReference) }
            items.append(item)
        }
        var carried = 0
        for reference in unsettled where !settledToday.contains(reference) {
            guard let payment = payments[reference], payment.provider == provider, payment.state == .captured,
                let captured = payment.capturedDhakaDate
            else { continue }
            if date.daysSinceEpoch - captured.daysSinceEpoch > lateWindowDays {
                items.append(
                    ReconciliationItem(
                        category: .missingAtProvider, provider: provider, providerTxnId: nil,
                        paymentReference: reference, line: nil, ledgerTransferId: payment.transferId,
                        currency: payment.currency, kind: "payment", ledgerAmountMinor: payment.amountMinor,
                        providerAmountMinor: nil, feeMinor: nil, netMinor: nil, contractedFeeMinor: nil,
                        fields: [
                            DifferingField(
                                name: "settlement", ledger: "captured \(captured)",
                                provider: "none by \(date) (window \(lateWindowDays) days)")
                        ]))
            } else {
                carried += 1
            }
        }
        return (items, carried)
    }

    /// `minor` in major units with the currency's decimals (`1500.00`), as people read amounts.
    public static func major(_ minor: Int64, _ code: String) -> String {
        // Safe fallback: lines and payments carry currencies the import and the ledger checked.
        let currency = Currency(code: code) ?? .bdt
        return (minor < 0 ? "-" : "") + Amount(minorUnits: minor.magnitude).formatted(currency, grouping: false)
    }

    private func paymentLine(
        _ start: ReconciliationItem, line: SettlementLine, payment: LedgerPayment, date: CivilDate
    ) -> ReconciliationItem {
        var item = start
        item.ledgerAmountMinor = payment.amountMinor
        var found: [ReconciliationCategory] = []
        if payment.currency != line.currency {
            item.fields.append(DifferingField(name: "currency", ledger: payment.currency, provider: line.currency))
            found.append(.currencyMismatch)
        }
        let captured = payment.state == .captured
        if line.status == "settled" && !captured {
            item.fields.append(
                DifferingField(name: "status", ledger: payment.state.rawValue, provider: line.statusRaw))
            found.append(.statusMismatch)
        } else if line.status != "settled" && captured {
            item.fields.append(DifferingField(name: "status", ledger: "captured", provider: line.statusRaw))
            found.append(.statusMismatch)
        }
        if line.status == "settled" && payment.amountMinor != line.grossMinor {
            item.fields.append(
                DifferingField(
                    name: "amount", ledger: Self.major(payment.amountMinor, line.currency),
                    provider: Self.major(line.grossMinor, line.currency)))
            found.append(.amountMismatch)
        }
        if line.status == "settled", let settled = CivilDate.parse(line.settlementDate),
            let rule = fees.rule(provider: line.provider, on: settled)
        {
            let contracted = rule.fee(onGrossMinor: line.grossMinor)
            item.contractedFeeMinor = contracted
            if abs(contracted - line.feeMinor) > rule.toleranceMinor {
                item.fields.append(
                    DifferingField(
                        name: "fee", ledger: Self.major(contracted, line.currency),
                        provider: Self.major(line.feeMinor, line.currency)))
                found.append(.feeMismatch)
            }
        }
        if line.status == "settled", captured, let capturedDate = payment.capturedDhakaDate,
            let settled = CivilDate.parse(line.settlementDate),
            settled.daysSinceEpoch - capturedDate.daysSinceEpoch > lateWindowDays
        {
            item.fields.append(
                DifferingField(
                    name: "settlementDate", ledger: "captured \(capturedDate)", provider: line.settlementDate))
            found.append(.lateSettlement)
        }
        if line.status != "settled" && !captured { item.feeMinor = 0 }
        // One category per line: the most basic disagreement wins (a foreign currency makes the
        // amount meaningless; a payment the ledger did not capture makes its fee beside the point).
        let precedence: [ReconciliationCategory] = [
            .currencyMismatch, .statusMismatch, .amountMismatch, .feeMismatch, .lateSettlement,
        ]
        item.category = precedence.first(where: found.contains) ?? .matched
        return item
    }

    private func refund(
        _ start: ReconciliationItem, line: SettlementLine, payment: LedgerPayment,
        left: inout [String: [LedgerRefund]]
    ) -> ReconciliationItem {
        var item = start
        var available = left[payment.paymentReference] ?? payment.refunds.sorted { $0.atNanoseconds < $1.atNanoseconds }
        if payment.currency != line.currency {
            item.category = .currencyMismatch
            item.fields.append(DifferingField(name: "currency", ledger: payment.currency, provider: line.currency))
            return item
        }
        if let index = available.firstIndex(where: { $0.amountMinor == line.grossMinor }) {
            let taken = available.remove(at: index)
            left[payment.paymentReference] = available
            item.ledgerTransferId = taken.transferId
            item.ledgerAmountMinor = taken.amountMinor
            if line.status != "settled" {
                item.category = .statusMismatch
                item.fields.append(DifferingField(name: "status", ledger: "refunded", provider: line.statusRaw))
            }
            return item
        }
        left[payment.paymentReference] = available
        if line.status != "settled" {
            // A failed refund the ledger does not have either: the two agree.
            item.feeMinor = 0
            return item
        }
        if !available.isEmpty {
            // The earliest refund left is this line's, at another amount.
            let other = available.removeFirst()
            left[payment.paymentReference] = available
            item.category = .amountMismatch
            item.ledgerTransferId = other.transferId
            item.ledgerAmountMinor = other.amountMinor
            item.fields.append(
                DifferingField(
                    name: "amount", ledger: Self.major(other.amountMinor, line.currency),
                    provider: Self.major(line.grossMinor, line.currency)))
        } else {
            item.category = .missingInLedger
            item.fields.append(
                DifferingField(
                    name: "refund", ledger: "none left", provider: Self.major(line.grossMinor, line.currency)))
        }
        return item
    }
}
