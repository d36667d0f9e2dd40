import HTTPTypes
import Hummingbird
import JobStore

/// One route of the API: its method and path template, the scope a key needs (nil: no key), what
/// the OpenAPI document says of it, and its handler. Controllers declare their routes this way, so
/// that the router and the document are built from the same list and cannot disagree.
struct APIRoute: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let scope: Scope?
    let operation: OpenAPIOperation
    let handler: @Sendable (Request, KhataRequestContext) async throws -> Response

    init(
        _ method: HTTPRequest.Method, _ path: String, scope: Scope?, _ operation: OpenAPIOperation,
        _ handler: @escaping @Sendable (Request, KhataRequestContext) async throws -> Response
    ) {
        self.method = method
        self.path = path
        self.scope = scope
        self.operation = operation
        self.handler = handler
    }
}

/// The routes of one resource (accounts, transfers, reservations, …). A new resource is a new
/// controller, added to the list in `KhataServer.router`.
protocol APIController: Sendable {
    var routes: [APIRoute] { get }
}

/// Authentication and scopes: a request on a route of this group needs a key with `scope`
/// (401 without a valid key, 403 without the scope) before its handler runs.
struct ScopeMiddleware<Context: RequestContext>: RouterMiddleware {
    let scope: Scope
    let auth: Authenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await auth.authorize(request, scope)
        return try await next(request, context)
    }
}
