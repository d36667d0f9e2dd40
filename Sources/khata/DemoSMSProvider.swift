import Foundation
import HTTPTypes
import Hummingbird
import KhataCrypto
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A local SMS provider shaped like Twilio's Messages API, for the demo: it takes messages on
/// 127.0.0.1, fails some of them as real providers do, and reports delivery through the signed
/// status callback. Which messages fail is a function of their idempotency key, so that the same
/// seed fails the same ones: about 5% are refused once with 503 (the dispatcher retries them),
/// 2% are refused every time with 500 (they end as dead letters) and 2% are accepted but reported
/// undelivered (they end failed).
final class DemoSMSProvider: Sendable {
    private struct State {
        var attempts: [String: Int] = [:]
        /// Accepted messages whose delivery report is still to be sent: sid and outcome.
        var unreported: [(sid: String, delivered: Bool)] = []
        var refusals = 0
    }

    private let state = Mutex(State())
    let authToken: String

    init(authToken: String) { self.authToken = authToken }

    /// Requests answered with an error (each one a retry or a dead letter for the dispatcher).
    var refusals: Int { state.withLock { $0.refusals } }

    /// The fate of a message by its key: 0..<5 refused once, 5..<7 always refused, 7..<9
    /// undelivered, the rest delivered.
    static func bucket(_ key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % 100)
    }

    /// Serves while `body` runs, handing it the port.
    func serving<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let router = Router()
        let tokenField = HTTPField.Name("I-Twilio-Idempotency-Token")!
        router.post("/2010-04-01/Accounts/{account}/Messages.json") { [self] request, _ -> Response in
            let key = request.headers[tokenField] ?? ""
            let bucket = Self.bucket(key)
            let answer: (HTTPResponse.Status, String) = state.withLock { state in
                state.attempts[key, default: 0] += 1
                let attempt = state.attempts[key] ?? 1
                if (bucket < 5 && attempt == 1) || (5..<7).contains(bucket) {
                    state.refusals += 1
                    return (
                        bucket < 5 ? .serviceUnavailable : .internalServerError,
                        #"{"code": 20500, "message": "Service is temporarily unavailable"}"#
                    )
                }
                let sid = "SM" + Crypto.hex(Crypto.sha256(Array(key.utf8)).prefix(16))
                if attempt == 1 || bucket < 5 { state.unreported.append((sid, !(7..<9).contains(bucket))) }
                return (.created, #"{"sid": "\#(sid)", "status": "queued"}"#)
            }
            return Response(
                status: answer.0, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: answer.1)))
        }
        return try await LocalHTTPServer.serving(router, name: "the demo's SMS provider", body)
    }

    /// Sends the delivery reports of the messages accepted since the last call to Khata's status
    /// callback, signed as Twilio signs them; answers how many were sent.
    @discardableResult
    func report(to api: DemoAPI) async throws -> Int {
        let reports = state.withLock { state in
            defer { state.unreported.removeAll() }
            return state.unreported
        }
        // Several at once, as a provider's callback workers send them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<min(8, reports.count) {
                group.addTask {
                    for index in stride(from: lane, to: reports.count, by: 8) {
                        try await self.send(reports[index], to: api)
                    }
                }
            }
            try await group.waitForAll()
        }
        return reports.count
    }

    private func send(_ report: (sid: String, delivered: Bool), to api: DemoAPI) async throws {
        var fields = [("MessageSid", report.sid), ("MessageStatus", report.delivered ? "delivered" : "undelivered")]
        if !report.delivered { fields.append(("ErrorCode", "30003")) }
        fields.append(("AccountSid", DemoConfiguration.twilioAccount))
        let signed = DemoConfiguration.statusCallbackURL + fields.sorted { $0.0 < $1.0 }.map { $0 + $1 }.joined()
        let signature = Data(Crypto.hmacSHA1(key: Array(authToken.utf8), message: Array(signed.utf8)))
            .base64EncodedString()
        let form = fields.map { "\($0)=\($1)" }.joined(separator: "&")
        try await api.send(
            .POST, "/v1/notifications/callbacks/twilio",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)],
            body: Array(form.utf8), expected: [200])
    }
}
