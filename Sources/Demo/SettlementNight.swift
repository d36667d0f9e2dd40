import LedgerBench
import Reconciliation
import Scheduler

/// A payment the ledger captured, as the demo saw it happen.
public struct CapturedPayment: Sendable, Equatable {
    /// `bkash`, `nagad` or `sslcommerz`.
    public var provider: String
    public var paymentReference: String
    public var providerTxnId: String
    public var amountMinor: Int64
    public var capturedAtNanoseconds: UInt64
    public var payerPhone: String
    /// Refunds made in the ledger: amount and time.
    public var refunds: [(amountMinor: Int64, atNanoseconds: UInt64)]

    public init(
        provider: String, paymentReference: String, providerTxnId: String, amountMinor: Int64,
        capturedAtNanoseconds: UInt64, payerPhone: String, refunds: [(amountMinor: Int64, atNanoseconds: UInt64)] = []
    ) {
        self.provider = provider
        self.paymentReference = paymentReference
        self.providerTxnId = providerTxnId
        self.amountMinor = amountMinor
        self.capturedAtNanoseconds = capturedAtNanoseconds
        self.payerPhone = payerPhone
        self.refunds = refunds
    }

    public static func == (lhs: CapturedPayment, rhs: CapturedPayment) -> Bool {
        lhs.provider == rhs.provider && lhs.paymentReference == rhs.paymentReference
            && lhs.providerTxnId == rhs.providerTxnId && lhs.amountMinor == rhs.amountMinor
            && lhs.capturedAtNanoseconds == rhs.capturedAtNanoseconds && lhs.payerPhone == rhs.payerPhone
            && lhs.refunds.map(\.amountMinor) == rhs.refunds.map(\.amountMinor)
            && lhs.refunds.map(\.atNanoseconds) == rhs.refunds.map(\.atNanoseconds)
    }
}

/// A fault the night's files carry on purpose, with the category reconciliation must put it in.
public struct InjectedFault: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A payment captured days ago, settled only tonight.
        case lateLine = "late line"
        /// The provider charged another fee than the contract says.
        case wrongFee = "fee charged wrong"
        /// The provider's amount is a poisha off the ledger's.
        case amountOffByPoisha = "amount off by a poisha"
        /// The same transaction twice in one file.
        case duplicatedLine = "duplicated line"
        /// A payment whose reference the ledger never gave out.
        case unknownPayment = "payment the ledger never saw"
        /// A payment settled for a reservation whose hold had expired.
        case paidAfterExpiry = "payment after its hold expired"
    }

    public var kind: Kind
    public var provider: String
    public var providerTxnId: String
    /// The reconciliation category that must report it (`fee_mismatch`, …).
    public var category: String
}

