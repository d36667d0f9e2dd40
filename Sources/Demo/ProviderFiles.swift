import Scheduler

/// One line of a provider's settlement file: a payment or a refund as the provider settled it.
/// What the line says is the caller's to choose, faults included (a fee charged wrong, an amount a
/// poisha off, a payment the ledger never saw); `ProviderFileWriter` only writes it down.
public struct ProviderSettlement: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case payment
        case refund
    }

    public var kind: Kind
    /// The payment reference Khata gave the provider; on a refund, the refunded payment's.
    public var ourReference: String
    /// The provider's id of this transaction (a refund has its own).
    public var providerTxnId: String
    public var providerPaymentId: String
    public var grossMinor: Int64
    public var feeMinor: Int64
    public var transactedAtNanoseconds: UInt64
    public var payerMsisdn: String
    /// On a refund: the refunded payment's `providerTxnId`.
    public var originalProviderTxnId: String?

    public init(
        kind: Kind, ourReference: String, providerTxnId: String, providerPaymentId: String, grossMinor: Int64,
        feeMinor: Int64, transactedAtNanoseconds: UInt64, payerMsisdn: String, originalProviderTxnId: String? = nil
    ) {
        self.kind = kind
        self.ourReference = ourReference
        self.providerTxnId = providerTxnId
        self.providerPaymentId = providerPaymentId
        self.grossMinor = grossMinor
        self.feeMinor = feeMinor
        self.transactedAtNanoseconds = transactedAtNanoseconds
        self.payerMsisdn = payerMsisdn
        self.originalProviderTxnId = originalProviderTxnId
    }
}

/// How a file is laid out beyond its lines: what real exports do and the importer must survive.
public struct ProviderFileStyle: Sendable, Equatable {
    /// A UTF-8 byte-order mark first.
    public var byteOrderMark = false
    /// CRLF line ends instead of LF.
    public var crlf = false
    /// A report title and a blank line before the header.
    public var title: String?
    /// A `Total` line after the data, with the sums of the amount columns.
    public var totalsLine = false
    /// Amounts with thousands separators, quoted (`"1,250.00"`).
    public var thousandsSeparators = false

    public init() {}
}

/// Writes settlement files in the three providers' dialects (docs/SETTLEMENT-FORMATS.md), as the
/// demo day's night produces them.
public enum ProviderFileWriter {
    public static let providers = ["bkash", "nagad", "sslcommerz"]

    static let headers = [
        "bkash": "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,"
            + "customerMsisdn,paymentExecuteTime,transactionStatus,originalTrxID",
        "nagad": "orderId,paymentRefId,issuerPaymentRefNo,type,amount,fee,netAmount,currency,clientMobileNo,"
            + "orderDateTime,status,originalIssuerPaymentRefNo",
        "sslcommerz": "tran_id,val_id,bank_tran_id,tran_type,amount,store_amount,currency,card_type,tran_date,status,"
            + "risk_level,original_tran_id",
    ]

