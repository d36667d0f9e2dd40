import AsyncHTTPClient
import Foundation
import KhataCrypto
import Ledger
import NIOCore
import NIOHTTP1
import Synchronization

/// The demo's way to the server it started: JSON over HTTP on 127.0.0.1, as a booking site, a
/// payment provider and the finance team reach it.
struct DemoAPI: Sendable {
    /// An answer: the status and the JSON body (an object; empty when the body is not one).
    struct Answer: @unchecked Sendable {
        var status: Int
        var object: [String: Any]
    }

    let client: HTTPClient
    let baseURL: String
    let apiKey: String
    /// The providers' webhook secrets, by path name (`bkash`).
    let webhookSecrets: [String: String]
    let clock: DemoClock

    init(port: Int, apiKey: String, webhookSecrets: [String: String], clock: DemoClock) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        baseURL = "http://127.0.0.1:\(port)"
        self.apiKey = apiKey
        self.webhookSecrets = webhookSecrets
        self.clock = clock
    }

    func shutdown() async throws { try await client.shutdown() }

    /// Calls the API with the demo's key; a status outside `expected` is an error naming the
    /// route and the problem the server gave.
    @discardableResult
    func call(
        _ method: HTTPMethod, _ path: String, json: Any? = nil, expected: Set<Int> = [200, 201]
    ) async throws -> Answer {
        var headers: [(String, String)] = [("Authorization", "Bearer \(apiKey)")]
        var body: [UInt8]?
        if let json {
            body = Array(try JSONSerialization.data(withJSONObject: json))
            headers.append(("Content-Type", "application/json"))
        }
        return try await send(method, path, headers: headers, body: body, expected: expected)
    }

    /// Posts a provider's signed payment notification, as the provider's servers do.
    func webhook(provider: String, paymentReference: String, providerTxnId: String, amountMinor: Int64) async throws
        -> Answer
    {
        let amount = DemoDay.decimal(amountMinor)
        let object: [String: Any] = [
            "paymentReference": paymentReference, "providerTransactionId": providerTxnId, "amount": amount,
            "status": "COMPLETED",
        ]
        let body = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        // Safe: the demo configures a secret for every provider.
        let secret = webhookSecrets[provider]!
        let timestamp = String(clock.now / 1_000_000_000)
        let signature = Crypto.hmacSHA256(key: Array(secret.utf8), message: Array((timestamp + ".").utf8) + body)
        return try await send(
            .POST, "/v1/webhooks/\(provider)",
            headers: [
                ("Content-Type", "application/json"), ("X-Khata-Timestamp", timestamp),
                ("X-Khata-Signature", "sha256=" + Crypto.hex(signature)),
            ], body: body, expected: [200])
    }

    /// Sends raw bytes (a settlement file, a form) with the demo's key.
    func upload(_ path: String, contentType: String, body: [UInt8], expected: Set<Int> = [200]) async throws -> Answer {
        try await send(
            .POST, path, headers: [("Authorization", "Bearer \(apiKey)"), ("Content-Type", contentType)], body: body,
            expected: expected)
    }

    /// The bytes of a `GET` (a report), with the demo's key.
    func fetch(_ path: String) async throws -> [UInt8] {
        try await exchange(.GET, path, headers: [("Authorization", "Bearer \(apiKey)")], body: nil, expected: [200]).1
    }

    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]?, expected: Set<Int>
    ) async throws -> Answer {
        let (status, bytes) = try await exchange(method, path, headers: headers, body: body, expected: expected)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        return Answer(status: status, object: object)
    }

    private func exchange(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]?, expected: Set<Int>
    ) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(120))
        let bytes = Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        let status = Int(response.status.code)
        guard expected.contains(status) else {
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
            let problem =
                object["detail"] as? String ?? object["title"] as? String ?? String(decoding: bytes, as: UTF8.self)
            throw CommandFailure("\(method) \(path) answered \(status): \(problem.prefix(300))")
        }
        return (status, bytes)
    }
}

/// The demo's simulated time: the ledger, the server and the scheduler read it, and the demo
/// moves it forward, so that a day and its night pass in seconds. `followWall` hands over to the
/// real clock (for `--serve`) without ever going back.
final class DemoClock: Sendable {
    private let simulated: Mutex<UInt64>
    private let followsWall = Atomic<Bool>(false)

    init(nanoseconds: UInt64) { simulated = Mutex(nanoseconds) }

    var now: UInt64 {
        let time = simulated.withLock { $0 }
        return followsWall.load(ordering: .relaxed) ? max(time, Ledger.wallClockNanoseconds()) : time
    }

    var read: @Sendable () -> UInt64 { { [self] in now } }

    /// Moves the simulated time to `nanoseconds`, never back.
    func set(_ nanoseconds: UInt64) { simulated.withLock { $0 = max($0, nanoseconds) } }

    func followWall() { followsWall.store(true, ordering: .relaxed) }
}
