/// A non-negative amount of money in a currency's minor unit (poisha for BDT). Integer only:
/// no floating point anywhere on a money path.
public struct Amount: Hashable, Comparable, Sendable {
    /// The amount in minor units.
    public let minorUnits: UInt64

    public init(minorUnits: UInt64) { self.minorUnits = minorUnits }

    public static let zero = Amount(minorUnits: 0)

    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.minorUnits < rhs.minorUnits }

    /// `self + other`, or nil on overflow.
    public func adding(_ other: Amount) -> Amount? {
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        return overflow ? nil : Amount(minorUnits: sum)
    }

    /// `self - other`, or nil when it would go below zero.
    public func subtracting(_ other: Amount) -> Amount? {
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        return overflow ? nil : Amount(minorUnits: difference)
    }

    /// Parses a decimal amount in major units exactly, in its one written form: ASCII digits,
    /// optionally grouped by commas in threes, optionally one point and decimals, optionally right
    /// after the currency's sign: `"1234"`, `"1,234.50"`, `"1234.5"`, `"৳1,234.50"`. Decimals
    /// beyond the currency's scale must be zeros (`"9.7500"`). Signs, blanks (a non-breaking space
    /// too), currency codes, exponents and anything else are refused with a reason that names what
    /// was found.
    public static func parse(_ text: String, currency: Currency) throws(AmountError) -> Amount {
        if let amount = parsePlain(text, scale: Int(currency.scale)) { return amount }
        return try parseWritten(text, currency: currency)
    }

    /// The rule every refusal repeats, so that the message and the parser say the same.
    static func rule(_ currency: Currency) -> String {
        let sign = currency.symbol.map { ", optionally right after \($0)" } ?? ""
        return "an amount is digits 0-9, optionally grouped by commas in threes, with at most one decimal point"
            + sign
    }

    /// The common case without a character to interpret: ASCII digits, then optionally a point
    /// and 1 to `scale` digits. Nil for anything else (which `parseWritten` then reads, or
    /// refuses with its reason), so it accepts nothing `parseWritten` would not, with the same
    /// value.
    static func parsePlain(_ text: String, scale: Int) -> Amount? {
        var minor: UInt64 = 0
        var wholeDigits = 0
        var fractionDigits = -1
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard fractionDigits < 0, wholeDigits > 0 else { return nil }
                fractionDigits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if fractionDigits >= 0 {
                fractionDigits += 1
                guard fractionDigits <= scale else { return nil }
            } else {
                wholeDigits += 1
            }
            let (times10, overflowA) = minor.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            minor = next
        }
        guard wholeDigits > 0, fractionDigits != 0 else { return nil }
        for _ in max(fractionDigits, 0)..<scale {
            let (times10, overflow) = minor.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            minor = times10
        }
        return Amount(minorUnits: minor)
    }

    /// The forms `parsePlain` leaves: grouping and the currency's sign, and every refusal.
    static func parseWritten(_ text: String, currency: Currency) throws(AmountError) -> Amount {
        guard !text.isEmpty else { throw AmountError(text, "the amount is empty") }
        var body = Substring(text)
        if body.first == "-" || body.first == "−" || body.first == "(" {
            throw AmountError(text, "negative amounts are not allowed; a refund or reversal is its own transfer")
        }
        if body.first == "+" { throw AmountError(text, "a sign is not allowed") }
        if let symbol = currency.symbol, body.hasPrefix(symbol) {
            body = body.dropFirst(symbol.count)
            guard !body.isEmpty else { throw AmountError(text, "there are no digits after \(symbol)") }
            if body.first == "-" { throw AmountError(text, "negative amounts are not allowed") }
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw AmountError(text, "more than one decimal point") }
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        let wholeDigits = try groupedDigits(whole, text: text, currency: currency)
        guard !whole.isEmpty else { throw AmountError(text, "digits are needed before the decimal point") }
        if parts.count == 2 && fraction.isEmpty {
            throw AmountError(text, "digits are needed after the decimal point")
        }
        if let other = fraction.first(where: { !$0.isASCIIDigit }) {
            throw AmountError(text, "the decimals may hold only digits 0-9, not \(Self.describe(other))")
        }
        let scale = Int(currency.scale)
        let kept = fraction.prefix(scale)
        guard fraction.dropFirst(scale).allSatisfy({ $0 == "0" }) else {
            throw AmountError(text, "\(currency.code) has \(scale) decimal places; \(fraction.count) were given")
        }
        var minor: UInt64 = 0
        for character in wholeDigits + kept + String(repeating: "0", count: scale - kept.count) {
            // Safe: every character was checked to be an ASCII digit above.
            let digit = UInt64(character.asciiValue! - 48)
            let (times10, overflowA) = minor.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = times10.addingReportingOverflow(digit)
            if overflowA || overflowB { throw AmountError(text, "the amount is too large") }
            minor = next
        }
        return Amount(minorUnits: minor)
    }

    /// A character as a message names it: printable ones quoted, others by code point.
    static func describe(_ character: Character) -> String {
        // Safe: a Character holds at least one scalar.
        let scalar = character.unicodeScalars.first!
        if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control || scalar.value > 0x7E {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return scalar.properties.isWhitespace ? "a blank (\(code))" : code
        }
        return "\"\(character)\""
    }

    /// The digits of the whole part, with thousands separators checked and removed.
    private static func groupedDigits(_ whole: Substring, text: String, currency: Currency) throws(AmountError)
        -> String
    {
        if let other = whole.first(where: { !$0.isASCIIDigit && $0 != "," }) {
            throw AmountError(text, "\(Self.describe(other)) is not allowed: \(rule(currency))")
        }
        if !whole.contains(",") { return String(whole) }
        let groups = whole.split(separator: ",", omittingEmptySubsequences: false)
        for (index, group) in groups.enumerated() {
            let valid = index == 0 ? (1...3).contains(group.count) : group.count == 3
            if !valid { throw AmountError(text, "thousands separators must separate groups of three digits") }
        }
        return groups.joined()
    }

    /// Formats in major units with the currency's scale: `"1,234.50"` (grouped) or `"1234.50"`.
    /// The amount as a person reads it: `৳1,500.00` for taka, `USD 12.50` for any other currency.
    public func shown(in currency: Currency) -> String {
        currency.code == "BDT" ? "৳" + formatted(currency) : currency.code + " " + formatted(currency)
    }

    public func formatted(_ currency: Currency, grouping: Bool = true) -> String {
        let divisor = currency.minorPerMajor
        var whole = String(minorUnits / divisor)
        if grouping && whole.count > 3 {
            var grouped = ""
            for (index, character) in whole.enumerated() {
                if index > 0 && (whole.count - index) % 3 == 0 { grouped.append(",") }
                grouped.append(character)
            }
            whole = grouped
        }
        guard currency.scale > 0 else { return whole }
        let fraction = String(minorUnits % divisor)
        return whole + "." + String(repeating: "0", count: Int(currency.scale) - fraction.count) + fraction
    }
}

/// Why a text is not an amount: the text and the reason, both shown to whoever sent it.
public struct AmountError: Error, Equatable, Sendable, CustomStringConvertible {
    public let text: String
    public let reason: String

    init(_ text: String, _ reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\"\(text)\" is not a valid amount: \(reason)" }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 48 && $0 <= 57 } ?? false }
}
