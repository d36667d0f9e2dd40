/// A small JSON reader for the hot request bodies (transfers and batches of up to 8,190 of
/// them), where Foundation's `JSONDecoder` and `Codable` spent more time than everything else the
/// server does together. It reads exactly JSON (RFC 8259); the bodies' own rules (known fields,
/// types, ranges) are checked by their readers, which give the same problems as the `Codable`
/// readers of the other bodies.
struct JSONScanner {
    private let bytes: [UInt8]
    private(set) var index = 0

    /// Why the text is not JSON; the reader turns it into `/problems/malformed-json`.
    struct Malformed: Error {}

    /// A value of another JSON type than the field takes.
    struct WrongType: Error {}

    enum Kind { case object, array, string, number, bool, null }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r"), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    mutating func skipWhitespace() {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == Self.space || byte == Self.newline || byte == Self.carriageReturn || byte == Self.tab else {
                return
            }
            index += 1
        }
    }

    /// The kind of the next value, after white space.
    mutating func peekKind() throws(Malformed) -> Kind {
        skipWhitespace()
        guard index < bytes.count else { throw Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case Self.quote: return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw Malformed()
        }
    }

    /// Consumes `byte` after white space, or throws.
    mutating func expect(_ byte: UInt8) throws(Malformed) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { throw Malformed() }
        index += 1
    }

    /// Consumes `byte` after white space when it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Calls `member` with each key of an object, positioned at its value; `member` must read the
    /// value (or throw).
    mutating func readObject<E: Error>(_ member: (inout JSONScanner, String) throws(E) -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if consume(UInt8(ascii: "}")) { return }
        repeat {
            skipWhitespace()
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Calls `element` for each element of an array, positioned at it, with its index.
    mutating func readArray<E: Error>(_ element: (inout JSONScanner, Int) throws(E) -> Void) throws {
        try expect(UInt8(ascii: "["))
        if consume(UInt8(ascii: "]")) { return }
        var position = 0
        repeat {
            try element(&self, position)
            position += 1
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    /// True (and consumed) when the next value is `null`.
    mutating func readNull() throws(Malformed) -> Bool {
        guard try peekKind() == .null else { return false }
        try literal("null")
        return true
    }

    /// A string value; `WrongType` when the value is valid JSON of another type.
    mutating func readString() throws -> String {
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
        guard index < bytes.count else { throw Malformed() }
        if bytes[index] == Self.quote {
            defer { index += 1 }
            guard let text = String(validating: bytes[start..<index], as: UTF8.self) else { throw Malformed() }
            return text
        }
        var text = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw Malformed() }
            let byte = bytes[index]
            index += 1
            if byte == Self.quote { break }
            guard byte >= 0x20 else { throw Malformed() }
            guard byte == Self.backslash else {
                text.append(byte)
                continue
            }
            guard index < bytes.count else { throw Malformed() }
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
                    else { throw Malformed() }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                    scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw Malformed() }
                text.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw Malformed()
            }
        }
        guard let string = String(validating: text, as: UTF8.self) else { throw Malformed() }
        return string
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Malformed() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A whole number from 0 to `maximum`; `WrongType` for any other value (a fraction, an
    /// exponent, a negative number, a number out of range, another type).
    mutating func readUnsigned(maximum: UInt64 = .max) throws -> UInt64 {
        guard try peekKind() == .number else {
            try skipValue()
            throw WrongType()
        }
        let start = index
        try skipNumber()
        let text = bytes[start..<index]
        guard text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let value = UInt64(String(decoding: text, as: UTF8.self)), value <= maximum
        else { throw WrongType() }
        return value
    }

    /// Passes over one value of any kind, checking that it is JSON.
    mutating func skipValue() throws {
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
    mutating func expectEnd() throws(Malformed) {
        skipWhitespace()
        guard index == bytes.count else { throw Malformed() }
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Malformed() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Malformed() }
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
        guard index < bytes.count else { throw Malformed() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits(&self) > 0 else { throw Malformed() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw Malformed() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw Malformed() }
        }
    }
}
