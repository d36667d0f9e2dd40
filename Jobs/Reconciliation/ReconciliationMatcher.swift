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
        capturedAtNanoseconds.map { CivilDate.dhaka(nanoseconds: $0) }
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

    /// The items of one run: the rules of `findings(provider:date:lines:payments:unsettled:)`
    /// on the job's rows, each line and each missing payment told as people read it.
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
        // Lines in the order they are stored (file, then line); refunds among them in the
        // order they happened, so that equal partial refunds pair up in time. Sorting by the
        // integer key keeps the run deterministic without comparing time texts for every line.
        var ordered = lines.sorted { $0.key < $1.key }
        let refundPositions = ordered.indices.filter { ordered[$0].line.kind == "refund" }
        let refundsInTime = refundPositions.map { ordered[$0] }.sorted {
            ($0.line.transactedAt, $0.key) < ($1.line.transactedAt, $1.key)
        }
        for (position, refundLine) in zip(refundPositions, refundsInTime) { ordered[position] = refundLine }

        var rowOf: [String: Int32] = [:]
        rowOf.reserveCapacity(payments.count)
        var byRow: [LedgerPayment] = []
        byRow.reserveCapacity(payments.count)
        var paymentColumns = PaymentColumns(reservingCapacity: payments.count)
        for reference in payments.keys.sorted() {
            // Safe: the key was just read from the dictionary.
            let payment = payments[reference]!
            rowOf[reference] = paymentColumns.append(
                amountMinor: payment.amountMinor, currency: CurrencyTag(payment.currency), state: payment.state,
                capturedAtNanoseconds: payment.capturedAtNanoseconds, otherProvider: payment.provider != provider,
                refunds: payment.refunds)
            byRow.append(payment)
        }
        var lineColumns = SettlementColumns(reservingCapacity: ordered.count)
        for (position, stored) in ordered.enumerated() {
            let line = stored.line
            lineColumns.append(
                key: stored.key, paymentRow: rowOf[line.ourReference] ?? -1, kind: SettlementColumns.Kind(line.kind),
                settled: line.status == "settled", grossMinor: line.grossMinor, feeMinor: line.feeMinor,
                currency: CurrencyTag(line.currency),
                // The position orders refunds as `ordered` already has them.
                transactedAt: Int64(position),
                settlementDay: CivilDate.parse(line.settlementDate).map { Int32(clamping: $0.daysSinceEpoch) }
                    ?? SettlementColumns.unknownDay,
                duplicateOf: line.duplicateOf)
        }
        let found = findings(
            provider: provider, date: date, lines: lineColumns, payments: paymentColumns,
            unsettled: unsettled.compactMap { rowOf[$0] })

        var items: [ReconciliationItem] = []
        items.reserveCapacity(ordered.count + found.missingAtProvider.count)
        for (index, stored) in ordered.enumerated() {
            let row = Int(lineColumns.paymentRow[index])
            items.append(
                item(
                    stored, index: index, payment: row >= 0 ? byRow[row] : nil,
                    refunds: row >= 0 ? paymentColumns.refunds[Int32(row)] ?? [] : [], found: found,
                    provider: provider))
        }
        for row in found.missingAtProvider {
            let payment = byRow[Int(row)]
            // Safe: only captured payments are missing at the provider.
            let captured = payment.capturedDhakaDate!
            items.append(
                ReconciliationItem(
                    category: .missingAtProvider, provider: provider, providerTxnId: nil,
                    paymentReference: payment.paymentReference, line: nil, ledgerTransferId: payment.transferId,
                    currency: payment.currency, kind: "payment", ledgerAmountMinor: payment.amountMinor,
                    providerAmountMinor: nil, feeMinor: nil, netMinor: nil, contractedFeeMinor: nil,
                    fields: [
                        DifferingField(
                            name: "settlement", ledger: "captured \(captured)",
                            provider: "none by \(date) (window \(lateWindowDays) days)")
                    ]))
        }
        return (items, found.carried)
    }

    /// One line's item: its category from `found`, the differing fields written out.
    /// `refunds` are the payment's refunds in time order, as the findings index them.
    private func item(
        _ stored: StoredSettlementLine, index: Int, payment: LedgerPayment?, refunds: [LedgerRefund],
        found: ColumnFindings, provider: String
    ) -> ReconciliationItem {
        let line = stored.line
        let category = found.category[index]
        let disagreements = found.disagreements[index]
        var item = ReconciliationItem(
            category: category, provider: provider, providerTxnId: line.providerTxnId,
            paymentReference: line.ourReference, line: stored.key, ledgerTransferId: payment?.transferId,
            currency: line.currency, kind: line.kind, ledgerAmountMinor: nil, providerAmountMinor: line.grossMinor,
            feeMinor: line.feeMinor, netMinor: line.netMinor, contractedFeeMinor: nil, fields: [])
        if let first = line.duplicateOf {
            item.ledgerTransferId = nil
            item.fields.append(
                DifferingField(
                    name: "providerTxnId", ledger: "settled once (file \(first.fileId) line \(first.line))",
                    provider: "again (file \(stored.key.fileId) line \(stored.key.line))"))
            return item
        }
        if category == .adjustment && SettlementColumns.Kind(line.kind) == .adjustment {
            item.ledgerTransferId = nil
            return item
        }
        guard let payment else {
            if category == .matched { item.feeMinor = 0 }
            if category == .missingInLedger {
                item.fields.append(
                    DifferingField(name: "paymentReference", ledger: "no reservation", provider: line.ourReference))
            }
            return item
        }
        if disagreements.contains(.provider) {
            item.fields.append(DifferingField(name: "provider", ledger: payment.provider, provider: provider))
            return item
        }
        if line.kind == "refund" {
            if disagreements.contains(.currency) {
                item.fields.append(DifferingField(name: "currency", ledger: payment.currency, provider: line.currency))
                return item
            }
            if let taken = found.refundTaken[Int32(index)] {
                let refund = refunds[taken.index]
                item.ledgerTransferId = refund.transferId
                item.ledgerAmountMinor = refund.amountMinor
                if taken.atOtherAmount {
                    item.fields.append(
                        DifferingField(
                            name: "amount", ledger: Self.major(refund.amountMinor, line.currency),
                            provider: Self.major(line.grossMinor, line.currency)))
                } else if category == .statusMismatch {
                    item.fields.append(DifferingField(name: "status", ledger: "refunded", provider: line.statusRaw))
                }
            } else if category == .missingInLedger {
                item.fields.append(
                    DifferingField(
                        name: "refund", ledger: "none left", provider: Self.major(line.grossMinor, line.currency)))
            } else {
                // A failed refund the ledger does not have either: the two agree.
                item.feeMinor = 0
            }
            return item
        }
        item.ledgerAmountMinor = payment.amountMinor
        let contracted = found.contractedFeeMinor[index]
        if contracted != ColumnFindings.noFee { item.contractedFeeMinor = contracted }
        let captured = payment.state == .captured
        if disagreements.contains(.currency) {
            item.fields.append(DifferingField(name: "currency", ledger: payment.currency, provider: line.currency))
        }
        if disagreements.contains(.status) {
            item.fields.append(
                DifferingField(
                    name: "status", ledger: captured ? "captured" : payment.state.rawValue, provider: line.statusRaw))
        }
        if disagreements.contains(.amount) {
            item.fields.append(
                DifferingField(
                    name: "amount", ledger: Self.major(payment.amountMinor, line.currency),
                    provider: Self.major(line.grossMinor, line.currency)))
        }
        if disagreements.contains(.fee) {
            item.fields.append(
                DifferingField(
                    name: "fee", ledger: Self.major(contracted, line.currency),
                    provider: Self.major(line.feeMinor, line.currency)))
        }
        if disagreements.contains(.late), let capturedDate = payment.capturedDhakaDate {
            item.fields.append(
                DifferingField(
                    name: "settlementDate", ledger: "captured \(capturedDate)", provider: line.settlementDate))
        }
        if line.status != "settled" && !captured { item.feeMinor = 0 }
        return item
    }

    /// `minor` in major units with the currency's decimals (`1500.00`), as people read amounts.
    public static func major(_ minor: Int64, _ code: String) -> String {
        // Safe fallback: lines and payments carry currencies the import and the ledger checked.
        let currency = Currency(code: code) ?? .bdt
        return (minor < 0 ? "-" : "") + Amount(minorUnits: minor.magnitude).formatted(currency, grouping: false)
    }
}
