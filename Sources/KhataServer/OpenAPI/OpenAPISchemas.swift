import JSONInput
import LedgerCore

/// The schemas of the OpenAPI document: every request and answer body exactly as the handlers
/// read and write it (unknown fields are refused in requests and never sent in answers).
enum OpenAPISchemas {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    /// An object with exactly these properties; `required` lists those always present.
    static func object(
        _ description: String, required: [String], _ properties: [(String, JSONValue)]
    ) -> JSONValue {
        [
            "type": "object", "description": .string(description),
            "required": .array(required.map(JSONValue.string)), "properties": .object(properties),
            "additionalProperties": false,
        ]
    }

    static func string(_ description: String) -> JSONValue { ["type": "string", "description": .string(description)] }

    /// A whole number written in digits, as 64-bit numbers are answered.
    static func digits(_ description: String) -> JSONValue {
        ["type": "string", "pattern": "^[0-9]{1,20}$", "description": .string(description)]
    }

    /// Text without control characters (C0, DEL, C1, line and paragraph separators).
    static func text(_ description: String, maximumBytes: Int) -> JSONValue {
        [
            "type": "string", "minLength": 1, "maxLength": .integer(maximumBytes),
            "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]+$",
            "description": .string(description + " (at most \(maximumBytes) bytes of UTF-8, no control characters)"),
        ]
    }

    /// A character of an account key, and one at either end (not a blank either).
    static let keyInside = "[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]"
    static let keyEdge = "[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]"

    /// An account key: text without blanks at either end.
    static let accountKey: JSONValue = [
        "type": "string", "minLength": 1, "maxLength": 64,
        "pattern": .string("^\(keyEdge)(\(keyInside)*\(keyEdge))?$"),
        "description": .string(
            "An account's unique key, e.g. merchant:SVC-456: 1 to 64 bytes of UTF-8, no control characters, no "
                + "blanks at either end"),
    ]

    static let currency: JSONValue = [
        "type": "string", "enum": .array(Currency.knownCodes.map(JSONValue.string)),
        "description": "ISO 4217 code, e.g. BDT, JPY, KWD",
    ]

