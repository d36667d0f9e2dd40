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
