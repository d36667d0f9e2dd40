import LedgerCore

/// Reads JSON objects with the rules every body and line shares: a field the reader does not
/// know is refused (a misspelt field must not silently become a default), a field named twice is
/// refused (the last must not silently win), and `null` is the same as leaving the field out.
public struct JSONObjectReader: Sendable {
    /// What the object is, for messages: `a transfer`, `a batch`.
    public let what: String
    /// The object's place in the body, prefixed to its fields in messages: `transfers[3].`.
    public let place: String
    /// The fields the object may have.
    public let known: [String]

    public init(what: String, place: String = "", known: [String]) {
        precondition(known.count <= 64, "a reader tracks at most 64 fields")
        self.what = what
        self.place = place
        self.known = known
    }

    /// Reads the object at `scanner`, calling `member` with each field whose value is not `null`,
    /// positioned at the value, which `member` must read.
    public func read(_ scanner: inout JSONScanner, _ member: (inout JSONScanner, String) throws -> Void) throws {
        guard try scanner.peekKind() == .object else {
            try scanner.skipValue()
            let field = place.isEmpty ? nil : String(place.dropLast())
            throw JSONInputError(.invalidField, field: field, "\(field ?? what) must be a JSON object")
        }
        var seen: UInt64 = 0
        try scanner.readObject { (scanner: inout JSONScanner, key: String) throws in
            guard let position = known.firstIndex(of: key) else { throw unknown(key) }
            let bit: UInt64 = 1 << UInt64(position)
            guard seen & bit == 0 else {
                throw JSONInputError(
                    .duplicateField, field: place + key, "\(what) names the field \"\(place)\(key)\" more than once")
            }
            seen |= bit
            if try scanner.readNull() { return }
            try member(&scanner, key)
        }
    }

    /// The error for a field the object does not have.
    public func unknown(_ key: String) -> JSONInputError {
        JSONInputError(
            .unknownField, field: place + key,
            "\(what) has no field \"\(place)\(key)\" (known: \(known.sorted().joined(separator: ", ")))")
    }

    /// The error for a required field left out (or `null`).
    public func missing(_ key: String) -> JSONInputError {
        JSONInputError(.missingField, field: place + key, "\(what) needs the field \"\(place)\(key)\"")
    }

    /// `value`, or the missing-field error for `key`.
    public func required<T>(_ value: T?, _ key: String) throws(JSONInputError) -> T {
        guard let value else { throw missing(key) }
        return value
    }
}

/// Whole documents.
public enum JSONInput {
    /// Reads `bytes`, which must be exactly one JSON value, with `read`. Text that is not JSON, or
    /// nests deeper than `JSONScanner.maximumDepth`, is `malformed` whatever `read` found wrong
    /// first, so that one body always gets the same answer.
    public static func read<T>(_ bytes: [UInt8], what: String, _ read: (inout JSONScanner) throws -> T) throws -> T {
        var scanner = JSONScanner(bytes)
        do {
            let value = try read(&scanner)
            try scanner.expectEnd()
            return value
        } catch let malformed as JSONScanner.Malformed {
            throw Self.malformed(malformed, what: what)
        } catch {
            var check = JSONScanner(bytes)
            do {
                try check.skipValue()
                try check.expectEnd()
            } catch let malformed as JSONScanner.Malformed {
                throw Self.malformed(malformed, what: what)
            }
            throw error
        }
    }

    /// The longest part of a value that messages repeat back.
    public static let maximumEchoCharacters = 64

    /// `text` as messages quote it: at most `maximumEchoCharacters` characters, so that an answer
    /// never repeats a long value back.
    public static func echo(_ text: String) -> String {
        guard text.utf8.count > maximumEchoCharacters else { return text }
        let kept = text.prefix(maximumEchoCharacters)
        return kept.count < text.count ? kept + "…" : text
    }

    static func malformed(_ error: JSONScanner.Malformed, what: String) -> JSONInputError {
        JSONInputError(.malformed, field: nil, "\(what) is not valid JSON: \(error.reason) (at byte \(error.offset))")
    }
}

/// An amount as JSON carries it: a decimal string in major units (`"1,234.50"`) or a whole number
/// of major units (`1234`), kept as text until the currency it will be posted in is known.
public struct AmountInput: Sendable, Equatable {
    /// The amount's text: the string, or the whole number's digits.
    public let text: String
    /// The field it was read from, for messages.
    public let field: String

    public init(text: String, field: String) {
        self.text = text
        self.field = field
    }

    /// Minor units at `currency`'s scale, or an `invalid-amount` error naming the field, the
    /// text, the currency and the rule it breaks.
    public func minor(in currency: Currency) throws(JSONInputError) -> UInt64 {
        do {
            return try Amount.parse(text, currency: currency).minorUnits
        } catch {
            throw JSONInputError(
                .invalidAmount, field: field,
                "\(field) \"\(JSONInput.echo(text))\" is not an amount in \(currency.code): \(error.reason)")
        }
    }
}

extension JSONScanner {
    private func wrongType(_ field: String, _ rule: String) -> JSONInputError {
        JSONInputError(.invalidField, field: field, "\(field) must be \(rule)")
    }

    /// A string.
    public mutating func text(field: String) throws -> String {
        do { return try readString() } catch is WrongType { throw wrongType(field, "a string") }
    }

