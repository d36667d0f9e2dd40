import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A correlation id per request: the client's `X-Request-Id` when it is a sensible token, else a
/// new id (UUID-shaped, unique in the process; see `RequestIds`); set as `request_id` on the
/// request's logger, so every log line about the request carries it, and echoed on every answer,
/// errors included, so that a client's report can be matched with the server's logs. Refusals
/// are logged at debug level, failures at error level. It also counts and times every answer.
struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    static var field: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    /// Counts and times every answer (one middleware rather than two: each layer costs an async
    /// frame per request).
    let metrics: ServerMetrics
    /// For answering requests no route takes.
    let routes: RouteTable

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        metrics.requestStarted()
        let id = request.headers[Self.field].flatMap(Self.acceptable) ?? RequestIds.shared.next()
        // Every log line written while handling the request carries the id.
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // The router's bare 404 for a request no route took becomes a problem document (405
            // with Allow for a known path); handlers answer their own 404s as problems.
            let error =
                (error as? HTTPError).flatMap { $0.status == .notFound ? routes.unmatched(request) : nil } ?? error
            response = try error.response(from: request, context: context)
            let detail = (error as? Problem).map { "\($0.kind): \($0.detail)" } ?? "\(error)"
            if error.status.code >= 500 {
                context.logger.error(
                    "request failed", metadata: ["path": .string(request.uri.path), "problem": .string(detail)])
            } else {
                context.logger.debug(
                    "request refused", metadata: ["path": .string(request.uri.path), "problem": .string(detail)])
            }
        } catch {
            finish(request, context, status: 500, start: start)
            throw error
        }
        response.headers[Self.field] = id
        finish(request, context, status: response.status.code, start: start)
        return response
    }

    /// Under the route's template (`/v1/transfers/{id}`, never the id itself, so that the label
    /// set stays small); unmatched paths count as `unmatched`.
    private func finish(_ request: Request, _ context: Context, status: Int, start: UInt64) {
        metrics.requestFinished(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status,
            nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
    }

    /// At most 128 visible ASCII characters; anything else is replaced rather than echoed.
    static func acceptable(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 128, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return nil
        }
        return text
    }
}

/// New correlation ids: a random 64-bit prefix per process and a counter through a bijective
/// mixer, written as a UUID. Unique without a system call; `UUID()` read /dev/urandom afresh for
/// every request, which showed as 3% of the server's time under load.
final class RequestIds: Sendable {
    static let shared = RequestIds()

    private let prefix = UInt64.random(in: .min ... .max)
    private let counter = Atomic<UInt64>(0)

    func next() -> String {
        var mixed = counter.add(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, word) in [prefix, mixed].enumerated() {
            for nibble in stride(from: 60, through: 0, by: -4) {
                let position = index * 16 + (60 - nibble) / 4
                if position == 8 || position == 12 || position == 16 || position == 20 {
                    text.append(UInt8(ascii: "-"))
                }
                text.append(digits[Int(word >> UInt64(nibble) & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
