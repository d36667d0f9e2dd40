import Foundation
import HTTPTypes
import Hummingbird
import JSONInput
import JobStore
import KhataCrypto
import Logging

extension HTTPField.Name {
    static let twilioSignature = HTTPField.Name("X-Twilio-Signature")!
}

/// Customers' messages: the queue as people look at it (`GET /v1/notifications`, scope `admin`,
/// recipients masked), a dead letter sent again (`POST /v1/notifications/{id}/retry`), and the
/// SMS provider's delivery reports (`POST /v1/notifications/callbacks/twilio`), which carry no
/// API key but the provider's signature: `X-Twilio-Signature`, the Base64 HMAC-SHA1 under the
/// account's token of the callback's public URL followed by every form field's name and value
/// in name order.
struct NotificationsController: APIController {
    typealias D = OpenAPIDocument
    typealias S = OpenAPISchemas
    let queue: JobStore.NotificationQueue
    let bodies: BodyReader
    let now: @Sendable () -> UInt64
    /// The Twilio account's token, and the public URL the provider calls back (what it signs);
    /// without both, reports are refused with 503.
    let twilioAuthToken: String?
    let twilioCallbackURL: String?

    var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/v1/notifications", scope: .admin,
                OpenAPIOperation(
                    summary: "Messages to customers, newest first, by state and customer",
                    parameters: [
                        D.queryParameter("state", S.choice("Only this state", DeliveryState.allCases.map(\.rawValue))),
                        D.queryParameter(
                            "customerId",
                            ["type": "string", "minLength": 1, "maxLength": 128, "description": "Only this customer"]),
                        D.queryParameter(
                            "before",
                            ["type": "string", "pattern": "^[0-9]{1,19}$", "description": "The previous page's next"]),
                        D.limitParameter(maximum: 1_000),
                    ], answers: [(200, D.answer("A page of messages", "NotificationPage"))], problems: [400, 503])
            ) { request, _ in try await list(request.uri.queryParameters) },
            APIRoute(
                .post, "/v1/notifications/{id}/retry", scope: .admin,
                OpenAPIOperation(
                    summary: "Send a dead (or provider-failed) message again, with the same idempotency key",
                    parameters: [D.pathParameter("id", ["type": "string", "pattern": "^[1-9][0-9]{0,18}$"])],
                    answers: [(200, D.answer("The message, due again", "Notification"))],
                    problems: [400, 404, 409, 503])
            ) { _, context in try await retry(try context.pathParameter("id")) },
            APIRoute(
                .post, "/v1/notifications/callbacks/twilio", scope: nil,
                OpenAPIOperation(
                    summary: "The SMS provider's report on a message it accepted (delivered or failed), signed",
                    parameters: [
                        [
                            "name": "X-Twilio-Signature", "in": "header", "required": true,
                            "schema": ["type": "string", "maxLength": 64],
                        ]
                    ], body: "TwilioStatusCallback", bodyType: "application/x-www-form-urlencoded",
                    answers: [(200, D.answer("Recorded, or nothing to record", "CallbackAnswer"))],
                    problems: [400, 403, 413, 503])
            ) { request, context in try await twilioReport(request, context) },
        ]
    }

    func list(_ parameters: Parameters) async throws -> Response {
        func query(_ name: String) -> String? { parameters[name[...]].map(String.init) }
        var state: DeliveryState?
        if let text = query("state") {
            guard let parsed = DeliveryState(rawValue: text) else {
                throw Problem.badRequest(
                    "invalid-state", "Invalid state",
                    "state \"\(JSONInput.echo(text))\" is not one of "
                        + DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            state = parsed
        }
        let customer = query("customerId")
        if let customer, customer.isEmpty || customer.utf8.count > 128 {
            throw Problem.badRequest("invalid-customer-id", "Invalid customer id", "customerId is 1 to 128 bytes")
        }
        let before = try query("before").map { text -> Int64 in
            guard let value = RequestValues.positiveNumber(text) else {
                throw Problem.badRequest(
                    "invalid-cursor", "Invalid cursor", "before \"\(JSONInput.echo(text))\" is not a message id")
            }
            return value
        }
        let limit = try PathValues.limit(parameters["limit"], fallback: 100, maximum: 1_000)
        let page = try await storeCall {
            try await queue.deliveries(state: state, customerId: customer, before: before, limit: limit + 1)
        }
        let shown = page.prefix(limit)
        return try JSONResponse.make(
            NotificationPage(
                notifications: shown.map(NotificationBody.init),
                next: page.count > limit ? shown.last.map { String($0.id) } : nil))
    }

    func retry(_ text: String) async throws -> Response {
        guard let id = RequestValues.positiveNumber(text) else {
            throw Problem.badRequest(
                "invalid-id", "Invalid id", "message id \"\(JSONInput.echo(text))\" is not a positive whole number")
        }
        guard let delivery = try await storeCall({ try await queue.delivery(id: id) }) else {
            throw Problem.notFound("notification", "there is no message \(id)")
        }
        guard try await storeCall({ try await queue.requeue(id: id, at: now()) }) else {
            throw Problem(
                .conflict, "not-retryable", "Not retryable",
                detail: "message \(id) is \(delivery.state.rawValue); only a dead or failed message is sent again")
        }
        // Safe fallback: it was just read; a message is never deleted.
        let requeued = try await storeCall { try await queue.delivery(id: id) } ?? delivery
        return try JSONResponse.make(NotificationBody(requeued))
    }

    func twilioReport(_ request: Request, _ context: KhataRequestContext) async throws -> Response {
        guard let token = twilioAuthToken, let url = twilioCallbackURL else {
            throw Problem(
                .serviceUnavailable, "callback-not-configured", "Callback not configured",
                detail: "notifications.twilio.authToken and statusCallbackUrl are not both configured")
        }
        let raw = try await bodies.read(request)
        let form: WebForm
        do {
            form = try WebForm(encoded: raw)
        } catch {
            throw Problem.badRequest("invalid-form", "Invalid form", error.message)
        }
        // The signed text: the URL, then each field's name and value, by name.
        let signed = url + form.fields.keys.sorted().map { $0 + (form.fields[$0] ?? "") }.joined()
        let expected = Crypto.hmacSHA1(key: Array(token.utf8), message: Array(signed.utf8))
        guard let header = request.headers[.twilioSignature], let presented = Data(base64Encoded: header),
            Crypto.constantTimeEqual(Array(presented), expected)
        else {
            context.logger.warning("status callback refused", metadata: ["reason": "signature"])
            throw Problem(
                .forbidden, "invalid-signature", "Invalid signature",
                detail: "X-Twilio-Signature does not match the callback's URL and fields")
        }
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty,
            let status = form["MessageStatus"] ?? form["SmsStatus"]
        else {
            throw Problem.badRequest(
                "invalid-callback", "Invalid callback", "MessageSid and MessageStatus are required")
        }
        let delivered: Bool
        switch status.lowercased() {
        case "delivered", "read": delivered = true
        case "undelivered", "failed": delivered = false
        default:
            // Queued, sending, sent: on the way; nothing to record yet.
            return try JSONResponse.make(CallbackAnswer(recorded: false, state: nil))
        }
        let detail =
            delivered ? nil : "the provider reported \(status)" + (form["ErrorCode"].map { " (error \($0))" } ?? "")
        let found = try await storeCall {
            try await queue.providerReport(providerMessageId: sid, delivered: delivered, detail: detail, at: now())
        }
        return try JSONResponse.make(CallbackAnswer(recorded: found != nil, state: found?.state.rawValue))
    }
}

/// What a status callback came to.
struct CallbackAnswer: Encodable {
    let recorded: Bool
    let state: String?
}

/// A page of messages.
struct NotificationPage: Encodable {
    let notifications: [NotificationBody]
    let next: String?
}

/// A message as the API shows it: the recipient masked when it is a phone number.
struct NotificationBody: Encodable {
    let id: String
    let idempotencyKey: String
    let event: String
    let channel: String
    let customerId: String
    let recipient: String
    let language: String
    let subject: String?
    let body: String
    let state: String
    let attempts: Int
    let nextAttemptAt: String
    let validUntil: String?
    let providerMessageId: String?
    let lastError: String?

    init(_ delivery: NotificationDelivery) {
        let message = delivery.message
        id = String(delivery.id)
        idempotencyKey = message.idempotencyKey
        event = message.event
        channel = message.channel.rawValue
        customerId = message.customerId
        recipient = message.shownRecipient
        language = message.language.rawValue
        subject = message.subject
        body = message.body
        state = delivery.state.rawValue
        attempts = delivery.attemptCount
        nextAttemptAt = delivery.nextAttemptAt
        validUntil = message.validUntil
        providerMessageId = delivery.providerMessageId
        lastError = delivery.lastError
    }
}
