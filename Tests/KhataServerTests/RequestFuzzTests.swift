import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Ledger
import LedgerCore
import TestSupport
import Testing

/// Seeded mutations of valid request bodies over every route: no answer may be a 5xx other than
/// `ledger-damaged` or `overloaded`, the server must keep answering, and a refused request must
/// leave every balance as it was. The suite runs a short form; `scripts/fuzz.sh` runs the long
/// one (`KHATA_FUZZ_CASES`, at least 1,000,000) and prints the figures for docs/RELIABILITY.md.
@Suite("Request fuzzing")
struct RequestFuzzTests {
    static var caseCount: Int { ProcessInfo.processInfo.environment["KHATA_FUZZ_CASES"].flatMap(Int.init) ?? 3_000 }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["KHATA_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_201
    }

    /// Every account's id and four balances: what a refused request must not change.
    static func digest(_ ledger: Ledger) -> [UInt128: [UInt64]] {
        var balances: [UInt128: [UInt64]] = [:]
        for account in ledger.accounts {
            balances[account.id] = [
                account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted,
            ]
        }
        return balances
    }

    @Test("seeded mutations of every route's bodies: no 5xx, no crash, refused requests change no balance")
    func fuzz() async throws {
        let cases = Self.caseCount
        let seed = Self.seed
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let reservation = try await ReservationTests.reserve(client, ReservationTests.reservation())
            let reservationId = try #require(reservation["id"] as? String)
            let paymentReference = try #require(reservation["paymentReference"] as? String)
            var fuzzer = RequestFuzzer(
                seed: seed, reservationId: reservationId, paymentReference: paymentReference)
            var statuses: [Int: Int] = [:]
            var failures: [String] = []
            let started = DispatchTime.now().uptimeNanoseconds
            for index in 0..<cases {
                let request = fuzzer.next()
                let before = Self.digest(server.ledger)
                var headers = request.headers
                if request.signed {
                    headers = HostileRequestTests.signedHeaders(request.body, now: server.clock.now)
                }
                let (status, type) = try await client.execute(
                    uri: request.uri, method: request.method, headers: headers, body: ByteBuffer(bytes: request.body)
                ) { response -> (Int, String?) in
                    let type =
                        response.status.code >= 400
                        ? (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)))
                            .flatMap { ($0 as? [String: Any])?["type"] as? String } : nil
                    return (response.status.code, type)
                }
                statuses[status, default: 0] += 1
                let label = "case \(index) (seed \(seed)): \(request.method) \(request.uri) \(request.summary)"
                if status >= 500 && type != "/problems/ledger-damaged" && type != "/problems/overloaded" {
                    failures.append("\(label) → \(status) \(type ?? "")")
                }
                if status >= 400 && Self.digest(server.ledger) != before {
                    failures.append("\(label) → \(status) changed a balance")
                }
                if index % 500 == 499 {
                    try await client.execute(uri: "/health", method: .get) { response in
                        if response.status != .ok { failures.append("\(label): /health answered \(response.status)") }
                    }
                }
                if failures.count >= 20 { break }
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let summary = statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            print("fuzz: \(cases) cases, seed \(seed), \(String(format: "%.1f", seconds)) s; statuses \(summary)")
            #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        }
    }
}

/// Requests for the fuzzer: a valid body of a random route, then zero or more mutations.
struct RequestFuzzer {
    struct Request {
        var method: HTTPRequest.Method
        var uri: String
        var body: [UInt8]
        var headers: HTTPFields = [:]
        /// Signed as the provider signs webhooks, so that the body reaches the parser.
        var signed = false
        var summary: String
    }

    var random: SplitMix
    let reservationId: String
    let paymentReference: String
    private var nextId: UInt64 = 1_000

