/// The /v1 routes of the OpenAPI document.
enum OpenAPIPaths {
    typealias D = OpenAPIDocument
    typealias S = OpenAPISchemas

    static var v1: [(String, JSONValue)] {
        [
            (
                "/v1/accounts",
                [
                    "post": D.operation(
                        "Create an account (idempotent)", scope: "admin", body: "AccountRequest",
                        answers: [
                            (201, D.answer("Created", "Account")), (200, D.answer("Existed already", "Account")),
                        ],
                        problems: [400, 409, 413, 422, 500, 503])
                ]
            ),
            (
                "/v1/accounts/{key}",
                [
                    "get": D.operation(
                        "An account's balances", scope: "read",
                        parameters: [D.pathParameter("key", ["type": "string"])],
                        answers: [(200, D.answer("The account", "Account"))], problems: [400, 404])
                ]
            ),
            (
                "/v1/accounts/{key}/history",
                [
                    "get": D.operation(
                        "An account's transfers in commit order, a page at a time", scope: "read",
                        parameters: [
                            D.pathParameter("key", ["type": "string"]),
                            D.queryParameter(
                                "after",
                                [
                                    "type": "string", "pattern": "^[0-9]{1,20}$",
                                    "description": "The next cursor of the previous page",
                                ]),
                            D.queryParameter("limit", ["type": "integer", "minimum": 1, "maximum": 1_000]),
                        ], answers: [(200, D.answer("A page", "History"))], problems: [400, 404, 500])
                ]
            ),
            (
                "/v1/transfers",
                [
                    "post": D.operation(
                        "Create one transfer (idempotent by id)", scope: "post", body: "TransferRequest",
                        answers: [
                            (201, D.answer("Created", "Transfer")), (200, D.answer("Existed already", "Transfer")),
                        ], problems: [400, 404, 409, 413, 422, 500, 503])
                ]
            ),
            (
                "/v1/transfers/batch",
                [
                    "post": D.operation(
                        "Apply up to 8,190 events as one batch, linked chains allowed", scope: "post",
                        body: "BatchRequest", answers: [(200, D.answer("A result per event", "BatchAnswer"))],
                        problems: [400, 404, 413, 500, 503])
                ]
            ),
            (
                "/v1/transfers/{id}",
                [
                    "get": D.operation(
                        "A transfer", scope: "read", parameters: [D.idParameter],
                        answers: [(200, D.answer("The transfer", "Transfer"))], problems: [400, 404, 500])
                ]
            ),
            (
                "/v1/refunds",
                [
                    "post": D.operation(
                        "Refund a posted transfer in full or in part (never more than remains)", scope: "finance",
                        body: "RefundRequest",
                        answers: [
                            (201, D.answer("Refunded", "Transfer")), (200, D.answer("Existed already", "Transfer")),
                        ], problems: [400, 404, 409, 413, 422, 500, 503])
                ]
            ),
            (
                "/v1/reservations",
                [
                    "post": D.operation(
                        "Reserve: hold the amount for the payment window", scope: "post", body: "ReservationRequest",
                        answers: [
                            (201, D.answer("Reserved, PAYMENT_PENDING", "Reservation")),
                            (200, D.answer("The same reservation again", "Reservation")),
                        ], problems: [400, 404, 409, 413, 422, 500, 503])
                ]
            ),
            (
                "/v1/reservations/{id}",
                [
                    "get": D.operation(
                        "A reservation and its state", scope: "read", parameters: [D.idParameter],
                        answers: [(200, D.answer("The reservation", "Reservation"))], problems: [400, 404, 500, 503])
                ]
            ),
            (
                "/v1/reservations/{id}/confirm",
                [
                    "post": D.operation(
                        "Confirm the payment: capture the hold (BOOKING_CONFIRMED). After expiry, after "
                            + "cancellation or for another amount it is refused and recorded.", scope: "post",
                        parameters: [D.idParameter], body: "ConfirmRequest",
                        answers: [(200, D.answer("Confirmed (also when repeated)", "Reservation"))],
                        problems: [400, 404, 409, 413, 422, 500, 503])
                ]
            ),
            (
                "/v1/reservations/{id}/cancel",
                [
                    "post": D.operation(
                        "Cancel: release the hold (CANCELLED)", scope: "post", parameters: [D.idParameter],
                        answers: [(200, D.answer("Cancelled (also when repeated)", "Reservation"))],
                        problems: [400, 404, 409, 422, 500, 503])
                ]
            ),
            (
                "/v1/webhooks/{provider}",
                [
                    "post": D.operation(
                        "A provider's signed payment notification", scope: nil,
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
                ]
            ),
        ]
    }
}
