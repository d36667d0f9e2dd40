/// A small, strict JSON reader (RFC 8259) over a body's bytes, used for every body and line that
/// Khata reads: Foundation's `JSONDecoder` spent more time than everything else the server does on
/// the hot routes, let the last of two equal keys win, read numbers through `Double`, and had no
/// nesting limit we could set. Objects and arrays nest at most `maximumDepth` levels, so no body
/// can exhaust the stack; everything else a body's own rules decide (`JSONObjectReader`).
public struct JSONScanner {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var index = 0
    private var depth = 0

    /// Objects and arrays inside each other, counting the outermost: deeper text is refused.
    public static let maximumDepth = 64

    /// Why the text is not JSON (or nests too deep), and the byte offset where that was found.
    public struct Malformed: Error, Sendable {
        public let reason: String
        public let offset: Int
    }

    /// A value of another JSON type than the reader asked for; the value has been passed over.
    public struct WrongType: Error, Sendable {
        public init() {}
    }

    public enum Kind: Sendable { case object, array, string, number, bool, null }

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r"), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    private func malformed(_ reason: String) -> Malformed { Malformed(reason: reason, offset: index) }

    public mutating func skipWhitespace() {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == Self.space || byte == Self.newline || byte == Self.carriageReturn || byte == Self.tab else {
                return
            }
            index += 1
        }
    }

    /// The kind of the next value, after white space.
    public mutating func peekKind() throws(Malformed) -> Kind {
        skipWhitespace()
        guard index < bytes.count else { throw malformed("the text ends where a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case Self.quote: return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw malformed("a value cannot begin with this byte")
        }
    }

    /// Consumes `byte` after white space, or throws.
    public mutating func expect(_ byte: UInt8) throws(Malformed) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw malformed("expected \"\(Character(Unicode.Scalar(byte)))\"")
        }
        index += 1
    }

    /// Consumes `byte` after white space when it is next.
    public mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func enter() throws(Malformed) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw malformed("objects and arrays nest deeper than \(Self.maximumDepth) levels")
        }
    }

    /// Calls `member` with each key of an object, positioned at its value; `member` must read the
    /// value (or throw). Keys are passed as written: refusing repeated keys is the caller's rule.
    public mutating func readObject<E: Error>(_ member: (inout JSONScanner, String) throws(E) -> Void) throws {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
        if consume(UInt8(ascii: "}")) { return }
        repeat {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == Self.quote else { throw malformed("expected a key in quotes") }
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Calls `element` for each element of an array, positioned at it, with its index.
    public mutating func readArray<E: Error>(_ element: (inout JSONScanner, Int) throws(E) -> Void) throws {
        try expect(UInt8(ascii: "["))
        try enter()
        defer { depth -= 1 }
        if consume(UInt8(ascii: "]")) { return }
        var position = 0
        repeat {
            try element(&self, position)
            position += 1
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    /// True (and consumed) when the next value is `null`.
    public mutating func readNull() throws(Malformed) -> Bool {
        guard try peekKind() == .null else { return false }
        try literal("null")
        return true
    }

    /// A string value; `WrongType` when the value is valid JSON of another type.
    public mutating func readString() throws -> String {
        let kind = try peekKind()
        guard kind == .string else {
            try skipValue()
            throw WrongType()
        }
        index += 1
        let start = index
        // The common case: no escapes, then the bytes are the string.
        while index < bytes.count, bytes[index] != Self.quote, bytes[index] != Self.backslash, bytes[index] >= 0x20 {
            index += 1
        }
        guard index < bytes.count else { throw malformed("a string is not closed") }
        if bytes[index] == Self.quote {
            guard let text = String(validating: bytes[start..<index], as: UTF8.self) else {
                throw Malformed(reason: "a string is not valid UTF-8", offset: start)
            }
            index += 1
            return text
        }
        var text = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw malformed("a string is not closed") }
            let byte = bytes[index]
            guard byte >= 0x20 else { throw malformed("a control character must be escaped inside a string") }
            index += 1
            if byte == Self.quote { break }
            guard byte == Self.backslash else {
                text.append(byte)
                continue
            }
            try readEscape(into: &text)
        }
        guard let string = String(validating: text, as: UTF8.self) else {
            throw Malformed(reason: "a string is not valid UTF-8", offset: start)
        }
        return string
    }

    /// The escape after a backslash, appended to `text` as UTF-8.
    private mutating func readEscape(into text: inout [UInt8]) throws(Malformed) {
        guard index < bytes.count else { throw malformed("a string is not closed") }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case Self.quote, Self.backslash, UInt8(ascii: "/"): text.append(escaped)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard index + 1 < bytes.count, bytes[index] == Self.backslash, bytes[index + 1] == UInt8(ascii: "u")
                else { throw malformed("a high surrogate escape is not followed by a low one") }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw malformed("a high surrogate escape is not followed by a low one")
                }
                scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw malformed("a lone surrogate escape") }
            text.append(contentsOf: Array(String(Character(unicode)).utf8))
        default: throw malformed("an unknown escape in a string")
        }
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A number exactly as written (`-1.5e3`), checked against the JSON grammar but never
    /// converted through floating point; `WrongType` for a value of another type.
    public mutating func readNumberText() throws -> String {
        guard try peekKind() == .number else {
            try skipValue()
            throw WrongType()
        }
        let start = index
        try skipNumber()
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Passes over one value of any kind, checking that it is JSON.
    public mutating func skipValue() throws {
        switch try peekKind() {
        case .object: try readObject { (scanner: inout JSONScanner, _: String) throws in try scanner.skipValue() }
        case .array: try readArray { (scanner: inout JSONScanner, _: Int) throws in try scanner.skipValue() }
        case .string: _ = try readString()
        case .number: try skipNumber()
        case .bool: try literal(bytes[index] == UInt8(ascii: "t") ? "true" : "false")
        case .null: try literal("null")
        }
    }

    /// The end of the text: only white space may follow the value.
    public mutating func expectEnd() throws(Malformed) {
        skipWhitespace()
        guard index == bytes.count else { throw malformed("text follows the value") }
    }

    /// Reads `true` or `false`; `WrongType` for another value.
    public mutating func readBool() throws -> Bool {
        guard try peekKind() == .bool else {
            try skipValue()
            throw WrongType()
        }
        let value = bytes[index] == UInt8(ascii: "t")
        try literal(value ? "true" : "false")
        return value
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw malformed("an unknown word") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw malformed("an unknown word")
        }
        index += count
    }

    /// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func skipNumber() throws(Malformed) {
        func digits(_ scanner: inout JSONScanner) -> Int {
            let start = scanner.index
            while scanner.index < scanner.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scanner.bytes[scanner.index])
            {
                scanner.index += 1
            }
            return scanner.index - start
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw malformed("a number has no digits") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits(&self) > 0 else { throw malformed("a number has no digits") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw malformed("a number has no digits after its point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw malformed("a number's exponent has no digits") }
        }
    }
}
