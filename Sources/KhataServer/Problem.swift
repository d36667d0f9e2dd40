import Foundation
import Hummingbird

/// An error answered as RFC 9457 `application/problem+json`, with a stable `type` per kind of
/// error so that clients can branch on it, and a `detail` that says what, where and why.
public struct Problem: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    /// The last part of the type URI, e.g. `invalid-amount`.
    public let kind: String
    public let title: String
    public let detail: String

    /// The methods a known path takes, sent as `Allow` with a 405.
    public let allow: String?

    public init(_ status: HTTPResponse.Status, _ kind: String, _ title: String, detail: String, allow: String? = nil) {
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.allow = allow
    }

    public var description: String { "\(kind): \(detail)" }

    /// The URI that names this kind of problem; documented with the API.
    public var type: String { "/problems/\(kind)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ProblemBody(
            type: type, title: title, status: status.code, detail: detail, instance: request.uri.path)
        var response = try JSONResponse.make(body, status: status, contentType: "application/problem+json")
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        if let allow { response.headers[.allow] = allow }
        return response
    }

    static func badRequest(_ kind: String, _ title: String, _ detail: String) -> Problem {
        Problem(.badRequest, kind, title, detail: detail)
    }

    static func notFound(_ what: String, _ detail: String) -> Problem {
        Problem(.notFound, "\(what)-not-found", "\(what.capitalized) not found", detail: detail)
    }
}

/// JSON bodies with a chosen status and content type.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func make(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, contentType: String = "application/json"
    ) throws -> Response {
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The problem document's members (RFC 9457).
struct ProblemBody: Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let instance: String
}