    static func integer(_ description: String, minimum: Int = 0, maximum: Int? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("type", "integer"), ("minimum", .integer(minimum)), ("description", .string(description)),
        ]
        if let maximum { members.append(("maximum", .integer(maximum))) }
        return .object(members)
    }

    static func choice(_ description: String, _ values: [String]) -> JSONValue {
        ["type": "string", "enum": .array(values.map(JSONValue.string)), "description": .string(description)]
    }

    static func array(_ items: JSONValue, _ description: String) -> JSONValue {
        ["type": "array", "items": items, "description": .string(description)]
    }

    static let id: JSONValue = [
        "type": "string", "pattern": .string(idPattern),
        "description": "A 128-bit id in decimal, 1 to 2^128 - 1, without sign, blanks or leading zeros",
    ]
    /// Decimal 1 to 2^128 - 1 exactly: up to 38 digits, or 39 digits no more than the largest id,
    /// which is spelt out digit by digit (below the largest at the first digit that differs).
    static let idPattern: String = {
        let largest = Array(String(UInt128.max))
        var alternatives = ["[1-9][0-9]{0,\(largest.count - 2)}"]
        for (position, digit) in largest.enumerated() {
            // Safe: the characters are decimal digits.
            let value = digit.wholeNumberValue!
            let lowest = position == 0 ? 1 : 0
            guard value > lowest else { continue }
            let below = value - 1 == lowest ? "\(lowest)" : "[\(lowest)-\(value - 1)]"
            let rest = largest.count - position - 1
            alternatives.append(String(largest[..<position]) + below + (rest > 0 ? "[0-9]{\(rest)}" : ""))
        }
        alternatives.append(String(largest))
        return "^(" + alternatives.joined(separator: "|") + ")$"
    }()
    static let amountIn: JSONValue = [
        "description": .string(
            "A decimal string in major units (\"1000.00\", \"1,000.50\", \"৳1,000\") or a whole number of "
                + "major units; never a floating-point number, a blank or a currency code. At most the currency's "
                + "decimals (more only as trailing zeros)."),
        "oneOf": [
            ["type": "string", "pattern": "^৳?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\\.[0-9]+)?$"],
            [
                "type": "integer", "minimum": 0,
                "description": "Digits only: a number written with a fraction or an exponent (5.0, 5e0) is refused",
            ],
        ],
    ]
    /// An amount that must be more than zero (a reservation's).
    static let positiveAmountIn: JSONValue = amountIn.adding([
        (
            "oneOf",
            [
                ["type": "string", "pattern": "^৳?(?=[0-9,.]*[1-9])([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\\.[0-9]+)?$"],
                ["type": "integer", "minimum": 1],
            ]
        )
    ])
    static let amountOut: JSONValue = [
        "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "A decimal string in major units",
    ]
    static let time: JSONValue = [
        "type": "string", "format": "date-time", "description": "UTC, ISO 8601 with milliseconds",
    ]
    static let nanoseconds = integer("Nanoseconds since the Unix epoch (the ledger's sequencer time)")
    static let accountFlags = array(
        choice("An account flag", ["debitsMustNotExceedCredits", "creditsMustNotExceedDebits"]), "Account flags"
    ).adding([("maxItems", .integer(JSONScanner.maximumFlagNames))])
    static let transferFlags = array(
        choice("A transfer flag", ["linked", "pending", "postPending", "voidPending", "refund"]), "Transfer flags"
    ).adding([("maxItems", .integer(JSONScanner.maximumFlagNames))])

    static var all: [(String, JSONValue)] {
        [
            (
                "Problem",
                object(
                    "An RFC 9457 problem: type is stable per kind of error (/problems/<kind>); detail says what, "
                        + "where and why.", required: ["type", "title", "status", "detail", "instance"],
                    [
                        ("type", ["type": "string", "pattern": "^/problems/[a-z0-9-]+$"]),
                        ("title", string("A short summary of the kind")),
                        ("status", integer("The HTTP status", minimum: 400, maximum: 599)),
                        ("detail", string("This occurrence, in words")), ("instance", string("The request's path")),
                    ])
            ),
            (
                "Health",
                object(
                    "Liveness and ledger readiness",
                    required: ["status", "ledger", "committedSequence", "queueDepth", "scrub"],
                    [
                        (
                            "status",
                            choice(
                                "ok; degraded when a log record is damaged (new postings are still safe); "
                                    + "unavailable when the ledger stopped", ["ok", "degraded", "unavailable"])
                        ),
                        (
                            "ledger",
                            choice(
                                "ready; damaged when a record failed its checksum; failed when it stopped "
                                    + "taking writes",
                                ["ready", "damaged", "failed"])
                        ),
                        ("committedSequence", integer("The last log sequence number made durable")),
                        ("queueDepth", integer("Submissions waiting for the sequencer")),
                        ("detail", string("Why the ledger stopped")),
                        (
                            "damage",
                            array(
                                object(
                                    "A damaged log record", required: ["file", "offset", "reason"],
                                    [
                                        ("file", string("The segment file")),
                                        ("offset", integer("The byte offset of the record in the file")),
                                        ("sequence", integer("The sequence that was being read")),
                                        ("reason", string("What is wrong")),
                                    ]), "Damaged records found by reads and by the scrub (at most 20)")
                        ),
                        (
                            "scrub",
                            object(
                                "The background verification of sealed segments",
                                required: ["passes", "bytesVerified"],
                                [
                                    ("passes", integer("Passes over every sealed segment finished")),
                                    ("bytesVerified", integer("Bytes of segment files verified since start")),
                                    ("lastPassSegments", integer("Segments the last pass verified")),
                                    ("lastPassEndedAt", time),
                                ])
                        ),
                    ])
            ),
            (
                "AccountRequest",
                object(
                    "A new account; the same request again answers the same account", required: ["key", "currency"],
                    [
                        ("id", OpenAPISchemas.id.adding([("description", "Default: derived from the key")])),
                        ("key", accountKey), ("currency", currency), ("flags", accountFlags),
                        ("code", integer("Chart-of-accounts code", maximum: 65_535)),
                    ])
            ),
            (
                "Account",
                object(
                    "An account with its balances in major units",
                    required: [
                        "id", "key", "currency", "flags", "code", "debitsPending", "debitsPosted", "creditsPending",
                        "creditsPosted", "available", "createdAt",
                    ],
                    [
                        ("id", id), ("key", string("Unique human key")), ("currency", string("ISO 4217 code")),
                        ("flags", accountFlags), ("code", integer("Chart-of-accounts code", maximum: 65_535)),
                        ("debitsPending", amountOut), ("debitsPosted", amountOut), ("creditsPending", amountOut),
                        ("creditsPosted", amountOut),
                        (
                            "available",
                            amountOut.adding([("description", "Credits posted less debits posted and pending")])
                        ),
                        ("createdAt", time.adding([("description", "When the ledger created it (UTC)")])),
                    ])
            ),
            (
                "TransferRequest",
                object(
                    "One event: a posting, a hold (pending), a capture (postPending) or release (voidPending) of a "
                        + "hold named by pendingId, or a refund", required: ["id"],
                    [
                        ("id", id.adding([("description", "Chosen by the client: the idempotency key")])),
                        ("debitAccount", accountKey.adding([("description", "The debited account's key")])),
                        ("creditAccount", accountKey.adding([("description", "The credited account's key")])),
                        ("amount", amountIn),
                        ("pendingId", id),
                        ("timeoutSeconds", integer("A hold's payment window", maximum: 4_294_967_295)),
                        ("code", integer("Business code", maximum: 65_535)),
                        ("reference", text("Payment or booking reference", maximumBytes: 32)), ("flags", transferFlags),
                    ]
                ).adding([
                    (
                        "anyOf",
                        [
                            ["required": ["debitAccount"]], ["required": ["creditAccount"]],
                            ["required": ["pendingId"]],
                        ]
                    )
                ])
            ),
            (
                "Transfer",
                object(
                    "A committed transfer",
                    required: [
                        "id", "debitAccount", "creditAccount", "amount", "currency", "timeoutSeconds", "code",
                        "reference", "flags", "state", "timestamp", "refunded",
                    ],
                    [
                        ("id", id), ("debitAccount", string("Account key")), ("creditAccount", string("Account key")),
                        ("amount", amountOut), ("currency", string("ISO 4217 code")), ("pendingId", id),
                        ("timeoutSeconds", integer("A hold's payment window")), ("code", integer("Business code")),
                        ("reference", string("Payment or booking reference")), ("flags", transferFlags),
                        (
                            "state",
                            choice(
                                "Where the transfer stands",
                                ["POSTED", "PENDING", "PENDING_POSTED", "PENDING_VOIDED", "PENDING_EXPIRED"])
                        ),
                        (
                            "timestamp",
                            nanoseconds.adding([
                                ("description", "The ledger's timestamp: unique, in commit order, the history cursor")
                            ])
                        ),
                        ("expiresAt", time.adding([("description", "When a hold's payment window closes (UTC)")])),
                        ("refunded", amountOut),
                    ])
            ),
            (
                "BatchRequest",
                object(
                    "Up to 8,190 events applied in order as one batch", required: ["transfers"],
                    [("transfers", array(ref("TransferRequest"), "The events").adding([("minItems", 1)]))])
            ),
            (
                "BatchResult",
                object(
                    "One event's result", required: ["id", "result", "code"],
                    [
                        ("id", id), ("result", string("The result code's name: ok, exists, insufficientFunds, …")),
                        ("code", integer("The result code's number", maximum: 255)),
                        ("timestamp", nanoseconds),
                    ])
            ),
            (
                "BatchAnswer",
                object("A result per event", required: ["results"], [("results", array(ref("BatchResult"), ""))])
            ),
            (
                "History",
                object(
                    "A page of an account's transfers in commit order", required: ["transfers"],
                    [
                        ("transfers", array(ref("Transfer"), "The page")),
                        ("next", string("The cursor of the next page; absent on the last")),
                    ])
            ),
            (
                "RefundRequest",
                object(
                    "A refund of a posted transfer: amount, or all that remains refundable",
                    required: ["id", "transferId"],
                    [
                        ("id", id), ("transferId", id), ("amount", amountIn),
                        ("reference", text("Reference", maximumBytes: 32)),
                        ("code", integer("Business code", maximum: 65_535)),
                    ])
            ),
            (
                "DueHolds",
                object(
                    "Holds whose payment window has closed, earliest deadline first", required: ["ids"],
                    [("ids", array(id, "The holds' transfer ids"))])
            ),
            (
                "BookingEventPage",
                object(
                    "What happened to reservations, in log order, and the last log sequence read",
                    required: ["events", "through", "logEnd"],
                    [
                        (
                            "events",
                            array(
                                object(
                                    "One event; its identity is subjectSequence and kind",
                                    required: [
                                        "kind", "sequence", "subjectSequence", "holdId", "amountMinor", "currency",
                                        "occurredAtNanoseconds", "windowEndsAtNanoseconds",
                                    ],
                                    [
                                        (
                                            "kind",
                                            choice(
                                                "What happened",
                                                [
                                                    "reservation_created", "payment_confirmed", "cancelled", "expired",
                                                    "refunded",
                                                ])
                                        ),
                                        ("sequence", digits("The log sequence of the record that made it happen")),
                                        ("subjectSequence", digits("The log sequence of the transfer it is about")),
                                        ("holdId", id), ("amountMinor", digits("The amount concerned, minor units")),
                                        ("currency", currency),
                                        ("occurredAtNanoseconds", digits("When, nanoseconds since 1970")),
                                        (
                                            "windowEndsAtNanoseconds",
                                            digits("When the payment window closes, nanoseconds since 1970")
                                        ),
                                    ]), "The events")
                        ),
                        ("through", digits("The last log sequence read: the next call's after")),
                        ("logEnd", digits("The last readable log sequence when this was read")),
                    ])
            ),
            (
                "ExpireRequest",
                object(
                    "Holds to expire, applied in order as one batch", required: ["ids"],
                    [("ids", array(id, "The holds' transfer ids").adding([("minItems", 1), ("maxItems", 8_190)]))])
            ),
            (
                "AccountPage",
                object(
                    "A page of accounts in creation order", required: ["accounts"],
                    [
                        ("accounts", array(ref("Account"), "The page")),
                        ("next", string("The cursor of the next page; absent on the last")),
                    ])
            ),
        ] + OpenAPIReservationSchemas.all + OpenAPIJobs.schemas + OpenAPIReconciliation.schemas
            + OpenAPIContacts.schemas + OpenAPINotifications.schemas
    }
}
