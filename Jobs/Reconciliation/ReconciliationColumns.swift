import JobStore
import Scheduler

/// A currency code as one integer (its ASCII letters packed), so that lines and payments compare
/// currencies without touching text.
public struct CurrencyTag: Hashable, Sendable {
    public let value: UInt64

    /// The tag of a code: up to eight bytes packed; a longer code (none is) gets a hash of all.
    public init(_ code: UnsafeRawBufferPointer) {
        if code.count <= 8 {
            var packed: UInt64 = 0
            for byte in code { packed = packed << 8 | UInt64(byte) }
            value = packed
        } else {
            value = ByteKeyTable.hash(code) | 1 << 63
        }
    }

    public init(_ code: String) {
        var code = code
        self = code.withUTF8 { CurrencyTag(UnsafeRawBufferPointer($0)) }
    }
}

/// One run's settlement lines as columns: the values the rules read, one array per value, with
/// each line's payment already found (its row in `PaymentColumns`). Text stays with whoever
/// built the columns; the rules need none of it.
public struct SettlementColumns: Sendable {
    /// How the rules treat a line.
    public enum Kind: UInt8, Sendable {
        /// A payment (and any kind the rules do not name).
        case payment
        case refund
        /// A chargeback or a provider's adjustment: for a person to review.
        case adjustment

        /// The kind of a line of `kind` (`payment`, `refund`, `chargeback`, `adjustment`).
        public init(_ kind: String) {
            switch kind {
            case "refund": self = .refund
            case "chargeback", "adjustment": self = .adjustment
            default: self = .payment
            }
        }
    }

    /// The day of a settlement date that does not parse: no fee rule and no late check apply.
    public static let unknownDay = Int32.min

    public private(set) var count = 0
    public private(set) var keys: [SettlementLineKey] = []
    /// The row in `PaymentColumns` of the payment the line's reference names; -1 for none.
    public private(set) var paymentRow: [Int32] = []
    public private(set) var kind: [Kind] = []
    /// The provider says the money moved (`settled`), rather than failed or reversed.
    public private(set) var settled: [Bool] = []
    public private(set) var grossMinor: [Int64] = []
    public private(set) var feeMinor: [Int64] = []
    public private(set) var currency: [CurrencyTag] = []
    /// Orders refund lines in time (nanoseconds since the epoch for a file's lines).
    public private(set) var transactedAt: [Int64] = []
    /// The settlement date as days since the Unix epoch, or `unknownDay`.
    public private(set) var settlementDay: [Int32] = []
    /// The line repeats an earlier line of the same provider transaction.
    public private(set) var isDuplicate: [Bool] = []
    /// The earlier line of the same provider transaction, for the lines that repeat one.
    public private(set) var duplicateOf: [Int32: SettlementLineKey] = [:]

    public init(reservingCapacity capacity: Int = 0) {
        keys.reserveCapacity(capacity)
        paymentRow.reserveCapacity(capacity)
        kind.reserveCapacity(capacity)
        settled.reserveCapacity(capacity)
        grossMinor.reserveCapacity(capacity)
        feeMinor.reserveCapacity(capacity)
        currency.reserveCapacity(capacity)
        transactedAt.reserveCapacity(capacity)
        settlementDay.reserveCapacity(capacity)
        isDuplicate.reserveCapacity(capacity)
    }

    /// Adds a line; answers its row.
    @discardableResult
    public mutating func append(
        key: SettlementLineKey, paymentRow row: Int32, kind lineKind: Kind, settled isSettled: Bool,
        grossMinor gross: Int64, feeMinor fee: Int64, currency code: CurrencyTag, transactedAt time: Int64,
        settlementDay day: Int32, duplicateOf first: SettlementLineKey? = nil
    ) -> Int32 {
        precondition(count < Int(Int32.max), "more lines than rows")
        let index = Int32(count)
        keys.append(key)
        paymentRow.append(row)
        kind.append(lineKind)
        settled.append(isSettled)
        grossMinor.append(gross)
        feeMinor.append(fee)
        currency.append(code)
        transactedAt.append(time)
        settlementDay.append(day)
        isDuplicate.append(first != nil)
        if let first { duplicateOf[index] = first }
        count += 1
        return index
    }
}

extension SettlementColumns {
    /// Names the payment of a line added before its reference was looked up.
    public mutating func setPaymentRow(_ row: Int32, ofLine line: Int32) {
        paymentRow[Int(line)] = row
    }

    /// Marks a line added before its transaction id was looked up as a repeat of `first`.
    public mutating func markDuplicate(_ line: Int32, of first: SettlementLineKey) {
        isDuplicate[Int(line)] = true
        duplicateOf[line] = first
    }
}

/// The ledger's payments of one run as columns, one row per payment.
public struct PaymentColumns: Sendable {
    /// The Asia/Dhaka day of a payment not captured.
    public static let notCaptured = Int32.min

