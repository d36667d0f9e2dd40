import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ledger
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

/// Money in its own currency: amounts are read at the scale of the currency they are posted in
/// (JPY 0 decimals, USD 2, KWD 3), and a reservation is made only in its provider's currency.
@Suite("Currencies")
struct CurrencyTests {
    static func post(
        _ client: any TestClientProtocol, _ uri: String, _ body: String, expect status: HTTPResponse.Status
    ) async throws -> [String: Any] {
        try await client.execute(uri: uri, method: .post, body: APITests.json(body)) { response in
            #expect(response.status == status, "\(uri) \(body): \(String(buffer: response.body))")
            return try APITests.object(response)
        }
    }

    @Test("a reservation in another currency than its provider's is 422 currency-mismatch and changes nothing")
    func reservationCurrency() async throws {
        try await TestServer.with { server in
            try await ReservationTests.merchant(server.client)
            let sequence = server.ledger.committedSequence
            for (currency, amount) in [("KWD", "1.500"), ("JPY", "1500"), ("USD", "1500.00")] {
                let body = String(buffer: ReservationTests.reservation(booking: "BK-\(currency)", amount: amount))
                    .replacingOccurrences(of: #""currency": "BDT""#, with: #""currency": "\#(currency)""#)
                let problem = try await Self.post(
                    server.client, "/v1/reservations", body, expect: .unprocessableContent)
                #expect(problem["type"] as? String == "/problems/currency-mismatch")
                let detail = problem["detail"] as? String ?? ""
                #expect(detail.contains(currency) && detail.contains("BDT"), "\(detail)")
            }
            // A merchant account in another currency is refused the same way, before any hold.
            _ = try await Self.post(
                server.client, "/v1/accounts", #"{"key": "merchant:SVC-USD", "currency": "USD"}"#, expect: .created)
            let afterAccount = server.ledger.committedSequence
            let body = String(buffer: ReservationTests.reservation(booking: "BK-USD-MERCHANT"))
                .replacingOccurrences(of: "SVC-456", with: "SVC-USD")
            let problem = try await Self.post(server.client, "/v1/reservations", body, expect: .unprocessableContent)
            #expect((problem["detail"] as? String)?.contains("USD") == true)
            #expect(server.ledger.committedSequence == afterAccount)
            #expect(afterAccount > sequence)
        }
    }

    @Test("transfers, holds, captures, batches and refunds read amounts at the scale of JPY, USD and KWD")
    func scales() async throws {
        try await TestServer.with { server in
            let client = server.client
            for code in ["JPY", "USD", "KWD"] {
                for side in ["a", "b"] {
                    _ = try await Self.post(
                        client, "/v1/accounts", #"{"key": "\#(code):\#(side)", "currency": "\#(code)"}"#,
                        expect: .created)
                }
            }
            let single: [(String, String, String)] = [
                ("JPY", "1500", "1500"), ("USD", "1,500.5", "1500.50"),
                ("KWD", "1.500", "1.500"),
            ]
            for (index, (code, amount, shown)) in single.enumerated() {
                let transfer = try await Self.post(
                    client, "/v1/transfers",
                    #"{"id": "\#(10 + index)", "debitAccount": "\#(code):a", "creditAccount": "\#(code):b", "#
                        + #""amount": "\#(amount)"}"#, expect: .created)
                #expect(transfer["amount"] as? String == shown && transfer["currency"] as? String == code)
            }
            // Decimals beyond the currency's scale are refused, in every currency.
            for (code, amount) in [("JPY", "1500.5"), ("USD", "1.005"), ("KWD", "1.0005")] {
                let problem = try await Self.post(
                    client, "/v1/transfers",
                    #"{"id": "20", "debitAccount": "\#(code):a", "creditAccount": "\#(code):b", "#
                        + #""amount": "\#(amount)"}"#,
                    expect: .badRequest)
                #expect(problem["type"] as? String == "/problems/invalid-amount")
                #expect((problem["detail"] as? String)?.contains(code) == true)
            }
            // A hold in KWD, captured in part by naming only the hold: the amount is read as KWD.
            _ = try await Self.post(
                client, "/v1/transfers",
                #"{"id": "30", "debitAccount": "KWD:a", "creditAccount": "KWD:b", "amount": "2.000", "#
                    + #""timeoutSeconds": 600, "flags": ["pending"]}"#, expect: .created)
            let capture = try await Self.post(
                client, "/v1/transfers",
                #"{"id": "31", "pendingId": "30", "amount": "0.750", "flags": ["postPending"]}"#,
                expect: .created)
            #expect(capture["amount"] as? String == "0.750")
            // A batch in JPY, and a refund in KWD.
            let batch = try await Self.post(
                client, "/v1/transfers/batch",
                #"{"transfers": [{"id": "40", "debitAccount": "JPY:a", "creditAccount": "JPY:b", "amount": 7}]}"#,
                expect: .ok)
            #expect((batch["results"] as? [[String: Any]])?.first?["result"] as? String == "ok")
            let refund = try await Self.post(
                client, "/v1/refunds", #"{"id": "50", "transferId": "12", "amount": "0.250"}"#, expect: .created)
            #expect(refund["amount"] as? String == "0.250")
            try await client.execute(uri: "/v1/accounts/KWD:b", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPosted"] as? String == "2.250" && account["debitsPosted"] as? String == "0.250")
            }
            try await client.execute(uri: "/v1/accounts/JPY:b", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPosted"] as? String == "1507")
            }
            // Accounts in two currencies: the ledger refuses, naming the problem.
            let mixed = try await Self.post(
                client, "/v1/transfers",
                #"{"id": "60", "debitAccount": "JPY:a", "creditAccount": "USD:b", "amount": 1}"#,
                expect: .unprocessableContent)
            #expect(mixed["type"] as? String == "/problems/currency-mismatch")
        }
    }
}

/// A record damaged on disk is never acted on: the request answers 500 `ledger-damaged`, nothing
/// changes, new postings go on, and `/health` (still 200) and `/metrics` say where.
@Suite("Damaged ledger records over HTTP")
struct DamagedRecordHTTPTests {
    @Test("a bit flipped in an old transfer's amount: 500 ledger-damaged for reads and refunds, health says where")
    func damagedTransfer() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            var configuration = LedgerConfiguration()
            configuration.storage.segmentSizeBytes = 4 << 20
            configuration.storage.spareSegmentCount = 0
            let ledger = try Ledger.open(directory: directory.path + "/ledger", configuration: configuration)
            _ = try await ledger.submit([
                .createAccount(NewAccount(id: 1, key: "a", currency: .bdt)),
                .createAccount(NewAccount(id: 2, key: "b", currency: .bdt)),
                .createTransfer(NewTransfer(id: 7, debitAccountId: 1, creditAccountId: 2, amountMinor: 28_894)),
            ])
            ledger.close()
        }
        let (path, slot) = try LogBitRot.flip(transfer: 7, in: directory.path + "/ledger")
        try await TestServer.with(dataDirectory: directory) { server in
            let client = server.client
            try await client.execute(uri: "/v1/transfers/7", method: .get) { response in
                #expect(response.status == .internalServerError)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/ledger-damaged")
            }
            let before = try #require(server.ledger.account(id: 2))
            let refund = try await CurrencyTests.post(
                client, "/v1/refunds", #"{"id": "8", "transferId": "7"}"#, expect: .internalServerError)
            #expect(refund["type"] as? String == "/problems/ledger-damaged")
            #expect(server.ledger.account(id: 2) == before)
            _ = try await CurrencyTests.post(
                client, "/v1/transfers", #"{"id": "9", "debitAccount": "a", "creditAccount": "b", "amount": "1.00"}"#,
                expect: .created)
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let health = try APITests.object(response)
                #expect(health["ledger"] as? String == "damaged" && health["status"] as? String == "degraded")
                let damage = (health["damage"] as? [[String: Any]])?.first
                #expect(damage?["file"] as? String == path && damage?["offset"] as? Int == slot)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("khata_ledger_damaged_records 1"))
            }
        }
    }
}
