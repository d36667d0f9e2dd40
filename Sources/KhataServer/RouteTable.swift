import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import Synchronization

/// The routes the server answers, by method and path template, added to the router through it:
/// an unmatched path answers 404 `route-not-found` and a known path with another method 405
/// `method-not-allowed` with `Allow`, both as problem documents like every other error.
final class RouteTable: Sendable {
    private let templates = Mutex<[(method: HTTPRequest.Method, segments: [Substring])]>([])

    /// Adds `handler` for `method` on `path` (`/v1/transfers/{id}`) to `router`, and remembers it.
    func add(
        _ method: HTTPRequest.Method, _ path: String, on router: Router<BasicRequestContext>,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        router.on(RouterPath(path), method: method, use: handler)
        templates.withLock { $0.append((method, path.split(separator: "/"))) }
    }

    /// The methods some route takes on `path`, in the order they were added.
    func methods(on path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        return templates.withLock { routes in
            routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { template, segment in
                        template.hasPrefix("{") || template == segment
                    }
            }.map(\.method)
        }
    }

    /// The problem for a request no route took: 405 with `Allow` when the path is known.
    func unmatched(_ request: Request) -> Problem {
        let allowed = methods(on: request.uri.path)
        guard allowed.isEmpty else {
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            return Problem(
                .methodNotAllowed, "method-not-allowed", "Method not allowed",
                detail: "\(request.uri.path) takes \(names), not \(request.method.rawValue)", allow: names)
        }
        return Problem(
            .notFound, "route-not-found", "Route not found",
            detail: "no route answers \(request.method.rawValue) \(JSONInput.echo(request.uri.path)); see GET /docs")
    }
}

extension RequestContext {
    /// A path parameter, percent-decoded (`merchant%3ASVC-1` is `merchant:SVC-1`, and keys with a
    /// space or Bangla text can be named); malformed encoding is 400 `invalid-path`.
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw Problem.badRequest(
                "invalid-path", "Invalid path",
                "the path segment \"\(JSONInput.echo(raw))\" is not valid percent-encoded UTF-8")
        }
        return decoded
    }
}
