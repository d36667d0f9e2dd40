import Foundation
import JobStore
import Mustache
import Synchronization

/// The values a message may name, already written as the customer reads them (`৳1,500.00`,
/// `bKash`, a time in Asia/Dhaka).
public struct MessageValues: Sendable, Equatable {
    public var bookingId: String
    public var paymentReference: String
    public var amount: String
    public var refundAmount: String
    public var provider: String
    public var deadline: String

    public init(
        bookingId: String, paymentReference: String, amount: String, refundAmount: String = "", provider: String,
        deadline: String
    ) {
        self.bookingId = bookingId
        self.paymentReference = paymentReference
        self.amount = amount
        self.refundAmount = refundAmount
        self.provider = provider
        self.deadline = deadline
    }

    /// The names templates may use.
    public static let names: Set<String> = Set(PlainTemplate.Field.allCases.map(\.rawValue))
}

/// A message ready for a transport: an email has a subject, SMS and WhatsApp only a body.
public struct RenderedMessage: Sendable, Equatable {
    public var subject: String?
    public var body: String
}

/// A template that cannot be used, named by its file: a configured folder's templates are read
/// when the program starts, and a bad one stops it with this.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "message template \(file): \(reason)" }
}

/// The message templates, one per event, channel (SMS, WhatsApp, email) and language (Bangla,
/// English): `<event>.<channel>.<language>.mustache`. The defaults are compiled in (and readable
/// in `Samples/templates/`); a folder's files override them one by one. Values go in unescaped
/// (`{{{amount}}}`): messages are plain text. An email's first line is `Subject: …`, then a blank
/// line, then its body.
public struct MessageTemplates: Sendable {
    let templates: [String: MustacheTemplate]
    /// The same templates where they are plain (text and unescaped values only).
    let plainTemplates: [String: PlainTemplate]

    /// The channels a customer is written to.
    public static let channels: [NotificationChannel] = [.sms, .whatsapp, .email]

    /// A template's name (its file's, without `.mustache`).
    public static func name(_ event: NotificationEvent, _ channel: NotificationChannel, _ language: ContactLanguage)
        -> String
    {
        "\(event.rawValue).\(channel.rawValue).\(language.rawValue)"
    }

    /// Every template name there is.
    public static let names: Set<String> = Set(
        NotificationEvent.allCases.flatMap { event in
            channels.flatMap { channel in ContactLanguage.allCases.map { name(event, channel, $0) } }
        })

    /// The defaults, with the templates of `folder` (when given) in their place.
    public init(overridesFolder folder: String? = nil) throws(TemplateError) {
        var texts = DefaultTemplates.all
        precondition(Set(texts.keys) == Self.names, "a default template for every event, channel and language")
        var files: [String: String] = [:]
        if let folder {
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            } catch {
                throw TemplateError(file: folder, reason: "the folder cannot be read (\(error.localizedDescription))")
            }
            for entry in entries where entry.hasSuffix(".mustache") {
                let path = folder + "/" + entry
                let name = String(entry.dropLast(".mustache".count))
                guard Self.names.contains(name) else {
                    throw TemplateError(
                        file: path,
                        reason: "is not a template name: names are <event>.<channel>.<language>.mustache with events "
                            + NotificationEvent.allCases.map(\.rawValue).joined(separator: ", ")
                            + ", channels sms, whatsapp, email and languages bn, en")
                }
                guard let data = FileManager.default.contents(atPath: path),
                    let text = String(validating: data, as: UTF8.self)
                else { throw TemplateError(file: path, reason: "cannot be read as UTF-8 text") }
                texts[name] = text
                files[name] = path
            }
        }
        // The same texts parse the same: a dispatch pass runs every minute, and parsing all the
        // templates again took most of an idle pass's time.
        if let known = Self.parsedBefore.withLock({ $0[texts] }) {
            self = known
            return
        }
        var parsed: [String: MustacheTemplate] = [:]
        for (name, text) in texts {
            let file = files[name] ?? "(compiled in) \(name).mustache"
            try Self.check(text, name: name, file: file)
            do {
                parsed[name] = try MustacheTemplate(string: text)
            } catch {
                throw TemplateError(file: file, reason: "does not parse as Mustache (\(error))")
            }
        }
        templates = parsed
        plainTemplates = texts.compactMapValues(PlainTemplate.init)
        Self.parsedBefore.withLock { cache in
            // A few sets at most (the defaults, a folder as it was edited); a bound all the same.
            if cache.count >= 8 { cache.removeAll() }
            cache[texts] = self
        }
    }

    /// Templates parsed before, by their texts (checked texts only: a bad one never gets here).
    private static let parsedBefore = Mutex<[[String: String]: MessageTemplates]>([:])

    /// The message of `event` on `channel` in `language`, with `values` in it.
    public func render(
        _ event: NotificationEvent, _ channel: NotificationChannel, _ language: ContactLanguage, _ values: MessageValues
    ) -> RenderedMessage {
        let name = Self.name(event, channel, language)
        guard let template = templates[name] else { preconditionFailure("no template \(name)") }
        let text: String
        if let plain = plainTemplates[name] {
            text = plain.render(values)
        } else {
            text = template.render(Self.model(values))
        }
        guard channel == .email else { return RenderedMessage(subject: nil, body: Self.trimmed(text)) }
        // Safe: check(_:) made sure an email template starts with a subject line and a blank line.
        let parts = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        return RenderedMessage(
            subject: String(parts[0].dropFirst("Subject: ".count)), body: Self.trimmed(String(parts[2])))
    }

    /// The values as Mustache looks them up.
    static func model(_ values: MessageValues) -> [String: String] {
        Dictionary(uniqueKeysWithValues: PlainTemplate.Field.allCases.map { ($0.rawValue, $0.value(in: values)) })
    }

    /// `name` rendered by Mustache whether or not it is plain: what the plain renderer must equal.
    func renderedByMustache(_ name: String, _ values: MessageValues) -> String? {
        templates[name]?.render(Self.model(values))
    }

    /// `name` rendered by the plain renderer, when the template is plain.
    func renderedPlain(_ name: String, _ values: MessageValues) -> String? {
        plainTemplates[name]?.render(values)
    }

    /// A template's rules beyond Mustache's own: only the values there are, and an email's
    /// subject line first.
    static func check(_ text: String, name: String, file: String) throws(TemplateError) {
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            var tag = rest[..<close.lowerBound]
            rest = rest[close.upperBound...]
            if tag.hasPrefix("!") { continue }
            tag = tag.drop { "{#^/&> ".contains($0) }
            let variable = tag.trimmingCharacters(in: CharacterSet(charactersIn: " }"))
            guard MessageValues.names.contains(variable) else {
                throw TemplateError(
                    file: file,
                    reason: "names \"\(variable)\", which no message has (values: "
                        + MessageValues.names.sorted().joined(separator: ", ") + ")")
            }
        }
        if name.contains(".email.") {
            let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
            guard lines.count == 3, lines[0].hasPrefix("Subject: "), lines[0].count > "Subject: ".count,
                lines[1].isEmpty
            else {
                throw TemplateError(
                    file: file, reason: "an email template begins with a line \"Subject: …\" and then a blank line")
            }
        }
    }

    static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == "\n" { text.removeLast() }
        return String(text)
    }
}
