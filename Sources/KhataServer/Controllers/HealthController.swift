import HTTPTypes
import Hummingbird
import JobStore
import Ledger
import LedgerStorage
import NIOCore

/// `GET /health` and `GET /metrics`: what a load balancer and Prometheus read. No key needed.
struct HealthController: APIController {
    typealias D = OpenAPIDocument
    let ledger: Ledger
    let metrics: ServerMetrics

    var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/health", scope: nil,
                OpenAPIOperation(
                    summary: "Liveness and ledger readiness",
                    answers: [(200, D.answer("Ready", "Health")), (503, D.answer("The ledger stopped", "Health"))],
                    problems: [])
            ) { _, _ in try health() },
            APIRoute(
                .get, "/metrics", scope: nil,
                OpenAPIOperation(
                    summary: "Prometheus metrics",
                    answers: [
                        (
                            200,
                            D.json(["type": "string"], type: "text/plain").adding([
                                ("description", "The Prometheus text format")
                            ])
                        )
                    ], problems: [])
            ) { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(
                    status: .ok, headers: headers,
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(ledger: ledger))))
            },
        ]
    }

    /// Liveness (the server answers) and readiness (the ledger takes writes): 200 when ready,
    /// 503 with the reason when the ledger stopped after a failed write. A damaged log record
    /// keeps 200 (new postings are still safe, and the only ledger owner must not leave its load
    /// balancer) but says `damaged`, with where.
    func health() throws -> Response {
        struct DamageBody: Encodable {
            let file: String
            let offset: Int
            let sequence: UInt64?
            let reason: String
        }
        struct ScrubBody: Encodable {
            let passes: Int
            let bytesVerified: Int
            let lastPassSegments: Int?
            let lastPassEndedAt: String?
        }
        struct Body: Encodable {
            let status: String
            let ledger: String
            let committedSequence: UInt64
            let queueDepth: Int
            let detail: String?
            let damage: [DamageBody]?
            let scrub: ScrubBody
        }
        let failure = ledger.stoppedBy
        let damage = ledger.damage
        let scrub = ledger.scrubStatus
        let state =
            failure != nil ? ("unavailable", "failed") : damage.isEmpty ? ("ok", "ready") : ("degraded", "damaged")
        return try JSONResponse.make(
            Body(
                status: state.0, ledger: state.1, committedSequence: ledger.committedSequence,
                queueDepth: ledger.queueDepth, detail: failure.map { "\($0)" },
                damage: damage.isEmpty
                    ? nil
                    : damage.prefix(20).map {
                        DamageBody(file: $0.path, offset: $0.offset, sequence: $0.sequence, reason: $0.reason)
                    },
                scrub: ScrubBody(
                    passes: scrub.passes, bytesVerified: scrub.bytesVerified,
                    lastPassSegments: scrub.passes > 0 ? scrub.lastPassSegments : nil,
                    lastPassEndedAt: scrub.lastPassEndedAt.map { UTCTime.text(nanoseconds: $0) })),
            status: failure == nil ? .ok : .serviceUnavailable)
    }
}

/// `GET /docs`: the OpenAPI document of every route, assembled once from the controllers.
struct DocsController: APIController {
    /// The document's text, made from every other controller's routes and this one's.
    let text: String

    init(documenting others: [APIRoute]) {
        text = OpenAPIDocument.text(routes: others + Self.routes(text: ""))
    }

    var routes: [APIRoute] { Self.routes(text: text) }

    private static func routes(text: String) -> [APIRoute] {
        [
            APIRoute(
                .get, "/docs", scope: nil,
                OpenAPIOperation(
                    summary: "This OpenAPI document",
                    answers: [
                        (200, OpenAPIDocument.json(["type": "object"]).adding([("description", "OpenAPI 3.1")]))
                    ], problems: [])
            ) { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        ]
    }
}
