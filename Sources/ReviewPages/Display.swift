import Foundation
import JobStore
import LedgerCore
import Reconciliation

/// How the pages show values: amounts in major units with thousands separators and the currency's
/// sign (`৳1,500.00`), times in Asia/Dhaka, names a finance team reads instead of codes.
public enum Display {
    /// `৳1,500.00` for taka, `USD 12.50` for other currencies, `-৳0.01` below zero; exact, from
    /// minor units, with the currency's own scale.
    public static func money(_ amountMinor: Int64, _ currencyCode: String) -> String {
        let sign = amountMinor < 0 ? "-" : ""
        guard let currency = Currency(code: currencyCode) else {
            // A code the ledger does not know cannot be scaled; show the minor units plainly.
            return "\(amountMinor) (minor units of \(currencyCode))"
        }
        return sign + Amount(minorUnits: amountMinor.magnitude).shown(in: currency)
    }

    /// `money` for an optional amount: empty when there is none.
    public static func money(_ amountMinor: Int64?, _ currencyCode: String?) -> String {
        guard let amountMinor else { return "" }
        return money(amountMinor, currencyCode ?? "BDT")
    }

    /// A stored UTC time as `2026-12-01 14:05:09` in Asia/Dhaka (the pages say the zone once).
    public static func dhaka(_ utc: String) -> String {
        let iso = RunReport.dhaka(utc)
        guard iso.utf8.count == 25, iso.hasSuffix("+06:00") else { return utc }
        return iso.prefix(10) + " " + iso.dropFirst(11).prefix(8)
    }

    /// The ISO 8601 form of a stored UTC time in Asia/Dhaka, for `<time datetime>`.
    public static func dhakaISO(_ utc: String) -> String { RunReport.dhaka(utc) }

    /// A whole number with thousands separators: `100,000`.
    public static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = value < 0 ? "-" : ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return grouped
    }

    /// The providers' names as the finance team writes them.
    public static func provider(_ name: String) -> String {
        switch name {
        case "bkash": "bKash"
        case "nagad": "Nagad"
        case "sslcommerz": "SSLCommerz"
        default: name
        }
    }

    /// A category in words: `amount_mismatch` is "Amount mismatch".
    public static func category(_ raw: String) -> String {
        switch raw {
        case "matched": "Matched"
        case "amount_mismatch": "Amount differs"
        case "fee_mismatch": "Fee differs"
        case "missing_in_ledger": "Missing in the ledger"
        case "missing_at_provider": "Missing at the provider"
        case "duplicate_settlement": "Duplicate settlement"
        case "status_mismatch": "Status differs"
        case "currency_mismatch": "Currency differs"
        case "late_settlement": "Late settlement"
        case "adjustment": "Adjustment"
        case "carried": "Carried (window open)"
        default: sentence(raw)
        }
    }

    /// A resolution kind in words.
    public static func resolution(_ kind: ResolutionKind) -> String {
        switch kind {
        case .writtenOff: "Written off"
        case .refunded: "Refunded"
        case .providerCorrected: "Provider corrected"
        case .ledgerCorrected: "Ledger corrected"
        case .notAnError: "Not an error"
        }
    }

    /// What each resolution does, shown beside the choice.
    public static func resolutionEffect(_ kind: ResolutionKind) -> String {
        switch kind {
        case .writtenOff: "moves the difference from the clearing account to the write-off expense account"
        case .refunded: "the customer was refunded; nothing more is posted"
        case .providerCorrected: "clears the line at the provider's corrected amount"
        case .ledgerCorrected: "corrects the ledger to the provider's amount and clears the line"
        case .notAnError: "records that nothing is wrong; nothing is posted"
        }
    }

    /// `resolved` as "Resolved".
    public static func state(_ state: MismatchState) -> String { sentence(state.rawValue) }

    /// `snake_case` as a sentence: "Snake case".
    static func sentence(_ raw: String) -> String {
        let words = raw.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }
}
