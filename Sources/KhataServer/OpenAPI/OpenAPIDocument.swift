import HTTPTypes
import JobStore

/// The OpenAPI 3.1 description of the API, served at `GET /docs`, assembled from the routes the
/// controllers declare (each with its `OpenAPIOperation`) and the shared schemas. Tests check it
/// against the running server: every route it lists answers, every route the server has is
/// listed, and every answer a test sees validates against the schema for its status.
enum OpenAPIDocument {
    typealias S = OpenAPISchemas

    /// The document of `routes` as JSON text.
    static func text(routes: [APIRoute]) -> String { document(routes: routes).text() + "\n" }

    static func document(routes: [APIRoute]) -> JSONValue {
        var paths: [(String, [(String, JSONValue)])] = []
        for route in routes {
            let operation = (route.method.rawValue.lowercased(), route.operation.json(scope: route.scope?.rawValue))
            if let index = paths.firstIndex(where: { $0.0 == route.path }) {
                paths[index].1.append(operation)
            } else {
                paths.append((route.path, [operation]))
            }
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Khata",
                "version": .string(KhataServer.version),
                "description": .string(
                    "A double-entry ledger for bookings and payments in BDT. Amounts are decimal strings in major "
                        + "units or whole numbers, never floats. Errors are RFC 9457 application/problem+json with "
                        + "a stable type per kind. Every answer carries X-Request-Id (the client's, or a new one). "
                        + "Every /v1 route but the webhooks needs Authorization: Bearer KEY with the scope its "
                        + "description names (admin may do everything). Request bodies are read strictly: "
                        + "unknown or repeated fields are refused, null is the same as leaving a field out, objects "
                        + "and arrays nest at most 64 levels. A path no operation has answers 404 route-not-found, "
                        + "and a known path with another method 405 method-not-allowed with Allow."),
            ],
            "servers": [["url": "/"]],
            "paths": .object(paths.map { ($0.0, .object($0.1)) }),
            "components": [
                "schemas": .object(S.all),
                "securitySchemes": [
                    "apiKey": ["type": "http", "scheme": "bearer", "description": "khata keys create"]
                ],
            ],
        ]
    }

    /// A JSON body of `schema`.
    static func json(_ schema: JSONValue, type: String = "application/json") -> JSONValue {
        let media: JSONValue = ["schema": schema]
        return ["content": .object([(type, media)])]
    }

    static func problem(_ description: String) -> JSONValue {
        json(S.ref("Problem"), type: "application/problem+json").adding([("description", .string(description))])
    }

    static func answer(_ description: String, _ schema: String) -> JSONValue {
        json(S.ref(schema)).adding([("description", .string(description))])
    }

    static let problemWords: [Int: String] = [
        400: "Malformed JSON, an unknown or missing field, or a bad value",
        401: "No API key, or not a valid one",
        403: "The key lacks the scope",
        404: "Not found",
        409: "Conflicts with what exists",
        413: "The body is larger than the configured limit",
        415: "The body is not of the media type the route takes",
        422: "The ledger refused the event (the type names its result code)",
        500:
            "ledger-unavailable: the ledger stopped taking writes after a failed write or sync (see /health), nothing "
            + "was acknowledged; ledger-damaged: a log record the request needs failed its checksum, nothing was "
            + "read from it or changed",
        503: "Overloaded or a store unavailable: retry with the same request",
    ]

    /// One operation: `scope` nil means no API key; `problems` are the error statuses it answers.
    static func operation(
        _ summary: String, scope: String?, parameters: [JSONValue] = [], body: String? = nil,
        bodyType: String = "application/json", answers: [(Int, JSONValue)], problems: [Int]
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("summary", .string(summary)),
            ("description", .string(scope.map { "Needs a key with the scope \($0)." } ?? "Needs no API key.")),
        ]
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body {
            members.append(("requestBody", json(S.ref(body), type: bodyType).adding([("required", true)])))
        }
        var responses = answers.map { (String($0.0), $0.1) }
        var problems = problems
        if scope != nil { problems += [401, 403] }
        for status in Set(problems).sorted() { responses.append((String(status), problem(problemWords[status]!))) }
        members.append(("responses", .object(responses.sorted { $0.0 < $1.0 })))
        members.append(("security", scope == nil ? [] : [["apiKey": []]]))
        if let scope { members.append(("x-required-scope", .string(scope))) }
        return .object(members)
    }

    static func pathParameter(_ name: String, _ schema: JSONValue) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "schema": schema]
    }

    static func queryParameter(_ name: String, _ schema: JSONValue) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false, "schema": schema]
    }

    static let idParameter = pathParameter("id", S.id)

    /// `after`: the cursor of the next page, as the previous page's `next` gave it.
    static let afterParameter = queryParameter(
        "after", ["type": "string", "pattern": "^[0-9]{1,20}$", "description": "The next cursor of the previous page"])

    /// `limit`: a page's size, 1 to `maximum`.
    static func limitParameter(maximum: Int = 1_000) -> JSONValue {
        queryParameter("limit", ["type": "integer", "minimum": 1, "maximum": .integer(maximum)])
    }
}

/// What the OpenAPI document says of one operation; its scope comes from the route.
struct OpenAPIOperation: Sendable {
    let summary: String
    var parameters: [JSONValue] = []
    /// The schema of the request body, by name, and its media type.
    var body: String? = nil
    var bodyType = "application/json"
    let answers: [(Int, JSONValue)]
    /// The error statuses it answers (401 and 403 are added for routes that need a key).
    let problems: [Int]

    func json(scope: String?) -> JSONValue {
        OpenAPIDocument.operation(
            summary, scope: scope, parameters: parameters, body: body, bodyType: bodyType, answers: answers,
            problems: problems)
    }
}
