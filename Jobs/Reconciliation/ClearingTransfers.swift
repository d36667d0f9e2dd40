import Bookings
import JSONInput
import JobStore
import KhataCrypto
import LedgerCore

/// The ledger accounts clearing posts to. A reservation's hold debits the provider's clearing
/// account, so the provider owes what it holds; a settled line credits it back with the net paid
/// into the bank and the fee kept, so its balance is what the providers still owe.
public struct ClearingAccounts: Sendable, Equatable {
    /// Where the providers' payouts arrive.
    public var settlementBankKey: String
    /// Where the providers' fees are charged.
    public var feeExpenseKey: String

    /// Where a reviewer's written-off differences are charged.
    public var writeOffKey: String
    /// Where differences the ledger got wrong wait for their correction.
    public var ledgerCorrectionKey: String

    public static let defaultSettlementBankKey = "bank:settlement"
    public static let defaultFeeExpenseKey = "expense:provider-fees"
    public static let defaultWriteOffKey = "expense:reconciliation-write-offs"
    public static let defaultLedgerCorrectionKey = "suspense:ledger-corrections"

    public init(
        settlementBankKey: String = defaultSettlementBankKey, feeExpenseKey: String = defaultFeeExpenseKey,
        writeOffKey: String = defaultWriteOffKey, ledgerCorrectionKey: String = defaultLedgerCorrectionKey
    ) {
        self.settlementBankKey = settlementBankKey
        self.feeExpenseKey = feeExpenseKey
        self.writeOffKey = writeOffKey
        self.ledgerCorrectionKey = ledgerCorrectionKey
    }

    /// The mismatch categories of a payment the ledger captured whose money stays in the
    /// clearing account until a person resolves it: with the payments carried, what the clearing
    /// account's balance must equal.
    public static let heldInClearing: Set<MismatchCategory> = [
        .amountMismatch, .feeMismatch, .lateSettlement, .missingAtProvider,
    ]

    /// The clearing account of `provider` (as lines name it, `bkash`).
    public static func clearingKey(provider: String) -> String { "provider:\(provider.lowercased()):clearing" }

    /// The transfers that clear one matched line, as one chain (linked, so that both legs commit
    /// or neither does): for a payment, debit the bank and credit clearing with the net, debit fee
    /// expense and credit clearing with the fee; for a refund, the other way round. A negative leg
    /// runs the other way, a zero leg is left out. The ids derive from the provider and its
    /// transaction id alone, so a rerun posts nothing twice.
    public func transfers(
        provider: String, providerTxnId: String, kind: String, netMinor: Int64, feeMinor: Int64, currency: Currency
    ) -> [TransferDraft] {
        let clearing = Self.clearingKey(provider: provider)
        let reference = TextRules.referenceProblem(providerTxnId) == nil ? TransferReference(providerTxnId) : nil
        var legs: [TransferDraft] = []
        for (leg, amount, other) in [("net", netMinor, settlementBankKey), ("fee", feeMinor, feeExpenseKey)]
        where amount != 0 {
            // A payment line moves money out of clearing into `other`; a refund line back.
            let intoOther = (kind == "refund") == (amount < 0)
            legs.append(
                TransferDraft(
                    id: Self.transferId(provider: provider, providerTxnId: providerTxnId, leg: leg),
                    debitAccount: intoOther ? other : clearing, creditAccount: intoOther ? clearing : other,
                    amount: AmountInput(
                        text: Amount(minorUnits: amount.magnitude).formatted(currency, grouping: false),
                        field: "\(leg) of \(providerTxnId)"),
                    code: BusinessCode.settlementClearing, reference: reference))
        }
        if legs.count == 2 { legs[0].flags = .linked }
        return legs
    }

    /// The id of one leg: 128 bits of SHA-256 over the provider, the transaction and the leg.
    static func transferId(provider: String, providerTxnId: String, leg: String) -> UInt128 {
        let digest = Crypto.sha256(Array("khata:settlement-clearing:\(provider):\(providerTxnId):\(leg)".utf8))
        let id = digest.prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return id == 0 ? 1 : id
    }
}
