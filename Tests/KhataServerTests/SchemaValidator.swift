import Foundation

/// JSON as decoded for validation, keeping booleans, integers and other numbers apart.
indirect enum JSONNode: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONNode])
    case object([String: JSONNode])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONNode].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONNode].self))
        }
    }

    static func parse(_ data: Data) throws -> JSONNode { try JSONDecoder().decode(JSONNode.self, from: data) }

    subscript(key: String) -> JSONNode? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var objectMembers: [String: JSONNode]? { if case .object(let value) = self { value } else { nil } }
    var arrayElements: [JSONNode]? { if case .array(let value) = self { value } else { nil } }
}

/// The part of JSON Schema (2020-12) the OpenAPI document uses: type, properties, required,
/// additionalProperties, items, minItems, enum, pattern, minLength, maxLength, minimum, maximum,
/// oneOf, anyOf and $ref into the document's components. Anything else in a schema is a failure, so
/// that the document cannot use a keyword this validator would silently ignore.
struct SchemaValidator {
    let document: JSONNode

    static let known: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "pattern",
        "minLength",
        "maxLength", "minimum", "maximum", "oneOf", "anyOf", "$ref", "description", "format",
    ]

    /// Every way `value` breaks `schema`, each with its JSON path.
    func errors(_ value: JSONNode, _ schema: JSONNode, at path: String = "$") -> [String] {
        guard let members = schema.objectMembers else { return ["\(path): the schema is not an object"] }
        var errors = members.keys.filter { !Self.known.contains($0) }.map { "\(path): unknown keyword \($0)" }
        if let reference = members["$ref"]?.string {
            guard let target = resolve(reference) else { return errors + ["\(path): no schema \(reference)"] }
            return errors + self.errors(value, target, at: path)
        }
        if let choices = members["oneOf"]?.arrayElements {
            let matching = choices.filter { self.errors(value, $0, at: path).isEmpty }.count
            if matching != 1 { errors.append("\(path): matches \(matching) of oneOf, not exactly 1") }
        }
        if let choices = members["anyOf"]?.arrayElements,
            !choices.contains(where: { self.errors(value, $0, at: path).isEmpty })
        {
            errors.append("\(path): matches none of anyOf")
        }
        if let type = members["type"]?.string, !Self.has(value, type: type) {
            return errors + ["\(path): \(Self.describe(value)) is not of type \(type)"]
        }
        if let choices = members["enum"]?.arrayElements, !choices.contains(value) {
            errors.append("\(path): \(Self.describe(value)) is not one of the enum")
        }
        switch value {
        case .string(let text):
            if let pattern = members["pattern"]?.string, text.range(of: pattern, options: .regularExpression) == nil {
                errors.append("\(path): \"\(text)\" does not match \(pattern)")
            }
            if case .integer(let minimum)? = members["minLength"], text.count < minimum {
                errors.append("\(path): shorter than \(minimum)")
            }
            if case .integer(let maximum)? = members["maxLength"], text.count > maximum {
                errors.append("\(path): longer than \(maximum)")
            }
        case .integer(let number):
            if case .integer(let minimum)? = members["minimum"], number < minimum {
                errors.append("\(path): \(number) is below \(minimum)")
            }
            if case .integer(let maximum)? = members["maximum"], number > maximum {
                errors.append("\(path): \(number) is above \(maximum)")
            }
        case .array(let elements):
            if case .integer(let minimum)? = members["minItems"], elements.count < minimum {
                errors.append("\(path): fewer than \(minimum) items")
            }
            if case .integer(let maximum)? = members["maxItems"], elements.count > maximum {
                errors.append("\(path): more than \(maximum) items")
            }
            if let items = members["items"] {
                for (index, element) in elements.enumerated() {
                    errors += self.errors(element, items, at: "\(path)[\(index)]")
                }
            }
        case .object(let fields):
            let properties = members["properties"]?.objectMembers ?? [:]
            for name in members["required"]?.arrayElements?.compactMap(\.string) ?? [] where fields[name] == nil {
                errors.append("\(path): missing required \(name)")
            }
            for (name, field) in fields {
                if let property = properties[name] {
                    errors += self.errors(field, property, at: "\(path).\(name)")
                } else if members["additionalProperties"] == .bool(false) {
                    errors.append("\(path): \(name) is not in the schema")
                }
            }
        default: break
        }
        return errors
    }

    func resolve(_ reference: String) -> JSONNode? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONNode? = document
        for part in reference.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
        return node
    }

    static func has(_ value: JSONNode, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("integer", .integer), ("boolean", .bool),
            ("null", .null), ("number", .integer), ("number", .number):
            true
        default: false
        }
    }

    static func describe(_ value: JSONNode) -> String {
        switch value {
        case .string(let text): "\"\(text.prefix(40))\""
        case .integer(let number): String(number)
        default: "\(value)".prefix(60).description
        }
    }
}
