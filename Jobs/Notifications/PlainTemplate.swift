import Foundation

/// A template made of text and unescaped values only (`{{{name}}}` or `{{&name}}`), which is
/// what every default template is: rendered by joining its pieces, where the Mustache renderer
/// looks each value up by reflection and was most of the cost of making a message. A template
/// with any other tag (sections, escaped values, comments, partials, new delimiters) is not
/// plain and is rendered by Mustache; the two give the same text for a plain one (tested).
struct PlainTemplate: Sendable {
    private enum Piece: Sendable {
        case text(String)
        case value(Field)
    }

    private let pieces: [Piece]
    private let textBytes: Int

    /// The template of `source` when it is plain; nil otherwise.
    init?(_ source: String) {
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            rest = rest[open.upperBound...]
            let closing: String
            if rest.first == "{" {
                closing = "}}}"
            } else if rest.first == "&" {
                closing = "}}"
            } else {
                return nil
            }
            rest = rest.dropFirst()
            guard let close = rest.range(of: closing) else { return nil }
            let name = rest[..<close.lowerBound].trimmingSpaces
            guard let field = Field(rawValue: String(name)) else { return nil }
            pieces.append(.value(field))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
        textBytes = pieces.reduce(0) { total, piece in
            if case .text(let text) = piece { return total + text.utf8.count }
            return total
        }
    }

    func render(_ values: MessageValues) -> String {
        var out = ""
        out.reserveCapacity(textBytes + 128)
        for piece in pieces {
            switch piece {
            case .text(let text): out += text
            case .value(let field): out += field.value(in: values)
            }
        }
        return out
    }

    /// The values a template may name: `MessageValues.names` and Mustache's model are these.
    enum Field: String, Sendable, CaseIterable {
        case bookingId, paymentReference, amount, refundAmount, provider, deadline

        func value(in values: MessageValues) -> String {
            switch self {
            case .bookingId: values.bookingId
            case .paymentReference: values.paymentReference
            case .amount: values.amount
            case .refundAmount: values.refundAmount
            case .provider: values.provider
            case .deadline: values.deadline
            }
        }
    }
}

extension Substring {
    /// Without the spaces at either end (Mustache allows `{{{ name }}}`).
    fileprivate var trimmingSpaces: Substring {
        var trimmed = self
        while trimmed.first == " " { trimmed = trimmed.dropFirst() }
        while trimmed.last == " " { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