    public private(set) var count = 0
    public private(set) var amountMinor: [Int64] = []
    public private(set) var currency: [CurrencyTag] = []
    public private(set) var state: [LedgerPayment.State] = []
    /// The Asia/Dhaka day of the capture (days since the Unix epoch), or `notCaptured`.
    public private(set) var capturedDay: [Int32] = []
    /// The payment is another provider's than the run's.
    public private(set) var otherProvider: [Bool] = []
    /// The ledger's refunds of the payments that have any, in time order.
    public private(set) var refunds: [Int32: [LedgerRefund]] = [:]

    public init(reservingCapacity capacity: Int = 0) {
        amountMinor.reserveCapacity(capacity)
        currency.reserveCapacity(capacity)
        state.reserveCapacity(capacity)
        capturedDay.reserveCapacity(capacity)
        otherProvider.reserveCapacity(capacity)
    }

    /// The Asia/Dhaka day of a time in nanoseconds since the Unix epoch.
    @inline(__always)
    public static func dhakaDay(nanoseconds: Int64) -> Int32 {
        Int32(clamping: CivilDate.dhakaDay(nanoseconds: nanoseconds))
    }

    /// Adds a payment; answers its row.
    @discardableResult
    public mutating func append(
        amountMinor amount: Int64, currency code: CurrencyTag, state paymentState: LedgerPayment.State,
        capturedAtNanoseconds captured: Int64?, otherProvider other: Bool = false, refunds list: [LedgerRefund] = []
    ) -> Int32 {
        precondition(count < Int(Int32.max), "more payments than rows")
        let row = Int32(count)
        amountMinor.append(amount)
        currency.append(code)
        state.append(paymentState)
        capturedDay.append(captured.map { Self.dhakaDay(nanoseconds: $0) } ?? Self.notCaptured)
        otherProvider.append(other)
        if !list.isEmpty { refunds[row] = list.sorted { $0.atNanoseconds < $1.atNanoseconds } }
        count += 1
        return row
    }
}

/// What the rules found on one run's columns: a category per line, why, and the payments that
/// are missing at the provider. Everything else a report says is read back from the input.
public struct ColumnFindings: Sendable {
    /// What a line disagrees on (several can; the category is the most basic).
    public struct Disagreements: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let currency = Disagreements(rawValue: 1)
        public static let status = Disagreements(rawValue: 2)
        public static let amount = Disagreements(rawValue: 4)
        public static let fee = Disagreements(rawValue: 8)
        public static let late = Disagreements(rawValue: 16)
        /// The payment the reference names is another provider's.
        public static let provider = Disagreements(rawValue: 32)
    }

    /// Which of the payment's refunds (in time order) a refund line took, and whether at
    /// another amount than the line's.
    public struct RefundTaken: Sendable, Equatable {
        public var index: Int
        public var atOtherAmount: Bool
    }

    /// A value for lines that have no contracted fee.
    public static let noFee = Int64.min

    public var category: [ReconciliationCategory]
    public var disagreements: [Disagreements]
    /// The contracted fee of settled payment lines with a fee rule, else `noFee`.
    public var contractedFeeMinor: [Int64]
    public var refundTaken: [Int32: RefundTaken] = [:]
    /// Rows of payments no line settled whose window has closed, in the order they were given.
    public var missingAtProvider: [Int32] = []
    /// Payments no line settled yet whose window is still open.
    public var carried = 0

    /// How many lines and payments came out in each category.
    public var counts: [ReconciliationCategory: Int] {
        var tally = [Int](repeating: 0, count: ReconciliationCategory.allCases.count)
        for item in category { tally[Int(item.ordinal)] += 1 }
        tally[Int(ReconciliationCategory.missingAtProvider.ordinal)] += missingAtProvider.count
        var counts: [ReconciliationCategory: Int] = [:]
        for (category, count) in zip(ReconciliationCategory.allCases, tally) where count > 0 {
            counts[category] = count
        }
        return counts
    }
}

extension ReconciliationCategory {
    /// The category's place in `allCases`.
    var ordinal: UInt8 {
        switch self {
        case .matched: 0
        case .amountMismatch: 1
        case .feeMismatch: 2
        case .missingInLedger: 3
        case .missingAtProvider: 4
        case .duplicateSettlement: 5
        case .statusMismatch: 6
        case .currencyMismatch: 7
        case .lateSettlement: 8
        case .adjustment: 9
        }
    }
}

