import Foundation
import HTTPTypes
import Hummingbird

/// A correlation id per request: the client's `X-Request-Id` when it is a sensible token, else a
/// new UUID; echoed on every answer, errors included, so that a client's report can be matched
/// with the server's logs.
struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    static var field: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let id = request.headers[Self.field].flatMap(Self.acceptable) ?? UUID().uuidString
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[Self.field] = id
        return response
    }

    /// At most 128 visible ASCII characters; anything else is replaced rather than echoed.
    static func acceptable(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 128, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return nil
        }
        return text
    }
}
