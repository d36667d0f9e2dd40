/// The schemas of the booking flow and the provider webhooks.
enum OpenAPIReservationSchemas {
    typealias S = OpenAPISchemas

    static let provider = S.choice("The payment provider", ["BKASH", "NAGAD", "SSLCOMMERZ"])

    static var all: [(String, JSONValue)] {
        [
            (
                "PaymentStatesRequest",
                S.object(
                    "Bookings whose payments to read from the ledger", required: ["bookingIds"],
                    [
                        (
                            "bookingIds",
                            S.array(S.text("A booking's id", maximumBytes: 64), "At most 1000")
                                .adding([("maxItems", 1_000)])
                        ),
                        (
                            "refundsFor",
                            S.array(
                                S.text("A booking's id", maximumBytes: 64),
                                "Bookings whose refunds to list (finding them walks history); default none"
                            ).adding([("maxItems", 1_000)])
                        ),
                        (
                            "atNanoseconds",
                            [
                                "type": "string", "pattern": "^[0-9]{1,20}$",
                                "description": .string(
                                    "A pending hold whose window closed by then reads as expired; default now"),
                            ]
                        ),
                    ])
            ),
            (
                "PaymentStates",
                S.object(
                    "One answer per booking asked for, in order", required: ["payments"],
                    [("payments", S.array(["oneOf": [S.ref("PaymentState"), ["type": "null"]]], "null: no hold"))])
            ),
            (
                "PaymentState",
                S.object(
                    "The ledger's side of a reservation's payment",
                    required: ["bookingId", "holdId", "state", "amountMinor", "refunds"],
                    [
                        ("bookingId", S.string("The booking")), ("holdId", S.id),
                        ("state", S.choice("The hold's state", ["pending", "captured", "cancelled", "expired"])),
                        ("amountMinor", minorText("The amount held")), ("captureId", S.id),
                        ("capturedAtNanoseconds", minorText("When the ledger committed the capture")),
                        ("refunds", S.array(S.ref("PaymentRefund"), "The capture's refunds in commit order")),
                    ])
            ),
            (
                "PaymentRefund",
                S.object(
                    "A refund of a reservation's capture", required: ["id", "amountMinor", "atNanoseconds"],
                    [
                        ("id", S.id), ("amountMinor", minorText("The amount refunded")),
                        ("atNanoseconds", minorText("When the ledger committed it")),
                    ])
            ),
            (
                "ReservationRequest",
                S.object(
                    "A booking's reservation: a hold from the provider's clearing account to merchant:<serviceId>. "
                        + "Idempotent by bookingId: the same request again answers the same reservation.",
                    required: [
                        "bookingId", "customerId", "serviceId", "amount", "currency", "provider", "customerPhone",
                        "customerEmail",
                    ],
                    [
                        ("bookingId", S.text("The booking's id", maximumBytes: 64)),
                        ("customerId", S.text("The customer's id", maximumBytes: 64)),
                        ("serviceId", S.text("The service booked; its merchant account must exist", maximumBytes: 64)),
                        ("amount", S.positiveAmountIn),
                        (
                            "currency",
                            ["type": "string", "enum": ["BDT"], "description": "The providers settle in BDT only"]
                        ),
                        ("provider", provider),
                        (
                            "customerPhone",
                            S.string(
                                "E.164, 00 and the country code, or a local 0… (given +880); kept in E.164 for the "
                                    + "customer's messages")
                        ),
                        ("customerEmail", ["type": "string", "format": "email", "maxLength": 254]),
                        ("paymentWindowSeconds", S.integer("Default 1800", minimum: 60, maximum: 86_400)),
                        ("language", OpenAPIContacts.language), ("preferredChannel", OpenAPIContacts.channel),
                    ])
            ),
            (
                "RefusedConfirmation",
                S.object(
                    "A confirmation that was refused, kept for reconciliation",
                    required: ["providerTransactionId", "source", "outcome", "detail", "attemptedAt"],
                    [
                        ("providerTransactionId", S.string("The provider's transaction id")),
                        ("amount", S.amountOut), ("source", S.choice("Where it came from", ["api", "webhook"])),
                        (
                            "outcome",
                            S.choice("Why it was refused", ["expired", "cancelled", "amount-mismatch", "conflict"])
                        ),
                        ("detail", S.string("In words")), ("attemptedAt", S.time),
                    ])
            ),
            (
                "Reservation",
                S.object(
                    "A reservation and where it stands (read from its hold in the ledger)",
                    required: [
                        "id", "bookingId", "state", "paymentReference", "provider", "amount", "currency",
                        "customerId", "serviceId", "customerPhone", "customerEmail", "paymentWindowSeconds",
                        "createdAt", "expiresAt", "refusedConfirmations",
                    ],
                    [
                        ("id", S.id.adding([("description", "The reservation's id: its hold's transfer id")])),
                        ("bookingId", S.string("The booking's id")),
                        (
                            "state",
                            S.choice(
                                "PAYMENT_PENDING until confirmed, cancelled, or the window passes (EXPIRED)",
                                ["PAYMENT_PENDING", "BOOKING_CONFIRMED", "CANCELLED", "EXPIRED"])
                        ),
                        (
                            "paymentReference",
                            [
                                "type": "string", "pattern": "^[0-9A-Z]{1,32}$",
                                "description": "The reference to hand to the provider; its settlement files echo it",
                            ]
                        ),
                        ("provider", provider), ("amount", S.amountOut), ("currency", S.string("ISO 4217 code")),
                        ("customerId", S.string("")), ("serviceId", S.string("")),
                        ("customerPhone", S.string("")), ("customerEmail", S.string("")),
                        ("paymentWindowSeconds", S.integer("The payment window")),
                        ("createdAt", S.time), ("expiresAt", S.time),
                        ("providerTransactionId", S.string("The provider's transaction id that confirmed it")),
                        ("confirmedAt", S.time), ("cancelledAt", S.time),
                        ("refusedConfirmations", S.array(S.ref("RefusedConfirmation"), "Oldest first")),
                    ])
            ),
            (
                "ConfirmRequest",
                S.object(
                    "A payment confirmation; a different amount than held is refused and recorded",
                    required: ["providerTransactionId"],
                    [
                        ("providerTransactionId", S.text("The provider's transaction id", maximumBytes: 32)),
                        ("amount", S.amountIn),
                    ])
            ),
            (
                "WebhookRequest",
                S.object(
                    "A provider's payment notification, signed: X-Khata-Signature is sha256=HEX of HMAC-SHA256 "
                        + "over TIMESTAMP.BODY with the provider's secret, X-Khata-Timestamp is TIMESTAMP in Unix "
                        + "seconds, within 300 s of now",
                    required: ["paymentReference", "providerTransactionId", "amount", "status"],
                    [
                        ("paymentReference", S.text("The reservation's payment reference", maximumBytes: 32)),
                        ("providerTransactionId", S.text("The provider's transaction id", maximumBytes: 32)),
                        ("amount", S.amountIn),
                        (
                            "status",
                            [
                                "type": "string", "pattern": "^[A-Za-z_]{1,32}$",
                                "description": "COMPLETED confirms; anything else is recorded and ignored",
                            ]
                        ),
                    ])
            ),
            (
                "WebhookAnswer",
                S.object(
                    "What the delivery came to; a repeated delivery of the same provider transaction answers its "
                        + "first outcome with duplicate true", required: ["outcome", "duplicate"],
                    [
                        (
                            "outcome",
                            S.string(
                                "confirmed, already-confirmed, expired, cancelled, amount-mismatch, conflict, "
                                    + "provider-mismatch, unknown-reference, or ignored-<status>")
                        ),
                        ("duplicate", ["type": "boolean"]), ("reservationId", S.id),
                    ])
            ),
        ]
    }

    /// A whole number in digits, as a string (minor units, nanoseconds).
    static func minorText(_ description: String) -> JSONValue {
        ["type": "string", "pattern": "^[0-9]{1,20}$", "description": .string(description + ", in digits")]
    }
}
