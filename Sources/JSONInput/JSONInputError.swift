/// Why a JSON body or line cannot be read: a stable kind (the HTTP API's problem type, e.g.
/// `invalid-amount`), the field it concerns as a path (`transfers[1].amount`), and a sentence that
/// says what is wrong with it.
public struct JSONInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A kind of input error; new kinds do not break callers that switch on the known ones.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The kebab-case name, the last part of the problem type.
        public let name: String
        /// The problem's title.
        public let title: String

        public var description: String { name }

        public init(name: String, title: String) {
            self.name = name
            self.title = title
        }

        /// Not JSON, or JSON nested deeper than the limit.
        public static let malformed = Kind(name: "malformed-json", title: "Malformed JSON")
        /// One object names the same field twice.
        public static let duplicateField = Kind(name: "duplicate-field", title: "Duplicate field")
        public static let unknownField = Kind(name: "unknown-field", title: "Unknown field")
        public static let missingField = Kind(name: "missing-field", title: "Missing field")
        /// A value of the wrong type, or out of its range.
        public static let invalidField = Kind(name: "invalid-field", title: "Invalid field")
        public static let invalidAmount = Kind(name: "invalid-amount", title: "Invalid amount")
        public static let invalidId = Kind(name: "invalid-id", title: "Invalid id")
        public static let invalidReference = Kind(name: "invalid-reference", title: "Invalid reference")
        public static let invalidAccountKey = Kind(name: "invalid-account-key", title: "Invalid account key")
        public static let unknownFlag = Kind(name: "unknown-flag", title: "Unknown flag")
    }

    public let kind: Kind
    /// The field's path, or nil for the body as a whole.
    public let field: String?
    public let detail: String

    public init(_ kind: Kind, field: String?, _ detail: String) {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    public var description: String { detail }
}
