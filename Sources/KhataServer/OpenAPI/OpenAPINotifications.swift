import JobStore

/// The notifications' schemas in the OpenAPI document.
enum OpenAPINotifications {
    typealias S = OpenAPISchemas

    static var schemas: [(String, JSONValue)] {
        [
            (
                "Notification",
                S.object(
                    "One message to a customer on one channel, and where its delivery stands",
                    required: [
                        "id", "idempotencyKey", "event", "channel", "customerId", "recipient", "language", "body",
                        "state", "attempts", "nextAttemptAt",
                    ],
                    [
                        ("id", S.string("The message's id")),
                        ("idempotencyKey", S.string("<sequence>:<event>:<channel>, sent with every attempt")),
                        (
                            "event",
                            S.choice(
                                "What happened",
                                ["reservation_created", "payment_confirmed", "cancelled", "expired", "refunded"])
                        ),
                        ("channel", S.choice("The channel", NotificationChannel.allCases.map(\.rawValue))),
                        ("customerId", S.string("The customer's id")),
                        ("recipient", S.string("The address; a phone number masked")),
                        ("language", S.choice("The message's language", ["bn", "en"])),
                        ("subject", S.string("An email's subject")), ("body", S.string("The text sent")),
                        ("state", S.choice("Where it stands", DeliveryState.allCases.map(\.rawValue))),
                        ("attempts", S.integer("Attempts so far")), ("nextAttemptAt", S.time),
                        ("validUntil", S.time), ("providerMessageId", S.string("The provider's id for it")),
                        ("lastError", S.string("Why the last attempt failed, or why it was dropped")),
                    ])
            ),
            (
                "NotificationPage",
                S.object(
                    "Messages, newest first", required: ["notifications"],
                    [
                        ("notifications", S.array(S.ref("Notification"), "The page")),
                        ("next", S.string("The before of the next page; absent on the last")),
                    ])
            ),
            (
                "TwilioStatusCallback",
                S.object(
                    "A provider's report on one message, form-encoded; other fields are signed and kept out",
                    required: ["MessageSid", "MessageStatus"],
                    [
                        ("MessageSid", S.string("The provider's id for the message")),
                        ("MessageStatus", S.string("queued, sending, sent, delivered, read, undelivered or failed")),
                        ("ErrorCode", S.string("Why it failed, in the provider's codes")),
                    ])
            ),
            (
                "CallbackAnswer",
                S.object(
                    "Whether the report moved a message", required: ["recorded"],
                    [
                        ("recorded", ["type": "boolean", "description": "A message was found and moved"]),
                        ("state", S.choice("Its state now", DeliveryState.allCases.map(\.rawValue))),
                    ])
            ),
        ]
    }
}