    /// A whole number in `range`: digits, optionally with a fraction of zeros (`368.0`, which
    /// JSON Schema counts as an integer too). `-1`, `1.5`, `1e3` and numbers out of the range are
    /// refused with the value and the range. (Amounts are stricter: see `amount(field:)`.)
    public mutating func whole(field: String, in range: ClosedRange<UInt64>) throws -> UInt64 {
        let rule = "a whole number from \(range.lowerBound) to \(range.upperBound)"
        let text: String
        do { text = try readNumberText() } catch is WrongType { throw wrongType(field, rule) }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits = parts[0]
        let zeroFraction = parts.count == 1 || parts[1].allSatisfy { $0 == "0" }
        guard digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), zeroFraction,
            let value = UInt64(digits), range.contains(value)
        else {
            throw JSONInputError(.invalidField, field: field, "\(field) must be \(rule), not \(JSONInput.echo(text))")
        }
        return value
    }

    /// An amount: a string, or a JSON number of digits only. A number with a sign, a fraction or
    /// an exponent (`-5`, `5.0`, `5e0`) is refused: it would pass through floating point in most
    /// clients, and `99.99999999999999999` is not the amount anyone meant.
    public mutating func amount(field: String) throws -> AmountInput {
        switch try peekKind() {
        case .string: return AmountInput(text: try readString(), field: field)
        case .number:
            let text = try readNumberText()
            guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw JSONInputError(
                    .invalidAmount, field: field,
                    "\(field) \(JSONInput.echo(text)) is a JSON number with a sign, a fraction or an exponent; "
                        + "send amounts as "
                        + "decimal strings (\"5.00\") or whole numbers (5)")
            }
            return AmountInput(text: text, field: field)
        default:
            try skipValue()
            throw JSONInputError(
                .invalidAmount, field: field,
                "\(field) must be a decimal string such as \"1000.00\" or a whole number such as 1000")
        }
    }

    /// An id: a string holding a canonical decimal id.
    public mutating func id(field: String) throws -> UInt128 {
        let text = try self.text(field: field)
        guard let id = TextRules.id(text) else {
            throw JSONInputError(
                .invalidId, field: field, "\(field) \"\(JSONInput.echo(text))\" is not an id: \(TextRules.idRule)")
        }
        return id
    }

    /// A transfer reference (1 to 32 bytes, no control characters).
    public mutating func reference(field: String) throws -> TransferReference {
        let text = try self.text(field: field)
        if let problem = TextRules.referenceProblem(text) {
            throw JSONInputError(.invalidReference, field: field, "\(field) \"\(JSONInput.echo(text))\": \(problem)")
        }
        // Safe: the rules above are stricter than the reference's own.
        return TransferReference(text)!
    }

    /// An account key (1 to 64 bytes, no control characters, no blanks at either end).
    public mutating func accountKey(field: String) throws -> String {
        let text = try self.text(field: field)
        if let problem = TextRules.accountKeyProblem(text) {
            throw JSONInputError(.invalidAccountKey, field: field, "\(field): \(problem)")
        }
        return text
    }

    /// A business code, 0...65535.
    public mutating func code(field: String) throws -> UInt16 {
        UInt16(try whole(field: field, in: 0...UInt64(UInt16.max)))
    }

    /// A hold's payment window in seconds, 0...2^32 - 1.
    public mutating func timeoutSeconds(field: String) throws -> UInt32 {
        UInt32(try whole(field: field, in: 0...UInt64(UInt32.max)))
    }

    /// The most names a list of flags may hold (repeats included).
    public static let maximumFlagNames = 8

    /// Transfer flags by name (`["pending"]`); an unknown name is refused with the known ones.
    public mutating func transferFlags(field: String) throws -> TransferFlags {
        try flags(field: field, TransferFlags.names, kind: "transfer")
    }

    /// Account flags by name (`["debitsMustNotExceedCredits"]`).
    public mutating func accountFlags(field: String) throws -> AccountFlags {
        try flags(field: field, AccountFlags.names, kind: "account")
    }

    private mutating func flags<Flags: OptionSet>(
        field: String, _ table: [(name: String, flag: Flags)], kind: String
    ) throws -> Flags where Flags.Element == Flags {
        var flags: Flags = []
        for (index, name) in try textList(field: field, maximumCount: Self.maximumFlagNames).enumerated() {
            guard let flag = table.first(where: { $0.name == name })?.flag else {
                throw JSONInputError(
                    .unknownFlag, field: "\(field)[\(index)]",
                    "\(field)[\(index)]: no \(kind) flag \"\(JSONInput.echo(name))\" (known: "
                        + table.map(\.name).joined(separator: ", ") + ")")
            }
            flags.insert(flag)
        }
        return flags
    }

    /// An array of at most `maximumCount` strings.
    public mutating func textList(field: String, maximumCount: Int) throws -> [String] {
        guard try peekKind() == .array else {
            try skipValue()
            throw wrongType(field, "an array of strings")
        }
        var list: [String] = []
        try readArray { (scanner: inout JSONScanner, index: Int) throws in
            guard index < maximumCount else {
                throw JSONInputError(.invalidField, field: field, "\(field) holds at most \(maximumCount) entries")
            }
            list.append(try scanner.text(field: "\(field)[\(index)]"))
        }
        return list
    }
}
