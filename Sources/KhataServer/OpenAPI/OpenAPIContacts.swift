/// The contacts' schemas in the OpenAPI document.
enum OpenAPIContacts {
    typealias S = OpenAPISchemas

    static let phone: JSONValue = [
        "type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$", "description": "E.164",
    ]
    static let channel = S.choice("A channel a customer is reached on", ["sms", "whatsapp", "email"])
    static let language = S.choice("The language of their messages", ["bn", "en"])

    static var schemas: [(String, JSONValue)] {
        [
            (
                "Contact",
                S.object(
                    "How a customer is reached, and what they chose",
                    required: ["customerId", "language", "optedOut", "optedOutChannels", "updatedAt"],
                    [
                        ("customerId", S.string("The customer's id")), ("phone", phone), ("whatsapp", phone),
                        ("email", S.string("An email address")), ("language", language),
                        ("preferredChannel", channel),
                        ("optedOut", ["type": "boolean", "description": "No messages at all"]),
                        ("optedOutChannels", S.array(channel, "Channels opted out of one by one")),
                        ("updatedAt", S.time),
                    ])
            ),
            (
                "ContactUpdate",
                S.object(
                    "A customer's contact details and choices; what is left out is not kept", required: [],
                    [
                        (
                            "phone",
                            S.string("A phone number: E.164, 00 and the country code, or a local 0… (given +880)")
                        ),
                        ("whatsapp", S.string("A WhatsApp number, in the same forms")),
                        ("email", S.string("An email address")), ("language", language),
                        ("preferredChannel", channel),
                        ("optedOut", ["type": "boolean", "description": "No messages at all"]),
                        ("optedOutChannels", S.array(channel, "Channels opted out of one by one")),
                    ])
            ),
        ]
    }
}
