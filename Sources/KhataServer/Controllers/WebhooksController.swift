import Bookings
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import KhataCrypto
import Logging

/// What a webhook came to.
struct WebhookAnswer: Encodable {
    var outcome: String
    var duplicate: Bool
    var reservationId: String?
}

extension HTTPField.Name {
    static let khataTimestamp = HTTPField.Name("X-Khata-Timestamp")!
    static let khataSignature = HTTPField.Name("X-Khata-Signature")!
}

/// `POST /v1/webhooks/{provider}`: the provider signs `TIMESTAMP.BODY` with HMAC-SHA256 under its
/// secret and sends `X-Khata-Timestamp: TIMESTAMP` (Unix seconds) and
/// `X-Khata-Signature: sha256=HEX`. A valid delivery answers 200 with its outcome (also when the
/// confirmation was refused, which a retry would not change); a delivery already seen for the
/// same provider transaction answers its first outcome and changes nothing. What a delivery does
/// is the booking rules' (`BookingDesk.deliver`); this layer verifies and answers.
struct WebhooksController: APIController {
    typealias D = OpenAPIDocument
    typealias S = OpenAPISchemas
    let desk: BookingDesk
    let bodies: BodyReader
    let secrets: [Provider: [UInt8]]
    let toleranceSeconds: UInt64

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/webhooks/{provider}", scope: nil,
                OpenAPIOperation(
                    summary: "A provider's signed payment notification",
                    parameters: [
                        D.pathParameter("provider", S.choice("Provider", ["bkash", "nagad", "sslcommerz"])),
                        [
                            "name": "X-Khata-Timestamp", "in": "header", "required": true,
                            "schema": ["type": "string", "pattern": "^[0-9]{1,12}$"],
                        ],
                        [
                            "name": "X-Khata-Signature", "in": "header", "required": true,
                            "schema": ["type": "string", "pattern": "^sha256=[0-9a-f]{64}$"],
                        ],
                    ], body: "WebhookRequest",
                    answers: [(200, D.answer("Processed, or a repeat of a processed delivery", "WebhookAnswer"))],
                    problems: [400, 401, 404, 413, 500, 503])
            ) { request, context in try await webhook(context.pathParameter("provider"), request, context) }
        ]
    }

    func webhook(_ providerName: String, _ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let provider = Provider(pathName: providerName) else {
            throw Problem.notFound("provider", "no provider \"\(providerName)\"")
        }
        guard let secret = secrets[provider] else {
            // Without a secret nothing from this provider can be verified: the endpoint does not
            // exist on this deployment (and an operator should hear of it).
            context.logger.warning(
                "webhook for a provider without a secret", metadata: ["provider": "\(provider.rawValue)"])
            throw Problem(
                .notFound, "webhook-not-configured", "Webhook not configured",
                detail: "no webhook secret is configured for \(provider.rawValue), so its webhooks are not accepted")
        }
        let raw = try await bodies.read(request)
        try verifySignature(raw, request, secret: secret, provider: provider, logger: context.logger)
        let body = try WebhookRequest.parse(raw)
        let delivery = WebhookDelivery(
            providerTransactionId: body.providerTransactionId, paymentReference: body.paymentReference,
            status: body.status, amount: ReservationsController.reader(body.amount))
        let outcome = try await booking { try await desk.deliver(delivery, from: provider) }
        if !outcome.duplicate {
            context.logger.info(
                "webhook",
                metadata: [
                    "provider": "\(provider.rawValue)", "outcome": "\(outcome.outcome)",
                    "paymentReference": "\(body.paymentReference)",
                ])
        }
        return try JSONResponse.make(
            WebhookAnswer(
                outcome: outcome.outcome, duplicate: outcome.duplicate, reservationId: outcome.holdId.map(String.init)))
    }

    /// Refuses a delivery whose signature is missing, wrong, or made outside the tolerance window
    /// (a replay of an old delivery). Logged without the secret or the signature.
    private func verifySignature(
        _ raw: [UInt8], _ request: Request, secret: [UInt8], provider: Provider, logger: Logger
    ) throws {
        func refuse(_ kind: String, _ title: String, _ detail: String) -> Problem {
            logger.warning("webhook refused", metadata: ["provider": "\(provider.rawValue)", "reason": "\(kind)"])
            return Problem(.unauthorized, kind, title, detail: detail)
        }
        guard let timestampText = request.headers[.khataTimestamp], let timestamp = UInt64(timestampText) else {
            throw refuse("invalid-signature", "Invalid signature", "X-Khata-Timestamp must be Unix seconds")
        }
        let nowSeconds = desk.now() / 1_000_000_000
        let skew = timestamp > nowSeconds ? timestamp - nowSeconds : nowSeconds - timestamp
        guard skew <= toleranceSeconds else {
            throw refuse(
                "stale-webhook", "Stale webhook",
                "X-Khata-Timestamp is \(skew) s away from now; at most \(toleranceSeconds) s is accepted")
        }
        guard let header = request.headers[.khataSignature], header.hasPrefix("sha256="),
            let presented = Crypto.bytes(hex: String(header.dropFirst("sha256=".count)))
        else {
            throw refuse("invalid-signature", "Invalid signature", "X-Khata-Signature must be sha256=HEX")
        }
        let expected = Crypto.hmacSHA256(key: secret, message: Array("\(timestamp).".utf8) + raw)
        guard Crypto.constantTimeEqual(presented, expected) else {
            throw refuse("invalid-signature", "Invalid signature", "the signature does not match the body")
        }
    }
}
