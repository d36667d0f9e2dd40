import AsyncHTTPClient
import Foundation
import JobStore
import NIOCore
import NIOHTTP1
import Synchronization

/// What one attempt to send a message came to, as the dispatcher records it.
public enum SendResult: Sendable, Equatable {
    /// Delivered: the transport delivers itself (a webhook that answered 2xx, the outbox).
    case delivered(providerMessageId: String?, httpStatus: Int?)
    /// Taken by a provider that reports delivery later (2xx from Twilio or SendGrid).
    case accepted(providerMessageId: String?, httpStatus: Int?)
    /// Failed for now (a network error, a timeout, 5xx, 429): try again, not before
    /// `retryAfterSeconds` when the provider said so.
    case retry(error: String, httpStatus: Int?, retryAfterSeconds: UInt64?)
    /// Refused for good (4xx other than 408 and 429, or a message the transport cannot send).
    case permanent(error: String, httpStatus: Int?)

    var httpStatus: Int? {
        switch self {
        case .delivered(_, let status), .accepted(_, let status), .retry(_, let status, _), .permanent(_, let status):
            status
        }
    }
}

/// The HTTP client the transports share: as many connections to a provider as messages in
/// flight (the client's default is 8, which would queue the rest), and no redirects followed (a
/// provider's API answers, it does not send messages elsewhere).
public func notificationHTTPClient(maximumInFlight: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, maximumInFlight))
    configuration.redirectConfiguration = .disallow
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

/// A way out for messages of some channels.
public protocol NotificationTransport: Sendable {
    /// Sends `delivery` once. Never throws: every failure is a `SendResult`.
    func send(_ delivery: NotificationDelivery) async -> SendResult
}

/// The HTTP side all the HTTP transports share: one request with the message's idempotency key,
/// a bounded wait, and the answer read as success, retry or permanent failure.
struct HTTPSender: Sendable {
    let client: HTTPClient
    let timeoutSeconds: Int64
    /// The most of an answer's body that is read (an error's text is kept, shortened).
    static let maximumAnswerBytes = 64 << 10