    init(seed: UInt64, reservationId: String, paymentReference: String) {
        random = SplitMix(seed: seed)
        self.reservationId = reservationId
        self.paymentReference = paymentReference
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    private mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// Values that break parsers and rules, spliced in place of a value.
    private mutating func hostileValue() -> String {
        switch random.next() % 16 {
        case 0: return "1.5"
        case 1: return "5e0"
        case 2: return "-1"
        case 3: return "99.99999999999999999"
        case 4: return "18446744073709551616"
        case 5: return "null"
        case 6: return #""+1""#
        case 7: return #""0001""#
        case 8: return #"" 10""#
        case 9: return #""a\u0000b""#
        case 10: return String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        case 11: return "\"" + String(repeating: "x", count: Int(random.next() % 5_000)) + "\""
        case 12: return #""\ud800""#
        case 13: return "{}"
        case 14: return #""৳ 1,00.0""#
        default: return "true"
        }
    }

    private mutating func validBody() -> (HTTPRequest.Method, String, String, Bool) {
        nextId += 1
        let id = nextId
        let amount = pick([#""1.00""#, "1", #""৳2,500.50""#, #""0.01""#])
        switch random.next() % 9 {
        case 0:
            let currency = pick(["BDT", "JPY", "KWD"])
            return (.post, "/v1/accounts", #"{"key": "fuzz:\#(id % 7)", "currency": "\#(currency)"}"#, false)
        case 1:
            return (
                .post, "/v1/transfers",
                #"{"id": "\#(id)", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
                    + #""amount": \#(amount), "code": 7, "reference": "R-\#(id)"}"#, false
            )
        case 2:
            return (
                .post, "/v1/transfers/batch",
                #"{"transfers": [{"id": "\#(id)", "debitAccount": "provider:nagad:clearing", "#
                    + #""creditAccount": "merchant:SVC-456", "amount": \#(amount), "flags": ["linked"]}, "#
                    + #"{"id": "\#(id + 1)", "pendingId": "\#(id)", "flags": ["postPending"]}]}"#, false
            )
        case 3:
            return (.post, "/v1/refunds", #"{"id": "\#(id)", "transferId": "\#(id - 3)", "amount": \#(amount)}"#, false)
        case 4:
            return (
                .post, "/v1/reservations",
                #"{"bookingId": "FZ-\#(id)", "customerId": "C", "serviceId": "SVC-456", "amount": \#(amount), "#
                    + #""currency": "BDT", "provider": "BKASH", "customerPhone": "01770000618", "#
                    + #""customerEmail": "a@b.co", "paymentWindowSeconds": 600}"#, false
            )
        case 5:
            return (
                .post, "/v1/reservations/\(reservationId)/confirm",
                #"{"providerTransactionId": "T\#(id)", "amount": \#(amount)}"#, false
            )
        case 6:
            return (
                .post, "/v1/webhooks/bkash",
                #"{"paymentReference": "\#(paymentReference)", "providerTransactionId": "W\#(id)", "#
                    + #""amount": \#(amount), "status": "\#(pick(["COMPLETED", "FAILED"]))"}"#, true
            )
        case 7:
            let path = pick(["\(id - 5)", "+1", "0", "%FF", "1%2F2", "9" + String(id)])
            return (.get, "/v1/transfers/\(path)", "", false)
        default:
            let key = pick(["merchant%3ASVC-456", "%E0%A6", "fuzz:1", "a%00b"])
            return (.get, "/v1/accounts/\(key)/history", "", false)
        }
    }

    mutating func next() -> Request {
        let (method, uri, text, signed) = validBody()
        var body = Array(text.utf8)
        var summary = "valid"
        if method == .post && chance(85) {
            let mutations = 1 + Int(random.next() % 3)
            var applied: [String] = []
            for _ in 0..<mutations { applied.append(mutate(&body)) }
            summary = applied.joined(separator: "+")
        }
        return Request(method: method, uri: uri, body: body, signed: signed && chance(90), summary: summary)
    }

    /// One mutation of `body`; answers its name.
    private mutating func mutate(_ body: inout [UInt8]) -> String {
        switch random.next() % 10 {
        case 0:
            guard !body.isEmpty else { return "none" }
            body[Int(random.next() % UInt64(body.count))] ^= UInt8(1 << (random.next() % 8))
            return "bit-flip"
        case 1:
            guard !body.isEmpty else { return "none" }
            body.removeSubrange(Int(random.next() % UInt64(body.count))...)
            return "truncate"
        case 2:
            body.insert(UInt8(random.next() % 256), at: Int(random.next() % UInt64(body.count + 1)))
            return "insert-byte"
        case 3:
            let depth = pick([63, 64, 65, 2_000, 60_000])
            body = Array(repeating: UInt8(ascii: "["), count: depth) + body
            return "nest-\(depth)"
        case 4, 5, 6:
            // Replace the value after a random colon with a hostile one.
            let colons = body.indices.filter { body[$0] == UInt8(ascii: ":") }
            guard let colon = colons.isEmpty ? nil : pick(colons) else { return "none" }
            var end = colon + 1
            while end < body.count, body[end] != UInt8(ascii: ","), body[end] != UInt8(ascii: "}") { end += 1 }
            body.replaceSubrange((colon + 1)..<end, with: Array(hostileValue().utf8))
            return "value"
        case 7:
            // Repeat the first member: a duplicate key.
            guard let brace = body.firstIndex(of: UInt8(ascii: "{")),
                let comma = body[brace...].firstIndex(of: UInt8(ascii: ","))
            else { return "none" }
            body.insert(contentsOf: Array(body[(brace + 1)...comma]), at: brace + 1)
            return "duplicate-key"
        case 8:
            body.insert(contentsOf: [0xC3, 0x28, 0xFF], at: Int(random.next() % UInt64(body.count + 1)))
            return "invalid-utf8"
        default:
            body = (0..<Int(random.next() % 300)).map { _ in UInt8(random.next() % 256) }
            return "random-bytes"
        }
    }
}
