/// How a file writes its numbers: the decimal separator and the thousands separator, if any.
public struct DecimalStyle: Sendable, Equatable {
    public var decimalSeparator: UInt8
    public var groupingSeparator: UInt8?

    public init(decimalSeparator: UInt8, groupingSeparator: UInt8?) {
        precondition(decimalSeparator != groupingSeparator, "the two separators differ")
        self.decimalSeparator = decimalSeparator
        self.groupingSeparator = groupingSeparator
    }

    /// `1,250.00`: what the three providers' files write.
    public static let pointDecimals = DecimalStyle(
        decimalSeparator: UInt8(ascii: "."), groupingSeparator: UInt8(ascii: ","))
}

/// What to do with a digit below the currency's minor unit (`10.005` in BDT).
public enum SubunitRounding: String, Sendable, Equatable {
    /// The line is refused: a provider that writes money below a poisha is not understood.
    case reject
    /// Rounded half-even to the minor unit, and the rounding recorded on the line; only where the
    /// provider documents such amounts (SSLCommerz's `store_amount`).
    case halfEven
}

/// An amount read exactly from a settlement file: minor units, the sign it was written with, and
/// whether digits below the minor unit were rounded away.
public struct DecimalAmount: Equatable, Sendable {
    /// The magnitude in minor units.
    public var minor: Int64
    public var isNegative: Bool
    /// True when non-zero digits below the minor unit were rounded half-even.
    public var wasRounded: Bool

    public init(minor: Int64, isNegative: Bool, wasRounded: Bool) {
        self.minor = minor
        self.isNegative = isNegative
        self.wasRounded = wasRounded
    }

    /// The signed value in minor units.
    public var signedMinor: Int64 { isNegative ? -minor : minor }