extension ReconciliationMatcher {
    /// The rules on columns: every line in exactly one category, then the unsettled payments.
    /// Lines are independent of each other except refunds, which take a payment's refunds in
    /// time order (ties by key), and payment lines, which settle their payments for the last step.
    /// - Parameters:
    ///   - unsettled: rows of the provider's captured payments that no payment line settled up to
    ///     `date` (today's lines are matched first).
    public func findings(
        provider: String, date: CivilDate, lines: SettlementColumns, payments: PaymentColumns, unsettled: [Int32]
    ) -> ColumnFindings {
        let count = lines.count
        var findings = ColumnFindings(
            category: [ReconciliationCategory](repeating: .matched, count: count),
            disagreements: [ColumnFindings.Disagreements](repeating: [], count: count),
            contractedFeeMinor: [Int64](repeating: ColumnFindings.noFee, count: count))
        var settledToday = [Bool](repeating: false, count: payments.count)
        var refundLines: [Int32] = []
        let window = Int32(clamping: lateWindowDays)
        // Lines of one run share one or two settlement dates: the rule is looked up per date.
        var ruleDay = SettlementColumns.unknownDay
        var rule: FeeRule?
        lines.paymentRow.withUnsafeBufferPointer { paymentRow in
            lines.grossMinor.withUnsafeBufferPointer { gross in
                lines.feeMinor.withUnsafeBufferPointer { fee in
                    for index in 0..<count {
                        let row = Int(paymentRow[index])
                        let kind = lines.kind[index]
                        if lines.isDuplicate[index] {
                            findings.category[index] = .duplicateSettlement
                            continue
                        }
                        if kind == .adjustment {
                            findings.category[index] = .adjustment
                            continue
                        }
                        let settled = lines.settled[index]
                        guard row >= 0 else {
                            if settled { findings.category[index] = .missingInLedger }
                            continue
                        }
                        if payments.otherProvider[row] {
                            findings.category[index] = .missingInLedger
                            findings.disagreements[index] = .provider
                            continue
                        }
                        if kind == .refund {
                            refundLines.append(Int32(index))
                            continue
                        }
                        // A payment line.
                        var found: ColumnFindings.Disagreements = []
                        if payments.currency[row] != lines.currency[index] { found.insert(.currency) }
                        let captured = payments.state[row] == .captured
                        if settled != captured { found.insert(.status) }
                        if settled {
                            settledToday[row] = true
                            if payments.amountMinor[row] != gross[index] { found.insert(.amount) }
                            let day = lines.settlementDay[index]
                            if day != SettlementColumns.unknownDay {
                                if day != ruleDay {
                                    ruleDay = day
                                    rule = fees.rule(provider: provider, on: CivilDate(daysSinceEpoch: Int(day)))
                                }
                                if let rule {
                                    let contracted = rule.fee(onGrossMinor: gross[index])
                                    findings.contractedFeeMinor[index] = contracted
                                    if abs(contracted - fee[index]) > rule.toleranceMinor { found.insert(.fee) }
                                }
                                let capturedDay = payments.capturedDay[row]
                                if captured, capturedDay != PaymentColumns.notCaptured, day - capturedDay > window {
                                    found.insert(.late)
                                }
                            }
                        }
                        if !found.isEmpty {
                            findings.disagreements[index] = found
                            findings.category[index] =
                                found.contains(.currency)
                                ? .currencyMismatch
                                : found.contains(.status)
                                    ? .statusMismatch
                                    : found.contains(.amount)
                                        ? .amountMismatch : found.contains(.fee) ? .feeMismatch : .lateSettlement
                        }
                    }
                }
            }
        }
        if !refundLines.isEmpty { matchRefunds(refundLines, lines: lines, payments: payments, into: &findings) }
        let today = Int32(clamping: date.daysSinceEpoch)
        for row in unsettled where !settledToday[Int(row)] {
            let index = Int(row)
            let capturedDay = payments.capturedDay[index]
            guard !payments.otherProvider[index], payments.state[index] == .captured,
                capturedDay != PaymentColumns.notCaptured
            else { continue }
            if today - capturedDay > window {
                findings.missingAtProvider.append(row)
            } else {
                findings.carried += 1
            }
        }
        return findings
    }

    /// Refund lines in time order, ties by key: each takes the earliest refund of the same
    /// amount left on its payment; a settled line finding none takes the earliest left at
    /// another amount, or is missing in the ledger.
    private func matchRefunds(
        _ refundLines: [Int32], lines: SettlementColumns, payments: PaymentColumns,
        into findings: inout ColumnFindings
    ) {
        let ordered = refundLines.sorted {
            (lines.transactedAt[Int($0)], lines.keys[Int($0)]) < (lines.transactedAt[Int($1)], lines.keys[Int($1)])
        }
        /// Indices of each payment's refunds not yet taken, in time order.
        var left: [Int32: [Int]] = [:]
        for line in ordered {
            let index = Int(line)
            let row = lines.paymentRow[index]
            var available = left[row] ?? Array((payments.refunds[row] ?? []).indices)
            defer { left[row] = available }
            if payments.currency[Int(row)] != lines.currency[index] {
                findings.category[index] = .currencyMismatch
                findings.disagreements[index] = .currency
                continue
            }
            let refunds = payments.refunds[row] ?? []
            let settled = lines.settled[index]
            if let position = available.firstIndex(where: { refunds[$0].amountMinor == lines.grossMinor[index] }) {
                findings.refundTaken[line] = ColumnFindings.RefundTaken(
                    index: available.remove(at: position), atOtherAmount: false)
                if !settled {
                    findings.category[index] = .statusMismatch
                    findings.disagreements[index] = .status
                }
                continue
            }
            // A failed refund the ledger does not have either: the two agree.
            guard settled else { continue }
            if !available.isEmpty {
                findings.refundTaken[line] = ColumnFindings.RefundTaken(
                    index: available.removeFirst(), atOtherAmount: true)
                findings.category[index] = .amountMismatch
                findings.disagreements[index] = .amount
            } else {
                findings.category[index] = .missingInLedger
            }
        }
    }
}
