/// An ISO 4217 currency: its alphabetic code, numeric code and minor-unit scale (the number of
/// decimal places of its minor unit: 2 for BDT, whose minor unit is the poisha).
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// The three-letter code, e.g. `BDT`.
    public let code: String
    /// The ISO 4217 numeric code, e.g. 50 for BDT; what the log stores.
    public let numericCode: UInt16
    /// Decimal places of the minor unit (0...4).
    public let scale: UInt8

    public var description: String { code }

    /// 10^scale: minor units per major unit.
    public var minorPerMajor: UInt64 {
        var value: UInt64 = 1
        for _ in 0..<scale { value *= 10 }
        return value
    }

    /// The currency with this alphabetic code (case-insensitive), if Khata knows it.
    public init?(code: String) {
        let upper = code.uppercased()
        guard let entry = Currency.table.first(where: { $0.0 == upper }) else { return nil }
        self.init(code: entry.0, numericCode: entry.1, scale: entry.2)
    }

    /// The currency with this numeric code, if Khata knows it.
    public init?(numericCode: UInt16) {
        guard let entry = Currency.table.first(where: { $0.1 == numericCode }) else { return nil }
        self.init(code: entry.0, numericCode: entry.1, scale: entry.2)
    }

    private init(code: String, numericCode: UInt16, scale: UInt8) {
        self.code = code
        self.numericCode = numericCode
        self.scale = scale
    }

    /// The ISO 4217 codes of every currency Khata accepts, in the table's order.
    public static var knownCodes: [String] { table.map(\.0) }

    /// Bangladeshi taka, the platform's currency.
    public static let bdt = Currency(code: "BDT", numericCode: 50, scale: 2)

    /// The symbol people write before amounts in this currency, if it has a distinct one.
    public var symbol: String? {
        switch code {
        case "BDT": return "৳"
        case "USD": return "$"
        case "EUR": return "€"
        case "GBP": return "£"
        case "INR": return "₹"
        case "JPY": return "¥"
        default: return nil
        }
    }

    /// ISO 4217 codes, numeric codes and minor-unit scales of the currencies Khata accepts:
    /// the region's, the major trading ones, and every scale ISO uses (0, 2, 3, 4).
    static let table: [(String, UInt16, UInt8)] = [
        ("BDT", 50, 2), ("USD", 840, 2), ("EUR", 978, 2), ("GBP", 826, 2), ("INR", 356, 2),
        ("PKR", 586, 2), ("NPR", 524, 2), ("LKR", 144, 2), ("BTN", 64, 2), ("MVR", 462, 2),
        ("MMK", 104, 2), ("CNY", 156, 2), ("HKD", 344, 2), ("SGD", 702, 2), ("MYR", 458, 2),
        ("THB", 764, 2), ("IDR", 360, 2), ("PHP", 608, 2), ("AUD", 36, 2), ("CAD", 124, 2),
        ("CHF", 756, 2), ("SEK", 752, 2), ("NOK", 578, 2), ("DKK", 208, 2), ("NZD", 554, 2),
        ("SAR", 682, 2), ("AED", 784, 2), ("QAR", 634, 2), ("TRY", 949, 2), ("ZAR", 710, 2),
        ("JPY", 392, 0), ("KRW", 410, 0), ("VND", 704, 0), ("ISK", 352, 0), ("CLP", 152, 0),
        ("XOF", 952, 0), ("XAF", 950, 0), ("UGX", 800, 0), ("PYG", 600, 0), ("RWF", 646, 0),
        ("KWD", 414, 3), ("BHD", 48, 3), ("OMR", 512, 3), ("JOD", 400, 3), ("IQD", 368, 3),
        ("LYD", 434, 3), ("TND", 788, 3), ("CLF", 990, 4), ("UYW", 927, 4),
    ]
}
