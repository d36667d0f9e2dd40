import Bookings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONInput
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import Testing

/// The two ways a job reaches the ledger answer alike: `LocalLedger` in the owner's process, and
/// `RemoteLedger` over the owner's HTTP API (a live server on 127.0.0.1).
@Suite("Ledger access")
struct LedgerAccessTests {
    @Test("in-process and over HTTP: the same accounts, due holds, expiries, submissions and reservations")
    func sameAnswers() async throws {
        try await TestServer.with { server in
            try await ReservationTests.merchant(server.client)
            let created = try await ReservationTests.reserve(
                server.client, ReservationTests.reservation(extra: #", "paymentWindowSeconds": 60"#))
            let holdId = try #require((created["id"] as? String).flatMap(TextRules.id))
            let reference = try #require(created["paymentReference"] as? String)
            let remote = try RemoteLedger(url: "http://127.0.0.1:\(server.port)", apiKey: server.client.key)
            let desk = BookingDesk(
                ledger: server.ledger, records: ReservationRecords(database: server.database), now: server.clock.read)
            let local = LocalLedger(ledger: server.ledger, desk: desk)
            do {
                for access in [remote, local] as [any LedgerAccess] {
                    // Times cross the API in milliseconds.
                    let expected = try #require(server.ledger.account(key: "merchant:SVC-456"))
                    let answered = try await access.account(key: "merchant:SVC-456")
                    #expect(answered.map(Self.toMilliseconds) == Self.toMilliseconds(expected))
                    #expect(try await access.account(key: "merchant:none") == nil)
                    #expect(try await access.dueHolds(at: server.clock.now, limit: 10) == [])
                    #expect(try await access.dueHolds(at: server.clock.now + 61_000_000_000, limit: 10) == [holdId])
                    let summary = try #require(try await access.reservation(paymentReference: reference))
                    #expect(
                        summary.holdId == holdId && summary.amountMinor == 150_000 && summary.state == .paymentPending)
                    #expect(try await access.reservation(paymentReference: "KH0000000000000000") == nil)
                }
                // Postings by key, the amount read in the accounts' currency; the same draft again exists.
                let draft = TransferDraft(
                    id: 7_001, debitAccount: "provider:bkash:clearing", creditAccount: "merchant:SVC-456",
                    amount: AmountInput(text: "12.50", field: "amount"))
                #expect(try await remote.submit([draft]).map(\.code) == [.ok])
                #expect(try await local.submit([draft]).map(\.code) == [.exists])
                #expect(try await remote.account(key: "merchant:SVC-456")?.creditsPosted == 1_250)
                // Expired by the one, already expired for the other.
                server.clock.advance(seconds: 61)
                #expect(try await remote.expire([holdId]).map(\.code) == [.ok])
                #expect(try await local.expire([holdId]).map(\.code) == [.pendingExpired])
                #expect(try await local.reservation(paymentReference: reference)?.state == .expired)
                #expect(try await remote.reservation(paymentReference: reference)?.state == .expired)
            } catch {
                try await remote.shutdown()
                throw error
            }
            try await remote.shutdown()
        }
    }

    @Test("payments and accounts: the same answers in process and over HTTP; hostile lookups are refused")
    func payments() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            try await ReservationTests.merchant(server.client)
            let created = try await ReservationTests.reserve(server.client, ReservationTests.reservation())
            let id = try #require(created["id"] as? String)
            try await server.client.execute(
                uri: "/v1/reservations/\(id)/confirm", method: .post, body: ReservationTests.confirm(id, "TRX-9")
            ) { #expect($0.status == .ok) }
            let captureId = BookingIds(bookingId: "BK-1001").confirmId
            for (number, amount) in ["100.00", "100.00"].enumerated() {
                let body = #"{"id": "\#(90_000 + number)", "transferId": "\#(captureId)", "amount": "\#(amount)"}"#
                try await server.client.execute(uri: "/v1/refunds", method: .post, body: APITests.json(body)) {
                    #expect($0.status == .created)
                }
            }
            let remote = try RemoteLedger(url: "http://127.0.0.1:\(server.port)", apiKey: server.client.key)
            let local = LocalLedger(ledger: server.ledger)
            do {
                var answers: [[PaymentLedgerState?]] = []
                for access in [remote, local] as [any LedgerAccess] {
                    answers.append(
                        try await access.payments(
                            bookingIds: ["BK-1001", "BK-none"], refundsFor: ["BK-1001"], at: server.clock.now))
                    let without = try await access.payments(bookingIds: ["BK-1001"], refundsFor: [], at: 0)
                    #expect(without.first??.refunds == [] && without.first??.state == .captured)
                    let bank = try await access.openAccount(key: "bank:settlement", currency: .bdt)
                    #expect(bank.key == "bank:settlement" && bank.currency == .bdt)
                    await #expect(throws: LedgerAccessError.self) {
                        _ = try await access.openAccount(key: "bank:settlement", currency: Currency(code: "USD")!)
                    }
                }
                #expect(answers[0] == answers[1])
                let payment = try #require(answers[0][0])
                #expect(payment.state == .captured && payment.amountMinor == 150_000 && payment.captureId == captureId)
                #expect(payment.refunds.map(\.amountMinor) == [10_000, 10_000] && answers[0][1] == nil)
                #expect(payment.refunds.map(\.id) == [90_000, 90_001])
            } catch {
                try await remote.shutdown()
                throw error
            }
            try await remote.shutdown()
            let tooMany = "[" + (0...1_000).map { "\"B\($0)\"" }.joined(separator: ",") + "]"
            for (body, words) in [
                (#"{"bookingIds": ["BK\u0007"]}"#, "bookingIds[0] must be 1 to 64 bytes"),
                (#"{"bookingIds": [""]}"#, "bookingIds[0] must be 1 to 64 bytes"),
                (#"{"bookingIds": ["a"], "refundsFor": [7]}"#, "refundsFor[0] must be a string"),
                (#"{"bookingIds": ["a"], "atNanoseconds": "1e9"}"#, "atNanoseconds must be nanoseconds"),
                (#"{"bookingIds": ["a"], "atNanoseconds": 5}"#, "atNanoseconds must be a string"),
                (#"{"bookingIds": ["a"], "bookingIds": ["b"]}"#, "bookingIds"),
                (#"{"atNanoseconds": "5"}"#, "bookingIds"),
                (#"{"bookingIds": \#(tooMany)}"#, "at most 1000"),
            ] {
                try await server.client.execute(
                    uri: "/v1/payments/states", method: .post, body: APITests.json(body)
                ) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == .badRequest && text.contains(words), "\(body): \(text)")
                }
            }
        }
    }

    static func toMilliseconds(_ account: Account) -> Account {
        var account = account
        account.timestamp -= account.timestamp % 1_000_000
        return account
    }

    @Test("a remote ledger refuses plain http to another machine, no key, and a URL without a host")
    func remoteConfiguration() throws {
        #expect(throws: LedgerAccessError.self) { try RemoteLedger(url: "http://10.1.2.3:8080", apiKey: "k") }
        #expect(throws: LedgerAccessError.self) { try RemoteLedger(url: "https://ledger.test", apiKey: "") }
        #expect(throws: LedgerAccessError.self) { try RemoteLedger(url: "ftp://ledger.test", apiKey: "k") }
        #expect(throws: LedgerAccessError.self) { try RemoteLedger(url: "not a url", apiKey: "k") }
        #expect(RemoteLedger.isLoopback("127.0.0.1") && RemoteLedger.isLoopback("[::1]"))
        #expect(RemoteLedger.isLoopback("localhost") && !RemoteLedger.isLoopback("10.0.0.1"))
    }
}
