import AsyncHTTPClient
import Configuration
import Foundation
import JobStore
import Notifications

/// How customers' messages are made and sent (`notifications.*`).
struct NotificationSettings {
    /// A folder of templates overriding the compiled-in ones (`notifications.templatesFolder`).
    var templatesFolder: String?
    /// How long an event waits for its reservation's details and contact before it is a dead
    /// letter (`notifications.contactWaitSeconds`).
    var contactWaitSeconds = 900
    /// Attempts before a message is dead, and the backoff's first step and cap
    /// (`notifications.maxAttempts`, `retryBaseSeconds`, `retryMaxSeconds`).
    var maxAttempts = 10
    var retryBaseSeconds = 2
    var retryMaxSeconds = 3_600
    /// Messages sent at once, and how long one send may take (`notifications.maxInFlight`,
    /// `timeoutSeconds`).
    var maxInFlight = 64
    var timeoutSeconds = 10
    /// The transport of each channel (`notifications.sms`, `.whatsapp`, `.email`, `.webhook`):
    /// `twilio` (SMS, WhatsApp), `sendgrid` (email), `webhook` or `outbox` (any).
    var transports: [NotificationChannel: String] = Dictionary(
        uniqueKeysWithValues: NotificationChannel.allCases.map { ($0, "outbox") })
    /// Where the outbox transport writes (`notifications.outboxFolder`; default `<data-dir>/outbox`).
    var outboxFolder: String?
    var twilio = Twilio()
    var sendGrid = SendGrid()
    /// The webhook transport's URL (`notifications.webhookUrl`; `notifications.webhook` names
    /// the webhook channel's transport).
    var webhookURL: String?

    /// `notifications.twilio.*`: the API's base URL, the account id and its token (a secret), the
    /// senders, and the public URL of `POST /v1/notifications/callbacks/twilio` that the
    /// provider calls back (and signs).
    struct Twilio {
        var baseURL: String?
        var accountId: String?
        var authToken: String?
        var smsFrom: String?
        var whatsappFrom: String?
        var statusCallbackURL: String?
    }

    /// `notifications.sendgrid.*`: the API's base URL, its key (a secret), the sender address.
    struct SendGrid {
        var baseURL: String?
        var apiKey: String?
        var from: String?
    }

    static let transportNames: [String: Set<NotificationChannel>] = [
        "twilio": [.sms, .whatsapp], "sendgrid": [.email], "webhook": Set(NotificationChannel.allCases),
        "outbox": Set(NotificationChannel.allCases),
    ]