    /// Reads `field` as an amount with `scale` decimals. Accepted: blanks around it, a sign (`-`,
    /// `+`, or accounting parentheses), the taka sign `৳` before or after the sign, digits grouped
    /// by the style's separator in threes or the South Asian way (`12,50,000`), and decimals;
    /// decimals past `scale` must be zeros unless `rounding` says otherwise. No floating point:
    /// digits become integers one by one. Answers the amount, or why not (a phrase, without the
    /// text; callers quote it).
    public static func parse(
        _ field: UnsafeBufferPointer<UInt8>, scale: Int, style: DecimalStyle = .pointDecimals,
        rounding: SubunitRounding = .reject
    ) -> Result<DecimalAmount, AmountProblem> {
        if let plain = plain(field, scale: scale, decimalSeparator: style.decimalSeparator) {
            return .success(DecimalAmount(minor: plain, isNegative: false, wasRounded: false))
        }
        var start = 0
        var end = field.count
        // Blanks around the number: spaces, tabs, and a no-break space (C2 A0) as spreadsheets write.
        while start < end {
            if field[start] == 0x20 || field[start] == 0x09 {
                start += 1
            } else if field[start] == 0xC2 && start + 1 < end && field[start + 1] == 0xA0 {
                start += 2
            } else {
                break
            }
        }
        while end > start {
            if field[end - 1] == 0x20 || field[end - 1] == 0x09 {
                end -= 1
            } else if end - 2 >= start && field[end - 2] == 0xC2 && field[end - 1] == 0xA0 {
                end -= 2
            } else {
                break
            }
        }
        guard start < end else { return .failure(.empty) }
        var negative = false
        func skipTakaSign() {
            // ৳ is E0 A7 B3 in UTF-8.
            if end - start >= 3 && field[start] == 0xE0 && field[start + 1] == 0xA7 && field[start + 2] == 0xB3 {
                start += 3
                while start < end && field[start] == 0x20 { start += 1 }
            }
        }
        skipTakaSign()
        if start < end && (field[start] == UInt8(ascii: "-") || field[start] == UInt8(ascii: "+")) {
            negative = field[start] == UInt8(ascii: "-")
            start += 1
            skipTakaSign()
        } else if start < end && field[start] == UInt8(ascii: "(") {
            guard field[end - 1] == UInt8(ascii: ")") else { return .failure(.unbalancedParenthesis) }
            negative = true
            start += 1
            end -= 1
            skipTakaSign()
        }
        guard start < end else { return .failure(.noDigits) }
        var minor: Int64 = 0
        var wholeDigits = 0
        var digitsInGroup = 0
        var groupsEnded = 0
        var firstGroup = 0
        // Groups between the first and the last: threes (1,250,000) or, the South Asian way,
        // twos (12,50,000: lakh and crore); never both.
        var sawMiddleTwo = false
        var sawMiddleThree = false
        var index = start
        // The whole part.
        while index < end {
            let byte = field[index]
            if byte >= 48 && byte <= 57 {
                let (times10, overflowA) = minor.multipliedReportingOverflow(by: 10)
                let (next, overflowB) = times10.addingReportingOverflow(Int64(byte - 48))
                guard !overflowA, !overflowB else { return .failure(.tooLarge) }
                minor = next
                wholeDigits += 1
                digitsInGroup += 1
                index += 1
            } else if let grouping = style.groupingSeparator, byte == grouping {
                if groupsEnded == 0 {
                    guard (1...3).contains(digitsInGroup) else { return .failure(.badGrouping) }
                    firstGroup = digitsInGroup
                } else if digitsInGroup == 2 {
                    sawMiddleTwo = true
                } else if digitsInGroup == 3 {
                    sawMiddleThree = true
                } else {
                    return .failure(.badGrouping)
                }
                groupsEnded += 1
                digitsInGroup = 0
                index += 1
            } else {
                break
            }
        }
        if groupsEnded > 0 {
            let lakhStyle = sawMiddleTwo && !sawMiddleThree && firstGroup <= 2
            guard digitsInGroup == 3, !sawMiddleTwo || lakhStyle else { return .failure(.badGrouping) }
        }
        guard wholeDigits > 0 else {
            if index < end && field[index] == style.decimalSeparator { return .failure(.noDigitsBeforePoint) }
            return .failure(.unexpected(index < end ? field[index] : 0))
        }
        var wasRounded = false
        var fractionDigits = 0
        if index < end && field[index] == style.decimalSeparator {
            index += 1
            let fractionStart = index
            while index < end && field[index] >= 48 && field[index] <= 57 { index += 1 }
            let fractionEnd = index
            guard fractionEnd > fractionStart else { return .failure(.noDigitsAfterPoint) }
            fractionDigits = fractionEnd - fractionStart
            let kept = min(fractionDigits, scale)
            for position in fractionStart..<(fractionStart + kept) {
                let (times10, overflowA) = minor.multipliedReportingOverflow(by: 10)
                let (next, overflowB) = times10.addingReportingOverflow(Int64(field[position] - 48))
                guard !overflowA, !overflowB else { return .failure(.tooLarge) }
                minor = next
            }
            if fractionDigits > scale {
                // Digits below the minor unit: zeros are exact; anything else rounds or refuses.
                let dropped = UnsafeBufferPointer(rebasing: field[(fractionStart + scale)..<fractionEnd])
                if dropped.contains(where: { $0 != 48 }) {
                    guard rounding == .halfEven else { return .failure(.belowMinorUnit(scale: scale)) }
                    wasRounded = true
                    if roundsUp(dropped, keptIsOdd: minor & 1 == 1) {
                        let (next, overflow) = minor.addingReportingOverflow(1)
                        guard !overflow else { return .failure(.tooLarge) }
                        minor = next
                    }
                }
            }
        }
        if index < end {
            let byte = field[index]
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return .failure(.exponent) }
            if byte == style.decimalSeparator { return .failure(.secondPoint) }
            return .failure(.unexpected(byte))
        }
        for _ in min(fractionDigits, scale)..<scale {
            let (times10, overflow) = minor.multipliedReportingOverflow(by: 10)
            guard !overflow else { return .failure(.tooLarge) }
            minor = times10
        }
        return .success(DecimalAmount(minor: minor, isNegative: negative && minor != 0, wasRounded: wasRounded))
    }

    /// The common form, read in one tight loop: 1 to 15 digits, then the separator and exactly
    /// `scale` digits (or none when the scale is 0). Nil for anything else, which the general
    /// reader then reads (or refuses), so this accepts nothing it would not, with the same value.
    @inline(__always)
    static func plain(_ field: UnsafeBufferPointer<UInt8>, scale: Int, decimalSeparator: UInt8) -> Int64? {
        let count = field.count
        let wholeDigits = scale == 0 ? count : count - scale - 1
        guard wholeDigits >= 1, wholeDigits <= 15 else { return nil }
        if scale > 0 && field[wholeDigits] != decimalSeparator { return nil }
        var value: Int64 = 0
        for index in 0..<wholeDigits {
            let digit = field[index] &- 48
            guard digit < 10 else { return nil }
            value = value &* 10 &+ Int64(digit)
        }
        if scale > 0 {
            for index in (wholeDigits + 1)..<count {
                let digit = field[index] &- 48
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int64(digit)
            }
        }
        return value
    }

    /// Half-even: up when the dropped digits are more than half a unit, or exactly half and the
    /// kept part is odd.
    private static func roundsUp(_ dropped: UnsafeBufferPointer<UInt8>, keptIsOdd: Bool) -> Bool {
        let first = dropped[0]
        if first > 53 { return true }
        if first < 53 { return false }
        let restIsZero = dropped.dropFirst().allSatisfy { $0 == 48 }
        return restIsZero ? keptIsOdd : true
    }

    /// Writes `minor` in major units with `scale` decimals, as the providers do (`1250.00`,
    /// `-3.5` never: always every decimal).
    public static func format(_ minor: Int64, scale: Int) -> String {
        let negative = minor < 0
        let magnitude = minor.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = String(magnitude / divisor)
        var text = negative ? "-" + whole : whole
        if scale > 0 {
            let fraction = String(magnitude % divisor)
            text += "." + String(repeating: "0", count: scale - fraction.count) + fraction
        }
        return text
    }
}

/// Why a field is not an amount.
public enum AmountProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case noDigits
    case noDigitsBeforePoint
    case noDigitsAfterPoint
    case secondPoint
    case badGrouping
    case exponent
    case unbalancedParenthesis
    case tooLarge
    case belowMinorUnit(scale: Int)
    case unexpected(UInt8)

    public var description: String {
        switch self {
        case .empty: "the amount is empty"
        case .noDigits: "there are no digits"
        case .noDigitsBeforePoint: "digits are needed before the decimal point"
        case .noDigitsAfterPoint: "digits are needed after the decimal point"
        case .secondPoint: "there is more than one decimal point"
        case .badGrouping:
            "thousands separators must separate groups of three digits (1,250,000) or, before the last three, of "
                + "two (12,50,000)"
        case .exponent: "exponents are not allowed: write the amount in full"
        case .unbalancedParenthesis: "an opening parenthesis has no closing one"
        case .tooLarge: "the amount is too large"
        case .belowMinorUnit(let scale):
            "a non-zero digit below the minor unit (the currency has \(scale) decimal places)"
        case .unexpected(let byte):
            byte >= 0x21 && byte <= 0x7E
                ? "\"\(Character(Unicode.Scalar(byte)))\" is not allowed in an amount"
                : "byte 0x\(String(byte, radix: 16, uppercase: true)) is not allowed in an amount"
        }
    }
}
