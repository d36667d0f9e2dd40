import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore

/// The routes the server answers, by method and path template: mounted on the router (each in
/// the group of its scope, whose middleware authenticates), and remembered so that an unmatched
/// path answers 404 `route-not-found` and a known path with another method 405
/// `method-not-allowed` with `Allow`, both as problem documents like every other error.
final class RouteTable: Sendable {
    private let templates: [(method: HTTPRequest.Method, segments: [Substring])]

    /// `routes` and the review pages' `pages` (method and path template).
    init(_ routes: [APIRoute], pages: [(HTTPRequest.Method, String)] = []) {
        templates =
            routes.map { ($0.method, $0.path.split(separator: "/")) } + pages.map { ($0, $1.split(separator: "/")) }
    }

    /// Mounts `routes` on `router`: routes without a scope on the router itself, the others in one
    /// group per scope, behind `ScopeMiddleware`. Router middleware added before this wraps them
    /// all (Hummingbird applies middleware to the routes added after it).
    static func mount(_ routes: [APIRoute], on router: Router<KhataRequestContext>, auth: Authenticator) {
        var groups: [Scope: RouterGroup<KhataRequestContext>] = [:]
        for route in routes {
            if let scope = route.scope {
                let group =
                    groups[scope] ?? router.group().add(middleware: ScopeMiddleware(scope: scope, auth: auth))
                groups[scope] = group
                group.on(RouterPath(route.path), method: route.method, use: route.handler)
            } else {
                router.on(RouterPath(route.path), method: route.method, use: route.handler)
            }
        }
    }

    /// The methods some route takes on `path`, in the order they were added.
    func methods(on path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        return templates.filter { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { template, segment in
                    template.hasPrefix("{") || template == segment
                }
        }.map(\.method)
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
