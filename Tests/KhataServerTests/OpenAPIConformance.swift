import Foundation
import HTTPTypes
import Testing

/// Checks what a test saw against the OpenAPI document the server serves: every exchange is a
/// documented operation, its status is documented for it, its content type is the documented one,
/// and its body validates against the documented schema.
enum OpenAPIConformance {
    /// The operation of the document for `method` on `path`, preferring literal segments over
    /// parameters (`/v1/transfers/batch` before `/v1/transfers/{id}`).
    static func operation(_ document: JSONNode, method: String, path: String) -> (String, JSONNode)? {
        let templates = (document["paths"]?.objectMembers ?? [:]).sorted {
            $0.key.filter { $0 == "{" }.count < $1.key.filter { $0 == "{" }.count
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for (template, item) in templates {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count,
                zip(parts, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }),
                let operation = item[method.lowercased()]
            else { continue }
            return (template, operation)
        }
        return nil
    }

    static func problems(_ exchanges: [KeyedClient.Seen.Exchange], document: JSONNode) -> [String] {
        let validator = SchemaValidator(document: document)
        var problems: [String] = []
        for exchange in exchanges {
            let name = "\(exchange.method) \(exchange.path) → \(exchange.status)"
            guard
                let (template, operation) = Self.operation(
                    document, method: exchange.method.rawValue, path: exchange.path)
            else {
                // A request no operation takes is answered 404 or 405 with a problem document,
                // as the document's description says, and one the HTTP parser refuses 431; nothing
                // else may answer it.
                let body = try? JSONNode.parse(exchange.body)
                let unmatched =
                    (exchange.status == 404 || exchange.status == 405 || exchange.status == 431)
                    && exchange.contentType == "application/problem+json"
                    && body.map {
                        validator.errors($0, .object(["$ref": .string("#/components/schemas/Problem")])).isEmpty
                    } == true
                if !unmatched { problems.append("\(name): no such operation in the document") }
                continue
            }
            guard let response = operation["responses"]?[String(exchange.status)] else {
                problems.append("\(name): status not documented for \(template)")
                continue
            }
            guard let content = response["content"]?.objectMembers else { continue }
            let mediaType = exchange.contentType?.split(separator: ";").first.map(String.init) ?? ""
            guard let media = content[mediaType] else {
                problems.append("\(name): content type \(mediaType) is not \(content.keys.sorted())")
                continue
            }
            guard mediaType.hasSuffix("json"), let schema = media["schema"] else { continue }
            guard let body = try? JSONNode.parse(exchange.body) else {
                problems.append("\(name): the body is not JSON")
                continue
            }
            problems += validator.errors(body, schema).map { "\(name): \($0)" }
        }
        return problems
    }

    /// Records an issue for every exchange that does not conform.
    static func check(_ exchanges: [KeyedClient.Seen.Exchange], document: Data) {
        guard let parsed = try? JSONNode.parse(document) else {
            Issue.record("GET /docs is not JSON")
            return
        }
        for problem in problems(exchanges, document: parsed).prefix(20) { Issue.record(Comment(rawValue: problem)) }
    }
}
