import ArgumentParser
import Foundation
import JobStore
import Ledger

/// `khata contacts`: how customers are reached, and what they chose.
struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "Show and change customers' contact details and messaging choices.",
        discussion: """
            A contact is kept when a reservation is made (its phone in E.164, its email, and the \
            language and preferred channel when the request names them) and changed here or with \
            PUT /v1/contacts/{customerId}. Phone numbers are taken in any usual form (+880…, \
            00880…, or a local 01…, given +880) and printed masked unless --json.
            """,
        subcommands: [Show.self, Set.self])

    static func contacts(_ global: GlobalOptions) async throws -> Contacts {
        let (settings, _) = try await global.load(label: "khata.contacts")
        return Contacts(database: try await settings.openJobDatabase())
    }

    /// One contact as a person reads it (numbers masked) or as JSON (everything).
    static func print(_ contact: Contact, json: Bool) {
        let optedOut = NotificationChannel.allCases.filter(contact.optedOutChannels.contains).map(\.rawValue)
        if json {
            var object: [String: Any] = [
                "customerId": contact.customerId, "language": contact.language.rawValue,
                "optedOut": contact.optedOut, "optedOutChannels": optedOut, "updatedAt": contact.updatedAt,
            ]
            object["phone"] = contact.phone
            object["whatsapp"] = contact.whatsapp
            object["email"] = contact.email
            object["preferredChannel"] = contact.preferredChannel?.rawValue
            Swift.print(LedgerSession.jsonLine(object))
            return
        }
        Swift.print("customer   \(contact.customerId)")
        Swift.print("phone      \(contact.phone.map(PhoneNumbers.masked) ?? "none")")
        Swift.print("whatsapp   \(contact.whatsapp.map(PhoneNumbers.masked) ?? "none")")
        Swift.print("email      \(contact.email ?? "none")")
        Swift.print("language   \(contact.language.rawValue)")
        Swift.print("prefers    \(contact.preferredChannel?.rawValue ?? "not said")")
        let refused =
            contact.optedOut ? "every channel" : (optedOut.isEmpty ? "none" : optedOut.joined(separator: ", "))
        Swift.print("opted out  \(refused)")
        Swift.print("updated    \(contact.updatedAt)")
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a customer's contact.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The customer's id.", valueName: "customer"))
        var customerId: String

        @Flag(help: "Print JSON, numbers unmasked.")
        var json = false

        func run() async throws {
            guard let contact = try await ContactsCommand.contacts(global).contact(customerId: customerId) else {
                throw CommandFailure("no contact is kept for customer \(customerId)")
            }
            ContactsCommand.print(contact, json: json)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a customer's contact: what is not given stays as it is.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The customer's id.", valueName: "customer"))
        var customerId: String

        @Option(help: "Phone number (+880…, 00880… or a local 01…).")
        var phone: String?

        @Option(help: "WhatsApp number, in the same forms.")
        var whatsapp: String?

        @Option(help: "Email address.")
        var email: String?

        @Option(help: "bn or en.")
        var language: String?

        @Option(help: "sms, whatsapp or email.")
        var preferredChannel: String?

        @Option(help: "Opt out of a channel: sms, whatsapp or email (repeat; all for every channel).")
        var optOut: [String] = []

        @Option(help: "Opt back in to a channel: sms, whatsapp or email (repeat; all for every channel).")
        var optIn: [String] = []

        @Flag(help: "Print the contact as JSON afterwards, numbers unmasked.")
        var json = false

        func run() async throws {
            let contacts = try await ContactsCommand.contacts(global)
            var contact = try await contacts.contact(customerId: customerId) ?? Contact(customerId: customerId)
            do {
                if let phone { contact.phone = try PhoneNumbers.e164(phone) }
                if let whatsapp { contact.whatsapp = try PhoneNumbers.e164(whatsapp) }
            } catch {
                throw CommandFailure("\(error)")
            }
            if let email { contact.email = email }
            if let language {
                guard let chosen = ContactLanguage(rawValue: language) else {
                    throw CommandFailure("--language must be bn or en, not \(language)")
                }
                contact.language = chosen
            }
            if let preferredChannel {
                contact.preferredChannel = try Self.channel(preferredChannel, "--preferred-channel")
            }
            for name in optOut {
                if name == "all" {
                    contact.optedOut = true
                } else {
                    contact.optedOutChannels.insert(try Self.channel(name, "--opt-out"))
                }
            }
            for name in optIn {
                if name == "all" {
                    contact.optedOut = false
                    contact.optedOutChannels = []
                } else {
                    contact.optedOutChannels.remove(try Self.channel(name, "--opt-in"))
                }
            }
            let saved: Contact
            do {
                saved = try await contacts.save(contact, at: Ledger.wallClockNanoseconds())
            } catch let error as ContactError {
                throw CommandFailure("\(error)")
            }
            ContactsCommand.print(saved, json: json)
        }

        static func channel(_ name: String, _ option: String) throws -> NotificationChannel {
            guard let channel = NotificationChannel(personal: name) else {
                throw CommandFailure(
                    "\(option) must be one of "
                        + NotificationChannel.personal.map(\.rawValue).joined(separator: ", ") + ", not \(name)")
            }
            return channel
        }
    }
}
