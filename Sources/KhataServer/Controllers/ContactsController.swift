import HTTPTypes
import Hummingbird
import JSONInput
import JobStore

/// `/v1/contacts/{customerId}`: how a customer is reached (phone, WhatsApp, email), in which
/// language, on which channel they prefer, and which channels they opted out of. Scope `admin`:
/// these are a person's details.
struct ContactsController: APIController {
    typealias D = OpenAPIDocument
    let contacts: Contacts
    let bodies: BodyReader
    let now: @Sendable () -> UInt64

    var routes: [APIRoute] {
        let customer = D.pathParameter(
            "customerId", ["type": "string", "minLength": 1, "maxLength": 128, "description": "The customer's id"])
        return [
            APIRoute(
                .get, "/v1/contacts/{customerId}", scope: .admin,
                OpenAPIOperation(
                    summary: "A customer's contact details and choices", parameters: [customer],
                    answers: [(200, D.answer("The contact", "Contact"))], problems: [400, 404, 503])
            ) { _, context in
                let id = try Self.customerId(context)
                guard let contact = try await storeCall({ try await contacts.contact(customerId: id) }) else {
                    throw Problem.notFound("contact", "no contact is kept for customer \(JSONInput.echo(id))")
                }
                return try JSONResponse.make(ContactBody(contact))
            },
            APIRoute(
                .put, "/v1/contacts/{customerId}", scope: .admin,
                OpenAPIOperation(
                    summary: "Keep a customer's contact details and choices, replacing what was kept",
                    parameters: [customer], body: "ContactUpdate",
                    answers: [(200, D.answer("The contact as kept", "Contact"))], problems: [400, 413, 503])
            ) { request, context in
                let id = try Self.customerId(context)
                let contact = try ContactUpdate.parse(try await bodies.read(request), customerId: id)
                let saved = try await storeCall { try await contacts.save(contact, at: now()) }
                return try JSONResponse.make(ContactBody(saved))
            },
        ]
    }

    static func customerId(_ context: KhataRequestContext) throws -> String {
        let id = try context.pathParameter("customerId")
        guard !id.isEmpty, id.utf8.count <= 128, id.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw Problem.badRequest(
                "invalid-customer-id", "Invalid customer id",
                "a customer id is 1 to 128 bytes without control characters, not \"\(JSONInput.echo(id))\"")
        }
        return id
    }
}

/// A contact as the API shows it.
struct ContactBody: Encodable {
    var customerId: String
    var phone: String?
    var whatsapp: String?
    var email: String?
    var language: String
    var preferredChannel: String?
    var optedOut: Bool
    var optedOutChannels: [String]
    var updatedAt: String

    init(_ contact: Contact) {
        customerId = contact.customerId
        phone = contact.phone
        whatsapp = contact.whatsapp
        email = contact.email
        language = contact.language.rawValue
        preferredChannel = contact.preferredChannel?.rawValue
        optedOut = contact.optedOut
        optedOutChannels = NotificationChannel.allCases.filter(contact.optedOutChannels.contains).map(\.rawValue)
        updatedAt = contact.updatedAt
    }
}

/// What `PUT /v1/contacts/{customerId}` takes. Phone numbers come in any usual form and are kept
/// in E.164 (a local `01…` number gets +880).
enum ContactUpdate {
    static let reader = JSONObjectReader(
        what: "a contact",
        known: ["phone", "whatsapp", "email", "language", "preferredChannel", "optedOut", "optedOutChannels"])
    static let channels = NotificationChannel.personal

    static func parse(_ bytes: [UInt8], customerId: String) throws -> Contact {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var contact = Contact(customerId: customerId)
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "phone", "whatsapp":
                    let text = try scanner.text(field: field)
                    let number: String
                    do {
                        number = try PhoneNumbers.e164(text)
                    } catch let error as ContactError {
                        throw JSONInputError(.invalidField, field: field, "\(field) \(error.reason)")
                    }
                    if field == "phone" { contact.phone = number } else { contact.whatsapp = number }
                case "email": contact.email = try scanner.text(field: field)
                case "language":
                    let text = try scanner.text(field: field)
                    guard let language = ContactLanguage(rawValue: text) else {
                        throw JSONInputError(.invalidField, field: field, "language must be bn or en")
                    }
                    contact.language = language
                case "preferredChannel": contact.preferredChannel = try channel(try scanner.text(field: field), field)
                case "optedOut":
                    do {
                        contact.optedOut = try scanner.readBool()
                    } catch {
                        throw JSONInputError(.invalidField, field: field, "optedOut must be true or false")
                    }
                default:
                    let names = try scanner.textList(field: field, maximumCount: channels.count)
                    for (index, name) in names.enumerated() {
                        contact.optedOutChannels.insert(try channel(name, "\(field)[\(index)]"))
                    }
                }
            }
            do {
                try Contacts.validate(contact)
            } catch let error as ContactError {
                throw JSONInputError(.invalidField, field: error.field, "\(error.field) \(error.reason)")
            }
            return contact
        }
    }

    static func channel(_ name: String, _ field: String) throws -> NotificationChannel {
        guard let channel = NotificationChannel(personal: name) else {
            throw JSONInputError(
                .invalidField, field: field,
                "\(field) \"\(JSONInput.echo(name))\" is not one of " + channels.map(\.rawValue).joined(separator: ", ")
            )
        }
        return channel
    }
}
