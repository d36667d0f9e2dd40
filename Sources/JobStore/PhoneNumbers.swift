/// Phone numbers as contacts keep them: E.164 (`+8801712345678`), whatever form a booking
/// brought them in, and masked wherever a person reads them (logs, pages).
public enum PhoneNumbers {
    /// The country code a local number (one that begins with a single `0`) is given: Bangladesh.
    public static let defaultCountryCode = "880"

    /// `text` in E.164. Spaces, dashes, dots and parentheses between digits are dropped; `+CC…`
    /// and `00CC…` keep their country; a local number (`01712345678`) gets `countryCode` in
    /// place of its leading 0. Anything else (letters, too few or too many digits, a `+` inside)
    /// is refused with the reason.
    public static func e164(_ text: String, countryCode: String = defaultCountryCode) throws(ContactError)
        -> String
    {
        func refuse(_ reason: String) -> ContactError { ContactError(field: "phone", value: text, reason: reason) }
        var digits: [UInt8] = []
        var international = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "+") where index == 0: international = true
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"):
                continue
            default: throw refuse("may hold only digits, a leading +, spaces, dashes, dots and parentheses")
            }
        }
        if !international, digits.starts(with: Array("00".utf8)) {
            digits.removeFirst(2)
            international = true
        } else if !international {
            guard digits.first == UInt8(ascii: "0") else {
                throw refuse("must begin with + and a country code, 00, or a local 0")
            }
            digits = Array(countryCode.utf8) + digits.dropFirst()
        }
        guard (8...15).contains(digits.count), digits.first != UInt8(ascii: "0") else {
            throw refuse("must be 8 to 15 digits with the country code (E.164)")
        }
        let number = "+" + String(decoding: digits, as: UTF8.self)
        // Bangladeshi mobile numbers have one shape: +880 1[3-9] and eight more digits.
        if number.hasPrefix("+880") {
            let national = digits.dropFirst(3)
            guard national.count == 10, national.first == UInt8(ascii: "1"),
                (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(national.dropFirst().first ?? 0)
            else { throw refuse("is not a Bangladeshi mobile number (01[3-9] and eight more digits)") }
        }
        return number
    }

    /// `+8801712345678` as `+880171****678`: the country and operator prefix and the last three
    /// digits, enough to tell numbers apart in a log without giving one away.
    public static func masked(_ number: String) -> String {
        let characters = Array(number)
        guard characters.count > 9 else { return String(repeating: "*", count: characters.count) }
        let kept = characters.prefix(7)
        let tail = characters.suffix(3)
        return String(kept) + String(repeating: "*", count: characters.count - 10) + String(tail)
    }
}
