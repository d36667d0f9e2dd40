import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import KhataCrypto
import Ledger
import LedgerCore
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
/// same provider transaction answers its first outcome and changes nothing.
extension API {
    func webhook(_ providerName: String, _ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let provider = Provider(pathName: providerName) else {
            throw Problem.notFound("provider", "no provider \"\(providerName)\"")
        }
        guard let secret = webhookSecrets[provider] else {
            // Without a secret nothing from this provider can be verified: the endpoint does not
            // exist on this deployment (and an operator should hear of it).
            context.logger.warning(
                "webhook for a provider without a secret", metadata: ["provider": "\(provider.rawValue)"])
            throw Problem(
                .notFound, "webhook-not-configured", "Webhook not configured",
                detail: "no webhook secret is configured for \(provider.rawValue), so its webhooks are not accepted")
        }
        let raw = try await rawBody(request)
        try verifySignature(raw, request, secret: secret, provider: provider, logger: context.logger)
        let body = try WebhookRequest.parse(raw)
        if let earlier = try await storeCall({
            try await records.delivery(provider: provider.rawValue, providerTransactionId: body.providerTransactionId)
        }) {
            return try JSONResponse.make(
                WebhookAnswer(outcome: earlier.outcome, duplicate: true, reservationId: earlier.holdId))
        }
        let record = try await storeCall { try await records.reservation(paymentReference: body.paymentReference) }
        let outcome: String
        if body.status.uppercased() != "COMPLETED" {
            outcome = "ignored-\(body.status.lowercased())"
        } else if let record, try committedTransfer(record.holdId) != nil {
            if record.provider != provider.rawValue {
                outcome = "provider-mismatch"
            } else {
                let confirmation = ConfirmRequest(
                    providerTransactionId: body.providerTransactionId, amount: body.amount)
                outcome = try await confirm(record, confirmation, source: "webhook").word
            }
        } else {
            outcome = "unknown-reference"
        }
        context.logger.info(
            "webhook",
            metadata: [
                "provider": "\(provider.rawValue)", "outcome": "\(outcome)",
                "paymentReference": "\(body.paymentReference)",
            ])
        let holdId = record.map { String($0.holdId) }
        try await storeCall {
            try await records.recordDelivery(
                provider: provider.rawValue, providerTransactionId: body.providerTransactionId,
                paymentReference: body.paymentReference, holdId: holdId, outcome: outcome)
        }
        return try JSONResponse.make(WebhookAnswer(outcome: outcome, duplicate: false, reservationId: holdId))
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
        let nowSeconds = now() / 1_000_000_000
        let skew = timestamp > nowSeconds ? timestamp - nowSeconds : nowSeconds - timestamp
        guard skew <= webhookToleranceSeconds else {
            throw refuse(
                "stale-webhook", "Stale webhook",
                "X-Khata-Timestamp is \(skew) s away from now; at most \(webhookToleranceSeconds) s is accepted")
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
