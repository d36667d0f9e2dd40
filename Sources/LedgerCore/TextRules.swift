/// The one written form of the ledger's ids and the rules for its texts, shared by every reader of
/// input (the HTTP API, the command line, files), so that one value has one spelling and a text
/// the ledger would refuse is refused at the boundary with a reason.
public enum TextRules {
    /// The most digits an id has: 2^128 - 1 has 39.
    public static let maximumIdDigits = 39

    /// The id written as `text` in canonical decimal (ASCII digits, no sign, no leading zero, no
    /// blanks, 1...2^128 - 1), or nil: `"+1"`, `"01"` and `" 1"` are not ids, so that one id has
    /// exactly one spelling in requests, logs and idempotency checks.
    public static func id(_ text: String) -> UInt128? {
        let utf8 = text.utf8
        guard let first = utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"),
            utf8.count <= maximumIdDigits
        else { return nil }
        var value: UInt128 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = times10.addingReportingOverflow(UInt128(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = next
        }
        return value
    }

    /// The sentence every reader gives for a text that is not an id.
    public static let idRule =
        "an id is a decimal number from 1 to 2^128 - 1 written without sign, blanks or leading zeros"

    /// Why `key` cannot be an account key, or nil when it can: 1 to 64 bytes of UTF-8, no control
    /// characters, no blanks at either end (a key is typed and compared byte for byte).
    public static func accountKeyProblem(_ key: String) -> String? {
        let bytes = key.utf8.count
        if bytes == 0 { return "an account key must not be empty" }
        if bytes > NewAccount.maximumKeyBytes {
            return "an account key holds at most \(NewAccount.maximumKeyBytes) bytes of UTF-8; this one has \(bytes)"
        }
        if let problem = controlProblem(key, what: "an account key") { return problem }
        if hasSurroundingBlanks(key) { return "an account key must not begin or end with a blank" }
        return nil
    }

    /// Why `text` cannot be a transfer reference, or nil when it can: 1 to 32 bytes of UTF-8, no
    /// control characters (a transfer without a reference leaves the field out).
    public static func referenceProblem(_ text: String) -> String? {
        let bytes = text.utf8.count
        if bytes == 0 { return "a reference must not be empty; leave the field out for none" }
        if bytes > TransferReference.maximumBytes {
            return "a reference holds at most \(TransferReference.maximumBytes) bytes of UTF-8; this one has \(bytes)"
        }
        return controlProblem(text, what: "a reference")
    }

    /// Why `text` holds a control character (C0, DEL, C1, line or paragraph separator), or nil.
    /// Format characters such as the zero-width joiner stay allowed: Bangla spelling needs them.
    public static func controlProblem(_ text: String, what: String) -> String? {
        for scalar in text.unicodeScalars where isControl(scalar) {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let code = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            return "\(what) must not hold control characters; it holds U+\(code)"
        }
        return nil
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    static func hasSurroundingBlanks(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        return first.properties.isWhitespace || last.properties.isWhitespace
    }
}