    /// Reads and checks `notifications.*`: every number in range, every channel's transport
    /// known, able to carry it, and given what it needs. Errors name the setting.
    static func read(_ reader: ConfigReader) throws -> NotificationSettings {
        var settings = NotificationSettings()
        func integer(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws -> Int {
            let read: Int
            if let number = reader.int(forKey: ConfigKey(key)) {
                read = number
            } else if let text = reader.string(forKey: ConfigKey(key)) {
                throw SettingsError("setting notifications.\(key) must be an integer, got \"\(text)\"")
            } else {
                read = value
            }
            guard range.contains(read) else {
                throw SettingsError(
                    "setting notifications.\(key) must be \(range.lowerBound) to \(range.upperBound), got \(read)")
            }
            return read
        }
        settings.templatesFolder = reader.string(forKey: "templatesFolder")
        settings.contactWaitSeconds = try integer("contactWaitSeconds", settings.contactWaitSeconds, 1...86_400)
        settings.maxAttempts = try integer("maxAttempts", settings.maxAttempts, 1...100)
        settings.retryBaseSeconds = try integer("retryBaseSeconds", settings.retryBaseSeconds, 1...3_600)
        settings.retryMaxSeconds = try integer("retryMaxSeconds", settings.retryMaxSeconds, 1...86_400)
        guard settings.retryMaxSeconds >= settings.retryBaseSeconds else {
            throw SettingsError("setting notifications.retryMaxSeconds must be at least retryBaseSeconds")
        }
        settings.maxInFlight = try integer("maxInFlight", settings.maxInFlight, 1...1_024)
        settings.timeoutSeconds = try integer("timeoutSeconds", settings.timeoutSeconds, 1...300)
        settings.outboxFolder = reader.string(forKey: "outboxFolder")
        for channel in NotificationChannel.allCases {
            guard let name = reader.string(forKey: ConfigKey(channel.rawValue)) else { continue }
            guard let carried = transportNames[name] else {
                throw SettingsError(
                    "setting notifications.\(channel.rawValue) \"\(name)\" is not a transport (twilio, sendgrid, "
                        + "webhook, outbox)")
            }
            guard carried.contains(channel) else {
                throw SettingsError(
                    "setting notifications.\(channel.rawValue): \(name) does not carry \(channel.rawValue)")
            }
            settings.transports[channel] = name
        }
        let twilio = reader.scoped(to: "twilio")
        settings.twilio = Twilio(
            baseURL: twilio.string(forKey: "baseUrl"), accountId: twilio.string(forKey: "accountId"),
            authToken: twilio.string(forKey: "authToken", isSecret: true), smsFrom: twilio.string(forKey: "smsFrom"),
            whatsappFrom: twilio.string(forKey: "whatsappFrom"),
            statusCallbackURL: twilio.string(forKey: "statusCallbackUrl"))
        let sendGrid = reader.scoped(to: "sendgrid")
        settings.sendGrid = SendGrid(
            baseURL: sendGrid.string(forKey: "baseUrl"), apiKey: sendGrid.string(forKey: "apiKey", isSecret: true),
            from: sendGrid.string(forKey: "from"))
        settings.webhookURL = reader.string(forKey: "webhookUrl")
        try settings.checkTransports()
        return settings
    }

    /// Each transport in use has what it needs.
    func checkTransports() throws {
        func require(_ value: String?, _ key: String, for name: String) throws {
            guard let value, !value.isEmpty else {
                let users = transports.filter { $0.value == name }.keys.map(\.rawValue).sorted().joined(separator: ", ")
                throw SettingsError("setting notifications.\(key) is needed: \(users) use \(name)")
            }
        }
        let used = Set(transports.values)
        if used.contains("twilio") {
            try require(twilio.baseURL, "twilio.baseUrl", for: "twilio")
            try require(twilio.accountId, "twilio.accountId", for: "twilio")
            try require(twilio.authToken, "twilio.authToken", for: "twilio")
            try require(twilio.smsFrom, "twilio.smsFrom", for: "twilio")
            if transports[.whatsapp] == "twilio" {
                try require(twilio.whatsappFrom, "twilio.whatsappFrom", for: "twilio")
            }
        }
        if used.contains("sendgrid") {
            try require(sendGrid.baseURL, "sendgrid.baseUrl", for: "sendgrid")
            try require(sendGrid.apiKey, "sendgrid.apiKey", for: "sendgrid")
            try require(sendGrid.from, "sendgrid.from", for: "sendgrid")
        }
        if used.contains("webhook") { try require(webhookURL, "webhookUrl", for: "webhook") }
        for url in [twilio.baseURL, sendGrid.baseURL, webhookURL].compactMap({ $0 }) {
            guard let components = URLComponents(string: url),
                components.scheme == "https" || components.scheme == "http",
                components.host?.isEmpty == false
            else { throw SettingsError("setting notifications: \"\(url)\" is not an http(s) URL") }
        }
    }

    /// The retry policy these settings give.
    var retryPolicy: RetryPolicy {
        RetryPolicy(
            baseDelayMilliseconds: UInt64(retryBaseSeconds) * 1_000,
            maxDelayMilliseconds: UInt64(retryMaxSeconds) * 1_000,
            maxAttempts: maxAttempts)
    }

    /// The transports of every channel, their HTTP requests made by `client`.
    func makeTransports(client: HTTPClient, dataDir: String) throws -> [NotificationChannel: any NotificationTransport]
    {
        var made: [NotificationChannel: any NotificationTransport] = [:]
        var outbox: OutboxTransport?
        let timeout = Int64(timeoutSeconds)
        for (channel, name) in transports {
            switch name {
            case "twilio":
                // Safe: checkTransports made sure of each.
                made[channel] = TwilioTransport(
                    client: client, baseURL: twilio.baseURL!, accountId: twilio.accountId!,
                    authToken: twilio.authToken!, smsFrom: twilio.smsFrom!, whatsappFrom: twilio.whatsappFrom,
                    statusCallbackURL: twilio.statusCallbackURL, timeoutSeconds: timeout)
            case "sendgrid":
                made[channel] = SendGridTransport(
                    client: client, baseURL: sendGrid.baseURL!, apiKey: sendGrid.apiKey!, from: sendGrid.from!,
                    timeoutSeconds: timeout)
            case "webhook":
                made[channel] = WebhookTransport(client: client, url: webhookURL!, timeoutSeconds: timeout)
            default:
                if outbox == nil { outbox = try OutboxTransport(folder: outboxFolder ?? dataDir + "/outbox") }
                made[channel] = outbox
            }
        }
        return made
    }
}
