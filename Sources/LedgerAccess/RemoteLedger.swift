import AsyncHTTPClient
import Bookings
import Foundation
import JSONInput
import JobStore
import LedgerCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// The ledger owner's HTTP API, for workers on other machines: every call is one request with the
/// API key from configuration. Keys must not cross a network in clear, so a plain `http://` URL is
/// refused unless it names this machine (loopback) or the caller allows it explicitly.
public final class RemoteLedger: LedgerAccess, Sendable {
    public let baseURL: String
    public let maximumBatchEvents: Int
    private let apiKey: String
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// `url` is the owner's base URL (`https://ledger.internal:8443`); `caCertificatePath` a PEM
    /// file of the certificate authorities to trust instead of the system's (a private CA).
    public init(
        url: String, apiKey: String, caCertificatePath: String? = nil, allowPlainHTTP: Bool = false,
        maximumBatchEvents: Int = 8_190, timeoutSeconds: Int64 = 30
    ) throws(LedgerAccessError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host,
            scheme == "http" || scheme == "https"
        else {
            throw LedgerAccessError(
                .invalidConfiguration, "the ledger URL \"\(url)\" is not an http(s) URL with a host")
        }
        if scheme == "http" && !Self.isLoopback(host) && !allowPlainHTTP {
            throw LedgerAccessError(
                .invalidConfiguration,
                "the ledger URL \(url) is plain http to another machine: the API key would cross the network in "
                    + "clear; use https, or allow plain http explicitly on a network you trust")
        }
        guard !apiKey.isEmpty else {
            throw LedgerAccessError(.invalidConfiguration, "a remote ledger needs an API key (ledger.apiKey)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caCertificatePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caCertificatePath))
            } catch {
                throw LedgerAccessError(
                    .invalidConfiguration, "cannot read the CA certificates in \(caCertificatePath): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.apiKey = apiKey
        self.maximumBatchEvents = maximumBatchEvents
        timeout = .seconds(timeoutSeconds)
    }

    /// Closes the client's connections; call once, when done.
    public func shutdown() async throws { try await client.shutdown() }

    /// Whether `host` names this machine (localhost, 127.0.0.0/8, ::1).
    public static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }

    // MARK: The protocol

    public func submit(_ drafts: [TransferDraft]) async throws(LedgerAccessError) -> [EventResult] {
        let body = try await call(.POST, "/v1/transfers/batch", json: ["transfers": drafts.map(Self.json(of:))])
        return try Self.results(body, count: drafts.count)
    }

    public func account(key: String) async throws(LedgerAccessError) -> Account? {
        let path = "/v1/accounts/" + (key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key)
        guard let body = try await call(.GET, path, allowNotFound: true) else { return nil }
        guard let object = body as? [String: Any], let id = (object["id"] as? String).flatMap(TextRules.id),
            let key = object["key"] as? String,
            let currency = (object["currency"] as? String).map(Currency.init(code:)),
            let currency, let code = object["code"] as? Int,
            let createdAt = (object["createdAt"] as? String).flatMap(UTCTime.nanoseconds)
        else { throw LedgerAccessError(.invalidAnswer, "the account answer for \(key) is not an account") }
        var flags: AccountFlags = []
        for name in object["flags"] as? [String] ?? [] {
            guard let flag = AccountFlags.names.first(where: { $0.name == name })?.flag else {
                throw LedgerAccessError(.invalidAnswer, "the account \(key) has an unknown flag \(name)")
            }
            flags.insert(flag)
        }
        func minor(_ field: String) throws(LedgerAccessError) -> UInt64 {
            guard let text = object[field] as? String, let amount = try? Amount.parse(text, currency: currency) else {
                throw LedgerAccessError(.invalidAnswer, "the account \(key) has no amount \(field)")
            }
            return amount.minorUnits
        }
        return Account(
            id: id, key: key, currency: currency, flags: flags, code: UInt16(clamping: code), timestamp: createdAt,
            debitsPending: try minor("debitsPending"), debitsPosted: try minor("debitsPosted"),
            creditsPending: try minor("creditsPending"), creditsPosted: try minor("creditsPosted"))
    }

    public func dueHolds(at now: UInt64, limit: Int) async throws(LedgerAccessError) -> [UInt128] {
        let body = try await call(.GET, "/v1/holds/due?atNanoseconds=\(now)&limit=\(limit)")
        guard let ids = (body as? [String: Any])?["ids"] as? [String] else {
            throw LedgerAccessError(.invalidAnswer, "the due holds answer has no ids")
        }
        return try ids.map { text throws(LedgerAccessError) in
            guard let id = TextRules.id(text) else { throw LedgerAccessError(.invalidAnswer, "\(text) is not an id") }
            return id
        }
    }

    public func bookingEvents(after: UInt64, limit: Int) async throws(LedgerAccessError) -> BookingEventPage {
        let body = try await call(.GET, "/v1/ledger/booking-events?after=\(after)&limit=\(limit)")
        guard let object = body as? [String: Any], let items = object["events"] as? [[String: Any]],
            let through = (object["through"] as? String).flatMap({ UInt64($0) }),
            let logEnd = (object["logEnd"] as? String).flatMap({ UInt64($0) })
        else { throw LedgerAccessError(.invalidAnswer, "the booking events answer is malformed") }
        let events = try items.map { item throws(LedgerAccessError) in
            func number(_ field: String) throws(LedgerAccessError) -> UInt64 {
                guard let value = (item[field] as? String).flatMap({ UInt64($0) }) else {
                    throw LedgerAccessError(.invalidAnswer, "a booking event has no \(field)")
                }
                return value
            }
            guard let kind = (item["kind"] as? String).flatMap(NotificationEvent.init(rawValue:)),
                let holdId = (item["holdId"] as? String).flatMap(TextRules.id),
                let currency = item["currency"] as? String
            else { throw LedgerAccessError(.invalidAnswer, "a booking event is malformed") }
            return BookingEvent(
                kind: kind, sequence: try number("sequence"), subjectSequence: try number("subjectSequence"),
                holdId: holdId, amountMinor: try number("amountMinor"), currency: currency,
                occurredAtNanoseconds: try number("occurredAtNanoseconds"),
                windowEndsAtNanoseconds: try number("windowEndsAtNanoseconds"))
        }
        return BookingEventPage(events: events, through: through, logEnd: logEnd)
    }

    public func logEnd() async throws(LedgerAccessError) -> UInt64 {
        try await bookingEvents(after: 0, limit: 1).logEnd
    }

    public func expire(_ holdIds: [UInt128]) async throws(LedgerAccessError) -> [EventResult] {
        let body = try await call(.POST, "/v1/holds/expire", json: ["ids": holdIds.map(String.init)])
        return try Self.results(body, count: holdIds.count)
    }

    public func reservation(paymentReference: String) async throws(LedgerAccessError) -> ReservationSummary? {
        let query = paymentReference.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? paymentReference
        guard let body = try await call(.GET, "/v1/reservations?paymentReference=\(query)", allowNotFound: true)
        else { return nil }
        guard let object = body as? [String: Any], let holdId = (object["id"] as? String).flatMap(TextRules.id),
            let bookingId = object["bookingId"] as? String, let reference = object["paymentReference"] as? String,
            let provider = object["provider"] as? String,
            let currency = (object["currency"] as? String).flatMap(Currency.init(code:)),
            let amountText = object["amount"] as? String,
            let amount = try? Amount.parse(amountText, currency: currency),
            let state = (object["state"] as? String).flatMap(ReservationState.init(rawValue:))
        else { throw LedgerAccessError(.invalidAnswer, "the reservation answer for \(paymentReference) is malformed") }
        return ReservationSummary(
            holdId: holdId, bookingId: bookingId, paymentReference: reference, provider: provider, currency: currency,
            amountMinor: amount.minorUnits, state: state,
            providerTransactionId: object["providerTransactionId"] as? String)
    }

    public func payments(bookingIds: [String], refundsFor: Set<String>, at now: UInt64)
        async throws(LedgerAccessError) -> [PaymentLedgerState?]
    {
        let body = try await call(
            .POST, "/v1/payments/states",
            json: [
                "bookingIds": bookingIds, "refundsFor": bookingIds.filter(refundsFor.contains),
                "atNanoseconds": String(now),
            ])
        guard let items = (body as? [String: Any])?["payments"] as? [Any], items.count == bookingIds.count else {
            throw LedgerAccessError(.invalidAnswer, "the payments answer does not hold \(bookingIds.count) payments")
        }
        return try zip(bookingIds, items).map { bookingId, item throws(LedgerAccessError) in
            if item is NSNull { return nil }
            guard let object = item as? [String: Any], object["bookingId"] as? String == bookingId,
                let state = PaymentLedgerState.State(rawValue: object["state"] as? String ?? ""),
                let holdId = (object["holdId"] as? String).flatMap(TextRules.id),
                let amountMinor = (object["amountMinor"] as? String).flatMap({ UInt64($0) }),
                let refundItems = object["refunds"] as? [[String: Any]]
            else { throw LedgerAccessError(.invalidAnswer, "the payment of booking \(bookingId) is malformed") }
            let refunds = try refundItems.map { refund throws(LedgerAccessError) in
                guard let id = (refund["id"] as? String).flatMap(TextRules.id),
                    let amount = (refund["amountMinor"] as? String).flatMap({ UInt64($0) }),
                    let at = (refund["atNanoseconds"] as? String).flatMap({ UInt64($0) })
                else { throw LedgerAccessError(.invalidAnswer, "a refund of booking \(bookingId) is malformed") }
                return PaymentRefund(id: id, amountMinor: amount, atNanoseconds: at)
            }
            return PaymentLedgerState(
                bookingId: bookingId, holdId: holdId, state: state, amountMinor: amountMinor,
                captureId: (object["captureId"] as? String).flatMap(TextRules.id),
                capturedAtNanoseconds: (object["capturedAtNanoseconds"] as? String).flatMap { UInt64($0) },
                refunds: refunds)
        }
    }

    public func openAccount(key: String, currency: Currency) async throws(LedgerAccessError) -> Account {
        if let existing = try await account(key: key) { return try LocalLedger.check(existing, currency: currency) }
        _ = try await call(.POST, "/v1/accounts", json: ["key": key, "currency": currency.code])
        guard let account = try await account(key: key) else {
            throw LedgerAccessError(.invalidAnswer, "the account \(key) was created but cannot be read")
        }
        return try LocalLedger.check(account, currency: currency)
    }

    // MARK: HTTP

    /// One request; the parsed JSON answer, or nil for a 404 when `allowNotFound`.
    private func call(
        _ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, allowNotFound: Bool = false
    ) async throws(LedgerAccessError) -> Any? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Accept", value: "application/json")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            // Safe: the bodies hold strings, integers and arrays of them only.
            request.body = .bytes(ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: json)))
        }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw LedgerAccessError(.unreachable, "\(method.rawValue) \(baseURL + path) failed: \(error)")
        }
        if status == 404 && allowNotFound { return nil }
        let object = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))
        guard (200..<300).contains(status) else {
            let problem = object as? [String: Any]
            let type = problem?["type"] as? String
            let detail = problem?["detail"] as? String ?? "status \(status)"
            throw LedgerAccessError(
                status == 503 ? .unavailable : .refused,
                "\(method.rawValue) \(path) answered \(status) \(type ?? ""): \(detail)", problemType: type)
        }
        guard let object else {
            throw LedgerAccessError(.invalidAnswer, "\(method.rawValue) \(path) answered \(status) without JSON")
        }
        return object
    }

    /// A draft in the API's JSON form (the same fields `TransferDraft` reads).
    static func json(of draft: TransferDraft) -> [String: Any] {
        var object: [String: Any] = ["id": String(draft.id)]
        if let debit = draft.debitAccount { object["debitAccount"] = debit }
        if let credit = draft.creditAccount { object["creditAccount"] = credit }
        if let amount = draft.amount { object["amount"] = amount.text }
        if let pendingId = draft.pendingId { object["pendingId"] = String(pendingId) }
        if let timeout = draft.timeoutSeconds { object["timeoutSeconds"] = Int(timeout) }
        if let code = draft.code { object["code"] = Int(code) }
        if let reference = draft.reference, !reference.isEmpty { object["reference"] = reference.string }
        let flags = TransferFlags.names.filter { draft.flags.contains($0.flag) }.map(\.name)
        if !flags.isEmpty { object["flags"] = flags }
        return object
    }

    /// The results of a batch answer, one per event sent.
    static func results(_ body: Any?, count: Int) throws(LedgerAccessError) -> [EventResult] {
        guard let items = (body as? [String: Any])?["results"] as? [[String: Any]], items.count == count else {
            throw LedgerAccessError(.invalidAnswer, "the batch answer does not hold \(count) results")
        }
        return try items.map { item throws(LedgerAccessError) in
            guard let number = item["code"] as? Int, let code = ResultCode(rawValue: UInt8(clamping: number)) else {
                throw LedgerAccessError(.invalidAnswer, "a batch result has no known result code")
            }
            return EventResult(code: code, timestamp: item["timestamp"] as? UInt64 ?? 0)
        }
    }
}