    /// The file's bytes. `provider` is one of `providers`.
    public static func file(provider: String, lines: [ProviderSettlement], style: ProviderFileStyle) -> [UInt8] {
        precondition(providers.contains(provider), "no dialect for \(provider)")
        let end = style.crlf ? "\r\n" : "\n"
        var text = ""
        if let title = style.title { text += title + end + end }
        // Safe: every provider has a header.
        text += headers[provider]! + end
        var gross: Int64 = 0
        var fees: Int64 = 0
        var nets: Int64 = 0
        for line in lines {
            let sign: Int64 = line.kind == .refund ? -1 : 1
            gross += sign * line.grossMinor
            fees += line.feeMinor
            nets += sign * (line.grossMinor - sign * line.feeMinor)
            text += row(provider, line, style).joined(separator: ",") + end
        }
        if style.totalsLine {
            let sums = [amount(gross, style), amount(fees, style), amount(nets, style)]
            // SSLCommerz has no fee column: its amounts are `amount` and `store_amount`.
            let cells = provider == "sslcommerz" ? [sums[0], sums[2]] : sums
            text += (["Total", "", "", ""] + cells).joined(separator: ",") + end
        }
        return (style.byteOrderMark ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
    }

    static func row(_ provider: String, _ line: ProviderSettlement, _ style: ProviderFileStyle) -> [String] {
        let refund = line.kind == .refund
        switch provider {
        case "bkash":
            // bKash writes a refund with negative amounts.
            let sign: Int64 = refund ? -1 : 1
            return [
                line.providerTxnId, line.providerPaymentId, line.ourReference, refund ? "Refund" : "Payment",
                amount(sign * line.grossMinor, style), amount(line.feeMinor, style),
                amount(sign * (line.grossMinor - sign * line.feeMinor), style), "BDT", line.payerMsisdn,
                bkashTime(line.transactedAtNanoseconds), "Completed", line.originalProviderTxnId ?? "",
            ]
        case "nagad":
            return [
                line.ourReference, line.providerPaymentId, line.providerTxnId, refund ? "Refund" : "Payment",
                amount(line.grossMinor, style), amount(line.feeMinor, style),
                amount(line.grossMinor + (refund ? line.feeMinor : -line.feeMinor), style), "BDT",
                line.payerMsisdn, dhaka(line.transactedAtNanoseconds, fraction: .tenths), "Success",
                line.originalProviderTxnId ?? "",
            ]
        default:
            // SSLCommerz writes no fee: what the merchant receives (`store_amount`) tells it.
            let store = refund ? line.grossMinor + line.feeMinor : line.grossMinor - line.feeMinor
            return [
                line.ourReference, line.providerPaymentId, line.providerTxnId, refund ? "refund" : "payment",
                amount(line.grossMinor, style), amount(store, style), "BDT", "BKASH-BKash",
                dhaka(line.transactedAtNanoseconds, fraction: .none), "VALID", "0", line.originalProviderTxnId ?? "",
            ]
        }
    }

    /// Minor units as taka with two decimals: `1250.00`, or `"1,250.00"` with separators.
    static func amount(_ minor: Int64, _ style: ProviderFileStyle) -> String {
        let magnitude = minor.magnitude
        var whole = String(magnitude / 100)
        let cents = magnitude % 100
        if style.thousandsSeparators && whole.count > 3 {
            var grouped = ""
            for (index, digit) in whole.enumerated() {
                if index > 0 && (whole.count - index) % 3 == 0 { grouped.append(",") }
                grouped.append(digit)
            }
            whole = grouped
        }
        let text = (minor < 0 ? "-" : "") + whole + "." + (cents < 10 ? "0" : "") + String(cents)
        return whole.contains(",") ? "\"" + text + "\"" : text
    }

    enum Fraction {
        case none
        case tenths
        case milliseconds
    }

    /// Asia/Dhaka (UTC+06:00 all year) local time: `2026-11-30 07:12:04`, with `.0` tenths or
    /// `.736` milliseconds.
    static func dhaka(_ nanoseconds: UInt64, fraction: Fraction, separator: String = " ") -> String {
        let seconds = Int(nanoseconds / 1_000_000_000) + 6 * 3_600
        let date = CivilDate(daysSinceEpoch: seconds / 86_400)
        let inDay = seconds % 86_400
        func two(_ value: Int) -> String { value < 10 ? "0" + String(value) : String(value) }
        let milliseconds = Int(nanoseconds / 1_000_000 % 1_000)
        let base = "\(date)\(separator)\(two(inDay / 3_600)):\(two(inDay / 60 % 60)):\(two(inDay % 60))"
        switch fraction {
        case .none: return base
        case .tenths: return base + "." + String(milliseconds / 100)
        case .milliseconds:
            return base + ":" + String(repeating: "0", count: 3 - String(milliseconds).count) + String(milliseconds)
        }
    }

    /// bKash's execute-API form: `2026-11-30T08:05:01:736 GMT+0600`.
    static func bkashTime(_ nanoseconds: UInt64) -> String {
        dhaka(nanoseconds, fraction: .milliseconds, separator: "T") + " GMT+0600"
    }
}
