/// The language a customer reads their messages in.
public enum ContactLanguage: String, Sendable, CaseIterable {
    case bn, en
}

/// How to reach a customer, and whether they want to be reached.
public struct Contact: Sendable, Equatable {
    public var customerId: String
    /// E.164, e.g. `+8801712345678`.
    public var phone: String?
    /// E.164, for WhatsApp.
    public var whatsapp: String?
    public var email: String?
    public var language: ContactLanguage
    /// True when the customer asked for no messages: nothing is queued for them.
    public var optedOut: Bool
    /// The channel the customer prefers, when they said.
    public var preferredChannel: NotificationChannel?
    /// Channels the customer opted out of, each on its own (`optedOut` is all of them).
    public var optedOutChannels: Set<NotificationChannel>
    /// UTC text (see `UTCTime`); set by `Contacts.save`.
    public var updatedAt: String

    public init(
        customerId: String, phone: String? = nil, whatsapp: String? = nil, email: String? = nil,
        language: ContactLanguage = .bn, optedOut: Bool = false, preferredChannel: NotificationChannel? = nil,
        optedOutChannels: Set<NotificationChannel> = [], updatedAt: String = ""
    ) {
        self.customerId = customerId
        self.phone = phone
        self.whatsapp = whatsapp
        self.email = email
        self.language = language
        self.optedOut = optedOut
        self.preferredChannel = preferredChannel
        self.optedOutChannels = optedOutChannels
        self.updatedAt = updatedAt
    }

    /// True when a message may go to the customer on `channel`: they have an address there and
    /// opted out of neither everything nor that channel.
    public func accepts(_ channel: NotificationChannel) -> Bool {
        !optedOut && !optedOutChannels.contains(channel) && address(for: channel) != nil
    }

    /// The address for `channel`, if the customer has one (webhooks need none).
    public func address(for channel: NotificationChannel) -> String? {
        switch channel {
        case .sms: phone
        case .whatsapp: whatsapp
        case .email: email
        case .webhook: customerId
        }
    }
}

/// What a booking says of its customer's contact; nil leaves what is kept.
public struct ContactFromBooking: Sendable, Equatable {
    public var customerId: String
    /// E.164.
    public var phone: String
    public var email: String
    public var language: ContactLanguage?
    public var preferredChannel: NotificationChannel?

    public init(
        customerId: String, phone: String, email: String, language: ContactLanguage?,
        preferredChannel: NotificationChannel?
    ) {
        self.customerId = customerId
        self.phone = phone
        self.email = email
        self.language = language
        self.preferredChannel = preferredChannel
    }
}

/// A contact refused before it reached the store: the field, the value and why.
public struct ContactError: Error, Equatable, CustomStringConvertible, Sendable {
    public let field: String
    public let value: String
    public let reason: String

    public var description: String { "contact field \(field) \"\(value)\": \(reason)" }
}