    /// The answer of a request, or a retryable failure when there is none.
    func post(
        _ url: String, headers: [(String, String)], body: [UInt8]
    ) async -> (status: Int, headers: HTTPHeaders, body: [UInt8])? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
            let bytes = try await response.body.collect(upTo: Self.maximumAnswerBytes)
            return (Int(response.status.code), response.headers, Array(bytes.readableBytesView))
        } catch {
            return nil
        }
    }

    /// `post`, with the answer judged: 2xx is `success(answer)`; 408, 429 and 5xx are retried
    /// (429 and 503 after their `Retry-After`, in seconds or as an HTTP date); any other status
    /// is permanent; no answer (refused, dropped, timed out) is retried.
    func send(
        _ url: String, headers: [(String, String)], body: [UInt8],
        success: (_ status: Int, _ headers: HTTPHeaders, _ body: [UInt8]) -> SendResult
    ) async -> SendResult {
        let started = DispatchTime.now().uptimeNanoseconds
        guard let answer = await post(url, headers: headers, body: body) else {
            let waited = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
            return .retry(
                error: "no answer from \(Self.origin(url)) after \(waited) ms", httpStatus: nil, retryAfterSeconds: nil)
        }
        let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
        switch answer.status {
        case 200..<300:
            return success(answer.status, answer.headers, answer.body)
        case 408, 429, 500..<600:
            return .retry(
                error: "HTTP \(answer.status) from \(Self.origin(url)): \(text)", httpStatus: answer.status,
                retryAfterSeconds: Self.retryAfter(answer.headers.first(name: "Retry-After")))
        default:
            return .permanent(
                error: "HTTP \(answer.status) from \(Self.origin(url)): \(text)", httpStatus: answer.status)
        }
    }

    /// `Retry-After` in seconds: a whole number, or an HTTP date from now; nil otherwise.
    static func retryAfter(_ value: String?, now: Date = Date()) -> UInt64? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = UInt64(value) { return min(seconds, 86_400) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return UInt64(max(0, min(86_400, date.timeIntervalSince(now).rounded(.up))))
    }

    /// The scheme, host and port of `url`: what errors name (never a path with an account id).
    static func origin(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "the provider" }
        return (components.scheme ?? "http") + "://" + host + (components.port.map { ":\($0)" } ?? "")
    }

    /// `application/x-www-form-urlencoded` of the pairs, in order: letters, digits and `-._~`
    /// as they are, every other byte of the UTF-8 as `%XX`.
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(pairs.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count * 3 + 2 })
        func append(_ text: String) {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    out.append(byte)
                default:
                    out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
            }
        }
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            append(name)
            out.append(UInt8(ascii: "="))
            append(value)
        }
        return out
    }

    /// A JSON body of plain values (strings, numbers, nested objects and arrays of them).
    static func json(_ object: [String: Any]) -> [UInt8] {
        // Safe: the callers' objects hold strings, integers, arrays and dictionaries only.
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

/// SMS and WhatsApp through a Twilio-compatible API: `POST {base}/2010-04-01/Accounts/{account}/
/// Messages.json`, form-encoded `To`, `From`, `Body` (and `StatusCallback` when configured), basic
/// authentication with the account id and token, and the message's idempotency key in
/// `I-Twilio-Idempotency-Token`. A 2xx means accepted; the message's `sid` is kept to match the
/// status callback that reports delivery.
public struct TwilioTransport: NotificationTransport {
    let sender: HTTPSender
    let baseURL: String
    let accountId: String
    let authToken: String
    let smsFrom: String
    let whatsappFrom: String?
    let statusCallbackURL: String?

    public init(
        client: HTTPClient, baseURL: String, accountId: String, authToken: String, smsFrom: String,
        whatsappFrom: String?, statusCallbackURL: String?, timeoutSeconds: Int64
    ) {
        sender = HTTPSender(client: client, timeoutSeconds: timeoutSeconds)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accountId = accountId
        self.authToken = authToken
        self.smsFrom = smsFrom
        self.whatsappFrom = whatsappFrom
        self.statusCallbackURL = statusCallbackURL
    }

    public func send(_ delivery: NotificationDelivery) async -> SendResult {
        let message = delivery.message
        let to: String
        let from: String
        switch message.channel {
        case .sms:
            (to, from) = (message.recipient, smsFrom)
        case .whatsapp:
            guard let whatsappFrom else {
                return .permanent(
                    error: "no WhatsApp sender is configured (notifications.twilio.whatsappFrom)", httpStatus: nil)
            }
            (to, from) = ("whatsapp:" + message.recipient, "whatsapp:" + whatsappFrom)
        case .email, .webhook:
            return .permanent(error: "Twilio does not carry \(message.channel.rawValue)", httpStatus: nil)
        }
        var pairs = [("To", to), ("From", from), ("Body", message.body)]
        if let statusCallbackURL { pairs.append(("StatusCallback", statusCallbackURL)) }
        let credentials = Data("\(accountId):\(authToken)".utf8).base64EncodedString()
        let accountPath = accountId.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? accountId
        return await sender.send(
            "\(baseURL)/2010-04-01/Accounts/\(accountPath)/Messages.json",
            headers: [
                ("Authorization", "Basic \(credentials)"), ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"), ("I-Twilio-Idempotency-Token", message.idempotencyKey),
            ],
            body: HTTPSender.form(pairs)
        ) { status, _, body in
            let sid = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["sid"] as? String
            return .accepted(providerMessageId: sid, httpStatus: status)
        }
    }
}

/// Email through a SendGrid-compatible API: `POST {base}/v3/mail/send` with a bearer key and a
/// JSON body (one recipient, the sender, the subject, plain text), the idempotency key in an
/// `Idempotency-Key` header and in `custom_args`. A 2xx means accepted; `X-Message-Id` is kept.
public struct SendGridTransport: NotificationTransport {
    let sender: HTTPSender
    let baseURL: String
    let apiKey: String
    let from: String

    public init(client: HTTPClient, baseURL: String, apiKey: String, from: String, timeoutSeconds: Int64) {
        sender = HTTPSender(client: client, timeoutSeconds: timeoutSeconds)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.from = from
    }

    public func send(_ delivery: NotificationDelivery) async -> SendResult {
        let message = delivery.message
        guard message.channel == .email else {
            return .permanent(error: "SendGrid carries email only, not \(message.channel.rawValue)", httpStatus: nil)
        }
        let body: [String: Any] = [
            "personalizations": [["to": [["email": message.recipient]]]],
            "from": ["email": from],
            "subject": message.subject ?? "",
            "content": [["type": "text/plain", "value": message.body]],
            "custom_args": ["idempotency_key": message.idempotencyKey],
        ]
        return await sender.send(
            "\(baseURL)/v3/mail/send",
            headers: [
                ("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json"),
                ("Idempotency-Key", message.idempotencyKey),
            ],
            body: HTTPSender.json(body)
        ) { status, headers, _ in .accepted(providerMessageId: headers.first(name: "X-Message-Id"), httpStatus: status)
        }
    }
}

/// Any channel to the platform's own endpoint: `POST` of one JSON object per message (its key,
/// event, channel, customer, recipient, language, subject and body) with the key in an
/// `Idempotency-Key` header. A 2xx means delivered.
public struct WebhookTransport: NotificationTransport {
    let sender: HTTPSender
    let url: String

    public init(client: HTTPClient, url: String, timeoutSeconds: Int64) {
        sender = HTTPSender(client: client, timeoutSeconds: timeoutSeconds)
        self.url = url
    }

    public func send(_ delivery: NotificationDelivery) async -> SendResult {
        let message = delivery.message
        var object: [String: Any] = [
            "idempotencyKey": message.idempotencyKey, "event": message.event, "channel": message.channel.rawValue,
            "customerId": message.customerId, "recipient": message.recipient, "language": message.language.rawValue,
            "body": message.body, "ledgerSequence": String(message.ledgerSequence),
        ]
        if let subject = message.subject { object["subject"] = subject }
        return await sender.send(
            url,
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", message.idempotencyKey)],
            body: HTTPSender.json(object)
        ) { status, _, _ in .delivered(providerMessageId: nil, httpStatus: status) }
    }
}

/// Messages written to a file instead of sent, for local runs and demos: one JSON line per
/// message appended to `outbox.jsonl` in a folder, flushed to disk before it counts as delivered.
public final class OutboxTransport: NotificationTransport {
    public let path: String
    /// Lines waiting for the next flush, with whoever waits for each.
    private struct Pending {
        var lines: [[UInt8]] = []
        var waiting: [CheckedContinuation<(any Error)?, Never>] = []
        var flushing = false
    }

    private let file: FileHandle
    private let pending = Mutex(Pending())
    /// Flushes run here, one at a time, off the cooperative pool: a write and an fsync block.
    private let flusher = DispatchQueue(label: "khata.outbox")

    /// Opens (creating) `folder/outbox.jsonl` for appending.
    public init(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = (folder as NSString).appendingPathComponent("outbox.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try file.seekToEnd()
    }

    deinit { try? file.close() }

    public func send(_ delivery: NotificationDelivery) async -> SendResult {
        let message = delivery.message
        var object: [String: Any] = [
            "idempotencyKey": message.idempotencyKey, "event": message.event, "channel": message.channel.rawValue,
            "customerId": message.customerId, "recipient": message.recipient, "language": message.language.rawValue,
            "body": message.body,
        ]
        if let subject = message.subject { object["subject"] = subject }
        let line = HTTPSender.json(object) + [0x0A]
        // Group commit: the lines sent while a flush runs are written and synced together by the
        // next one, each sender answered only once its line is on disk. One fsync per message
        // held a lock across the sync and made a night's emails wait for the disk one by one.
        let failure = await withCheckedContinuation { continuation in
            let start = pending.withLock { state -> Bool in
                state.lines.append(line)
                state.waiting.append(continuation)
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if start { flusher.async { self.flush() } }
        }
        if let failure {
            return .retry(
                error: "the outbox \(path) cannot be written: \(failure)", httpStatus: nil, retryAfterSeconds: nil)
        }
        return .delivered(providerMessageId: nil, httpStatus: nil)
    }

    /// Writes and syncs what is pending until nothing is.
    private func flush() {
        while true {
            // The flusher stops only when it finds nothing, under the lock, so a line added
            // meanwhile is either taken by this loop or starts the next flush.
            let batch = pending.withLock { state -> ([[UInt8]], [CheckedContinuation<(any Error)?, Never>])? in
                guard !state.waiting.isEmpty else {
                    state.flushing = false
                    return nil
                }
                defer {
                    state.lines.removeAll()
                    state.waiting.removeAll()
                }
                return (state.lines, state.waiting)
            }
            guard let (lines, waiting) = batch else { return }
            var failure: (any Error)?
            do {
                try file.write(contentsOf: lines.flatMap { $0 })
                try file.synchronize()
            } catch {
                failure = error
            }
            for continuation in waiting { continuation.resume(returning: failure) }
        }
    }
}
