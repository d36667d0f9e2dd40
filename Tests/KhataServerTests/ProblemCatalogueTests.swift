import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Ledger
import Testing

/// Each kind of refusal through a live server, with its status and stable type, and nothing
/// changed by it.
@Suite("Problem catalogue")
struct ProblemCatalogueTests {
    @Test("every refusal has its own status and type")
    func catalogue() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            let reservation = try await ReservationTests.reserve(client, ReservationTests.reservation())
            let reservationId = try #require(reservation["id"] as? String)
            let transfer =
                #"{"id": "5", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
            try await client.execute(
                uri: "/v1/transfers", method: .post, body: APITests.json(transfer + #""amount": "2.00"}"#)
            ) { #expect($0.status == .created) }
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.post, "/v1/transfers/batch", #"{"transfers": []}"#, .badRequest, "invalid-batch-size"),
                (.get, "/v1/accounts/merchant:SVC-456/history?after=x", nil, .badRequest, "invalid-cursor"),
                (.get, "/v1/accounts/merchant:SVC-456/history?limit=0", nil, .badRequest, "invalid-limit"),
                (
                    .post, "/v1/transfers",
                    transfer + #""amount": "1", "reference": "\#(String(repeating: "r", count: 33))"}"#,
                    .badRequest, "invalid-reference"
                ),
                (
                    .post, "/v1/transfers", transfer + #""amount": "1", "flags": ["sideways"]}"#, .badRequest,
                    "unknown-flag"
                ),
                (.post, "/v1/transfers", transfer + #""amount": "3.00"}"#, .conflict, "exists-with-different-fields"),
                (
                    .post, "/v1/transfers",
                    #"{"id": "6", "debitAccount": "merchant:SVC-456", "creditAccount": "merchant:SVC-456", "#
                        + #""amount": 1}"#,
                    .unprocessableContent, "accounts-must-be-different"
                ),
                (.post, "/v1/transfers", #"{"id": "0", "amount": 1}"#, .badRequest, "invalid-id"),
                (.post, "/v1/accounts", #"{"key": "x", "currency": "XYZ"}"#, .badRequest, "unknown-currency"),
                (.get, "/v1/transfers/999", nil, .notFound, "transfer-not-found"),
                (.get, "/v1/accounts/nobody", nil, .notFound, "account-not-found"),
                (.post, "/v1/webhooks/paypal", "{}", .notFound, "provider-not-found"),
                (
                    .post, "/v1/reservations/\(reservationId)/confirm", #"{"providerTransactionId": ""}"#, .badRequest,
                    "invalid-provider-transaction-id"
                ),
                (
                    .post, "/v1/refunds", #"{"id": "7", "transferId": "5", "amount": "5.00"}"#, .unprocessableContent,
                    "refund-exceeds-original"
                ),
                (
                    .post, "/v1/transfers", String(repeating: " ", count: 5_000) + "{}", .contentTooLarge,
                    "body-too-large"
                ),
            ]
            for (method, uri, body, status, kind) in cases {
                try await client.execute(uri: uri, method: method, body: body.map(APITests.json)) { response in
                    #expect(response.status == status, "\(kind)")
                    let type = try APITests.problemType(response)
                    #expect(type == "/problems/\(kind)")
                }
            }
            // None of them changed a balance: only transfer 5 and the reservation's hold are there.
            try await client.execute(uri: "/v1/accounts/merchant:SVC-456", method: .get) { response in
                let account = try APITests.object(response)
                #expect(account["creditsPosted"] as? String == "2.00")
                #expect(account["creditsPending"] as? String == "1500.00")
            }
        }
    }

    @Test("a failing job store is 503 store-unavailable; a ledger that stopped is 500 ledger-unavailable")
    func unavailable() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await ReservationTests.merchant(client)
            // The reservations table gone: the job store fails under the request.
            try server.database.performNow { try $0.execute("DROP TABLE reservations") }
            try await client.execute(uri: "/v1/reservations", method: .post, body: ReservationTests.reservation()) {
                #expect($0.status == .serviceUnavailable)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/store-unavailable")
            }
            // The ledger closed: reads still answer, writes are refused without being acknowledged.
            server.ledger.close()
            let transfer = APITests.json(
                #"{"id": "9", "debitAccount": "provider:bkash:clearing", "creditAccount": "merchant:SVC-456", "#
                    + #""amount": "1.00"}"#)
            try await client.execute(uri: "/v1/transfers", method: .post, body: transfer) {
                #expect($0.status == .internalServerError)
                let type = try APITests.problemType($0)
                #expect(type == "/problems/ledger-unavailable")
            }
            try await client.execute(uri: "/v1/transfers/9", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
