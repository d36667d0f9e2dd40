import Foundation
import Scheduler

/// A field of the normalized settlement line that a column of a file can hold.
public enum SettlementField: String, CaseIterable, Sendable, Comparable {
    case providerTxnId, ourReference, providerPaymentId, kind, status, transactedAt, settlementDate
    case amount, fee, net, currency, payer, originalProviderTxnId

    public static func < (lhs: SettlementField, rhs: SettlementField) -> Bool {
        // Safe: every case is in allCases.
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// How one kind of settlement file is written: which column holds which field, the words it
/// uses for kinds and statuses, how it writes amounts and times. The three providers' dialects
/// are fixed (docs/SETTLEMENT-FORMATS.md); the generic one comes from a mapping file.
public struct SettlementDialect: Sendable {
    /// `bkash`, `nagad`, `sslcommerz`, or the mapping's name.
    public var name: String
    /// The provider whose settlement lines these are.
    public var provider: String
    /// The header name of each field's column, as the file writes it.
    public var columns: [SettlementField: String]
    /// Fields a header must name to be recognised as this dialect's.
    public var required: Set<SettlementField>
    /// Status word (lowercase) → `settled`, `failed` or `reversed`.
    public var statuses: [String: String]
    /// Kind word (lowercase) → `payment`, `refund`, `chargeback` or `adjustment`.
    public var kinds: [String: String]
    /// How digits below the minor unit are treated, per amount field.
    public var rounding: [SettlementField: SubunitRounding]
    public var time: LocalTimeFormat
    public var decimals: DecimalStyle
    /// The delimiter, when the dialect fixes one; nil: found from the header line.
    public var delimiter: UInt8?
    /// The currency of every line when the file has no currency column.
    public var defaultCurrency: String?

    /// The header name of each column, lowercased and trimmed, as headers are compared.
    func headerKey(_ field: SettlementField) -> String? { columns[field].map(Self.headerKey) }

    static func headerKey(_ name: String) -> String {
        var text = Substring(name)
        if text.hasPrefix("\u{FEFF}") { text = text.dropFirst() }
        return text.trimmingCharacters(in: [" ", "\t", "\"", "\u{00A0}"]).lowercased()
    }

    /// The kinds every dialect knows.
    static let standardKinds = [
        "payment": "payment", "refund": "refund", "chargeback": "chargeback", "adjustment": "adjustment",
    ]

    /// bKash tokenized checkout: `trxID,paymentID,merchantInvoiceNumber,transactionType,amount,
    /// charge,netAmount,currency,customerMsisdn,paymentExecuteTime,transactionStatus,originalTrxID`.
    public static let bkash = SettlementDialect(
        name: "bkash", provider: "bkash",
        columns: [
            .providerTxnId: "trxID", .providerPaymentId: "paymentID", .ourReference: "merchantInvoiceNumber",
            .kind: "transactionType", .amount: "amount", .fee: "charge", .net: "netAmount", .currency: "currency",
            .payer: "customerMsisdn", .transactedAt: "paymentExecuteTime", .status: "transactionStatus",
            .originalProviderTxnId: "originalTrxID", .settlementDate: "settlementDate",
        ],
        required: [.providerTxnId, .ourReference, .kind, .amount, .fee, .currency, .transactedAt, .status],
        statuses: [
            "completed": "settled", "success": "settled", "failed": "failed", "cancelled": "failed",
            "declined": "failed", "expired": "failed", "reversed": "reversed", "refunded": "reversed",
        ],
        kinds: standardKinds, rounding: [:], time: .providers, decimals: .pointDecimals, delimiter: nil,
        defaultCurrency: nil)

    /// Nagad: `orderId,paymentRefId,issuerPaymentRefNo,type,amount,fee,netAmount,currency,
    /// clientMobileNo,orderDateTime,status,originalIssuerPaymentRefNo`.
    public static let nagad = SettlementDialect(
        name: "nagad", provider: "nagad",
        columns: [
            .ourReference: "orderId", .providerPaymentId: "paymentRefId", .providerTxnId: "issuerPaymentRefNo",
            .kind: "type", .amount: "amount", .fee: "fee", .net: "netAmount", .currency: "currency",
            .payer: "clientMobileNo", .transactedAt: "orderDateTime", .status: "status",
            .originalProviderTxnId: "originalIssuerPaymentRefNo", .settlementDate: "settlementDate",
        ],
        required: [.providerTxnId, .ourReference, .kind, .amount, .fee, .currency, .transactedAt, .status],
        statuses: [
            "success": "settled", "aborted": "failed", "cancelled": "failed", "failed": "failed",
            "reversed": "reversed",
        ],
        kinds: standardKinds, rounding: [:], time: .providers, decimals: .pointDecimals, delimiter: nil,
        defaultCurrency: nil)

    /// SSLCommerz: `tran_id,val_id,bank_tran_id,tran_type,amount,store_amount,currency,card_type,
    /// tran_date,status,risk_level,original_tran_id`. The fee is `amount - store_amount`, and
    /// `store_amount` can carry four decimals, rounded half-even to the poisha (SSLCommerz's
    /// documentation shows such amounts), with the rounding recorded on the line.
    public static let sslcommerz = SettlementDialect(
        name: "sslcommerz", provider: "sslcommerz",
        columns: [
            .ourReference: "tran_id", .providerPaymentId: "val_id", .providerTxnId: "bank_tran_id",
            .kind: "tran_type", .amount: "amount", .net: "store_amount", .currency: "currency",
            .transactedAt: "tran_date", .status: "status", .originalProviderTxnId: "original_tran_id",
            .settlementDate: "settlement_date",
        ],
        required: [.providerTxnId, .ourReference, .kind, .amount, .net, .currency, .transactedAt, .status],
        statuses: [
            "valid": "settled", "validated": "settled", "failed": "failed", "cancelled": "failed",
            "unattempted": "failed", "expired": "failed", "reversed": "reversed",
        ],
        kinds: standardKinds, rounding: [.net: .halfEven], time: .providers, decimals: .pointDecimals,
        delimiter: nil, defaultCurrency: nil)

    /// The three providers' dialects.
    public static let providers: [SettlementDialect] = [bkash, nagad, sslcommerz]

    /// The provider dialect called `name`.
    public static func named(_ name: String) -> SettlementDialect? { providers.first { $0.name == name } }
}
