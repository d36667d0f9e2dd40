/// The payment or booking reference a transfer carries (the one providers echo back): at most 32
/// bytes of UTF-8 without NUL, stored inline so that a transfer holds no heap memory.
public struct TransferReference: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// The UTF-8 bytes, zero-padded, as the log stores them.
    public private(set) var bytes: (UInt64, UInt64, UInt64, UInt64)

    public static let maximumBytes = 32
    public static let empty = TransferReference(bytes: (0, 0, 0, 0))

    public init(bytes: (UInt64, UInt64, UInt64, UInt64)) { self.bytes = bytes }

    /// The reference for `text`, or nil when it is longer than 32 bytes or holds NUL.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count <= Self.maximumBytes, !utf8.contains(0) else { return nil }
        var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &words) { raw in
            utf8.withUnsafeBytes { if $0.count > 0 { raw.copyMemory(from: $0) } }
        }
        bytes = words
    }

    /// For literals in code and tests; a literal that does not fit is a programming error.
    public init(stringLiteral text: String) {
        guard let reference = TransferReference(text) else { preconditionFailure("reference \"\(text)\" does not fit") }
        self = reference
    }

    public init(stringInterpolation: DefaultStringInterpolation) {
        self.init(stringLiteral: String(stringInterpolation: stringInterpolation))
    }

    /// Why `text` is not a reference, or nil when it is one.
    public static func problem(with text: String) -> ResultCode? {
        if text.utf8.count > maximumBytes { return .referenceTooLong }
        return text.utf8.contains(0) ? .referenceInvalid : nil
    }

    public var string: String {
        withUnsafeBytes(of: bytes) { raw in
            let length = raw.firstIndex(of: 0) ?? raw.count
            return String(decoding: raw[..<length], as: UTF8.self)
        }
    }

    public var isEmpty: Bool { bytes.0 == 0 }

    public var description: String { string }

    public static func == (lhs: TransferReference, rhs: TransferReference) -> Bool {
        lhs.bytes.0 == rhs.bytes.0 && lhs.bytes.1 == rhs.bytes.1 && lhs.bytes.2 == rhs.bytes.2
            && lhs.bytes.3 == rhs.bytes.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
        hasher.combine(bytes.3)
    }
}