/// Customers' contact details in the job store.
public struct Contacts: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Checks `contact`'s fields: a customer id, phone numbers in E.164 (`+` and 8 to 15 digits),
    /// an email address with one `@` and a dot in its domain.
    public static func validate(_ contact: Contact) throws(ContactError) {
        let id = contact.customerId
        guard !id.isEmpty, id.utf8.count <= 128 else {
            throw ContactError(field: "customerId", value: id, reason: "must be 1 to 128 bytes")
        }
        // Numbers are kept as `PhoneNumbers.e164` writes them, by one rule for every way in.
        for (field, number) in [("phone", contact.phone), ("whatsapp", contact.whatsapp)] {
            guard let number else { continue }
            let canonical: String
            do throws(ContactError) {
                canonical = try PhoneNumbers.e164(number)
            } catch {
                throw ContactError(field: field, value: number, reason: error.reason)
            }
            guard canonical == number else {
                throw ContactError(field: field, value: number, reason: "must be stored in E.164 (\(canonical))")
            }
        }
        if let email = contact.email {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
                !parts[1].hasSuffix("."), email.utf8.count <= 254, !email.contains(where: \.isWhitespace)
            else {
                throw ContactError(field: "email", value: email, reason: "is not an email address")
            }
        }
    }

    /// Stores `contact`, replacing what was kept for its customer. Answers it as stored.
    @discardableResult
    public func save(_ contact: Contact, at nanoseconds: UInt64) async throws -> Contact {
        try Self.validate(contact)
        var stored = contact
        stored.updatedAt = UTCTime.text(nanoseconds: nanoseconds)
        let row = stored
        try await database.perform { connection in
            try connection.run(
                """
                INSERT INTO contacts (customer_id, phone, whatsapp, email, language, opted_out, preferred_channel,
                    opted_out_channels, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (customer_id) DO UPDATE SET phone = excluded.phone, whatsapp = excluded.whatsapp,
                    email = excluded.email, language = excluded.language, opted_out = excluded.opted_out,
                    preferred_channel = excluded.preferred_channel,
                    opted_out_channels = excluded.opted_out_channels, updated_at = excluded.updated_at
                """,
                [
                    .text(row.customerId), row.phone.map(SQLValue.text) ?? .null,
                    row.whatsapp.map(SQLValue.text) ?? .null, row.email.map(SQLValue.text) ?? .null,
                    .text(row.language.rawValue), .integer(row.optedOut ? 1 : 0),
                    row.preferredChannel.map { .text($0.rawValue) } ?? .null,
                    .text(Self.text(row.optedOutChannels)), .text(row.updatedAt),
                ])
        }
        return stored
    }

    /// Keeps what a booking says of its customer: their phone and email, and their language and
    /// preferred channel when the booking names them. Everything else kept for them (opt-outs,
    /// WhatsApp, a language chosen earlier) stays.
    public func note(_ booked: ContactFromBooking, at nanoseconds: UInt64) async throws {
        var contact = Contact(
            customerId: booked.customerId, phone: booked.phone, email: booked.email,
            language: booked.language ?? .bn, preferredChannel: booked.preferredChannel)
        try Self.validate(contact)
        contact.updatedAt = UTCTime.text(nanoseconds: nanoseconds)
        var updates = ["phone = excluded.phone", "email = excluded.email", "updated_at = excluded.updated_at"]
        if booked.language != nil { updates.append("language = excluded.language") }
        if booked.preferredChannel != nil { updates.append("preferred_channel = excluded.preferred_channel") }
        let row = contact
        let sql = """
            INSERT INTO contacts (customer_id, phone, email, language, preferred_channel, updated_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (customer_id) DO UPDATE SET \(updates.joined(separator: ", "))
            """
        try await database.perform { connection in
            try connection.run(
                sql,
                [
                    .text(row.customerId), row.phone.map(SQLValue.text) ?? .null,
                    row.email.map(SQLValue.text) ?? .null, .text(row.language.rawValue),
                    row.preferredChannel.map { .text($0.rawValue) } ?? .null, .text(row.updatedAt),
                ])
        }
    }

    public func contact(customerId: String) async throws -> Contact? {
        try await contacts(customerIds: [customerId])[customerId]
    }

    /// The stored contacts of many customers at once, by customer id (customers with none
    /// stored are left out): one query per 500 customers.
    public func contacts(customerIds: [String]) async throws -> [String: Contact] {
        let unique = Set(customerIds).map(SQLValue.text)
        guard !unique.isEmpty else { return [:] }
        return try await database.perform { connection in
            let rows = try connection.rows(
                """
                SELECT customer_id, phone, whatsapp, email, language, opted_out, updated_at, preferred_channel,
                    opted_out_channels
                FROM contacts WHERE customer_id IN
                """, in: unique)
            return Dictionary(
                rows.map { row in
                    let contact = Contact(
                        customerId: row[0].text ?? "", phone: row[1].text, whatsapp: row[2].text, email: row[3].text,
                        language: ContactLanguage(rawValue: row[4].text ?? "") ?? .bn, optedOut: row[5].integer == 1,
                        preferredChannel: row[7].text.flatMap(NotificationChannel.init(rawValue:)),
                        optedOutChannels: Self.channels(row[8].text ?? ""), updatedAt: row[6].text ?? "")
                    return (contact.customerId, contact)
                }
            ) { first, _ in first }
        }
    }

    /// Channels as stored: their names in a fixed order, comma-separated.
    static func text(_ channels: Set<NotificationChannel>) -> String {
        NotificationChannel.allCases.filter(channels.contains).map(\.rawValue).joined(separator: ",")
    }

    static func channels(_ text: String) -> Set<NotificationChannel> {
        Set(text.split(separator: ",").compactMap { NotificationChannel(rawValue: String($0)) })
    }
}