/// The night after the demo day: each provider's settlement file for the day, written from what
/// happened, with the faults real files have.
public enum SettlementNight {
    /// Each provider's lines (in time order) and the faults among them. `today` holds the day's
    /// captures, `earlier` unsettled captures of days before (one of each provider's settles late
    /// tonight; the others stay missing at the provider), `paidAfterExpiry` the payments the
    /// providers took for holds that had expired (reference, provider, amount, time). Every
    /// provider's file gets one of each fault kind it has material for (a wrong fee, a poisha
    /// off and a duplicate need three of its captures); which payments carry them is seeded.
    public static func lines(
        today: [CapturedPayment], earlier: [CapturedPayment],
        paidAfterExpiry: [(provider: String, paymentReference: String, amountMinor: Int64, atNanoseconds: UInt64)],
        fees: FeeSchedule, settlementDate: CivilDate, seed: UInt64
    ) -> (files: [String: [ProviderSettlement]], faults: [InjectedFault]) {
        var random = BenchRandom(seed: seed)
        var files: [String: [ProviderSettlement]] = [:]
        var faults: [InjectedFault] = []
        func fee(_ provider: String, _ gross: Int64) -> Int64 {
            fees.rule(provider: provider, on: settlementDate)?.fee(onGrossMinor: gross) ?? 0
        }
        func line(_ payment: CapturedPayment) -> ProviderSettlement {
            ProviderSettlement(
                kind: .payment, ourReference: payment.paymentReference, providerTxnId: payment.providerTxnId,
                providerPaymentId: "P" + payment.providerTxnId, grossMinor: payment.amountMinor,
                feeMinor: fee(payment.provider, payment.amountMinor),
                transactedAtNanoseconds: payment.capturedAtNanoseconds, payerMsisdn: payment.payerPhone)
        }
        for provider in ProviderFileWriter.providers {
            var out: [ProviderSettlement] = []
            let captured = today.filter { $0.provider == provider }
            // Faults go on payments without refunds, so that each one's money is the payment's alone.
            var chosen = captured.indices.filter { captured[$0].refunds.isEmpty }.shuffled(using: &random)
            let wrongFee = chosen.popLast()
            let offByPoisha = chosen.popLast()
            let duplicated = chosen.popLast()
            func fault(_ kind: InjectedFault.Kind, _ txn: String, _ category: String) {
                faults.append(InjectedFault(kind: kind, provider: provider, providerTxnId: txn, category: category))
            }
            for (index, payment) in captured.enumerated() {
                var settled = line(payment)
                if index == wrongFee {
                    settled.feeMinor += 500
                    fault(.wrongFee, payment.providerTxnId, "fee_mismatch")
                }
                if index == offByPoisha {
                    settled.grossMinor += 1
                    settled.feeMinor = fee(provider, settled.grossMinor)
                    fault(.amountOffByPoisha, payment.providerTxnId, "amount_mismatch")
                }
                out.append(settled)
                if index == duplicated {
                    out.append(settled)
                    fault(.duplicatedLine, payment.providerTxnId, "duplicate_settlement")
                }
                for (number, refund) in payment.refunds.enumerated() {
                    out.append(
                        ProviderSettlement(
                            kind: .refund, ourReference: payment.paymentReference,
                            providerTxnId: payment.providerTxnId + "R\(number + 1)",
                            providerPaymentId: "P" + payment.providerTxnId, grossMinor: refund.amountMinor, feeMinor: 0,
                            transactedAtNanoseconds: refund.atNanoseconds, payerMsisdn: payment.payerPhone,
                            originalProviderTxnId: payment.providerTxnId))
                }
            }
            if let late = earlier.first(where: { $0.provider == provider }) {
                out.append(line(late))
                fault(.lateLine, late.providerTxnId, "late_settlement")
            }
            for paid in paidAfterExpiry where paid.provider == provider {
                let txn = "X" + paid.paymentReference.suffix(8)
                out.append(
                    ProviderSettlement(
                        kind: .payment, ourReference: paid.paymentReference, providerTxnId: txn,
                        providerPaymentId: "P" + txn, grossMinor: paid.amountMinor,
                        feeMinor: fee(provider, paid.amountMinor), transactedAtNanoseconds: paid.atNanoseconds,
                        payerMsisdn: "01700000000"))
                fault(.paidAfterExpiry, txn, "status_mismatch")
            }
            // A payment nobody made through Khata: a reference of the right shape it never gave.
            let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
            let stranger = "KH" + String((0..<16).map { _ in alphabet[Int.random(in: 0..<32, using: &random)] })
            let strangerTxn = "U" + stranger.suffix(9)
            out.append(
                ProviderSettlement(
                    kind: .payment, ourReference: stranger, providerTxnId: strangerTxn,
                    providerPaymentId: "P" + strangerTxn, grossMinor: 99_900, feeMinor: fee(provider, 99_900),
                    transactedAtNanoseconds: captured.last?.capturedAtNanoseconds ?? 0, payerMsisdn: "01800000000"))
            fault(.unknownPayment, strangerTxn, "missing_in_ledger")
            files[provider] = out.sorted { $0.transactedAtNanoseconds < $1.transactedAtNanoseconds }
        }
        return (files, faults)
    }
}
