import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A correlation id per request: the client's `X-Request-Id` when it is a sensible token, else a
/// new UUID; set as `request_id` on the request's logger, so every log line about the request
/// carries it, and echoed on every answer, errors included, so that a client's report can be
/// matched with the server's logs. Refusals are logged at debug level, failures at error level.
struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    static var field: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let id = request.headers[Self.field].flatMap(Self.acceptable) ?? UUID().uuidString
        // Every log line written while handling the request carries the id.
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
            let detail = (error as? Problem).map { "\($0.kind): \($0.detail)" } ?? "\(error)"
            if error.status.code >= 500 {
                context.logger.error(
                    "request failed", metadata: ["path": .string(request.uri.path), "problem": .string(detail)])
            } else {
                context.logger.debug(
                    "request refused", metadata: ["path": .string(request.uri.path), "problem": .string(detail)])
            }
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
