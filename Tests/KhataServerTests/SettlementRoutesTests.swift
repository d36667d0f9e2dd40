import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Testing

/// `POST /v1/settlements/{provider}` through a live server: the CSV streamed as the body, the
/// same summary as the command line, the finance scope, and every refusal changing nothing.
@Suite("Settlement routes")
struct SettlementRoutesTests {
    static let header =
        "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
        + "paymentExecuteTime,transactionStatus,originalTrxID\n"
    static let file =
        header + "T1,P1,PAY-1,payment,1500.00,27.75,1472.25,BDT,,2023-01-23 10:00:00,Completed,\n"
        + "T2,P2,PAY-2,payment,1x,0,0,BDT,,2023-01-23 10:00:00,Completed,\n"

    @Test("a file is imported once, with its summary; scope, media type, size and bad files are refused")
    func upload() async throws {
        try await TestServer.with(maximumSettlementBytes: 64 << 10) { server in
            let client = server.client
            let csv: HTTPFields = [.contentType: "text/csv; charset=utf-8"]
            try await client.execute(
                uri: "/v1/settlements/bkash?settlementDate=2023-01-24&fileName=day.csv", method: .post, headers: csv,
                body: ByteBuffer(string: Self.file)
            ) { response in
                #expect(response.status == .ok)
                let summary = try APITests.object(response)
                #expect(summary["file"] as? String == "day.csv" && summary["provider"] as? String == "bkash")
                #expect(summary["read"] as? Int == 2 && summary["imported"] as? Int == 1)
                #expect(summary["rejected"] as? Int == 1 && summary["alreadyImported"] as? Bool == false)
                #expect(summary["settlementDate"] as? String == "2023-01-24")
                let refused = try #require(summary["rejectedLines"] as? [[String: Any]])
                #expect(refused.first?["line"] as? Int == 3 && refused.first?["column"] as? String == "amount")
            }
            try await client.execute(
                uri: "/v1/settlements/bkash", method: .post, headers: csv, body: ByteBuffer(string: Self.file)
            ) { response in
                #expect(response.status == .ok)
                let summary = try APITests.object(response)
                #expect(summary["alreadyImported"] as? Bool == true)
            }
            let files = try await SettlementLines(database: server.database).files()
            #expect(files.count == 1 && files.first?.importedBy == "test admin")
            // Refusals: none of them records anything.
            try await client.execute(
                uri: "/v1/settlements/nagad", method: .post, headers: csv, body: ByteBuffer(string: Self.file + "x")
            ) { response in
                #expect(response.status == .unprocessableContent)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/settlement-file-refused")
            }
            try await client.execute(
                uri: "/v1/settlements/paypal", method: .post, headers: csv, body: ByteBuffer(string: Self.file)
            ) { #expect($0.status == .notFound) }
            try await client.execute(
                uri: "/v1/settlements/bkash", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            ) { #expect($0.status == .unsupportedMediaType) }
            try await client.execute(
                uri: "/v1/settlements/bkash?settlementDate=2023-02-30", method: .post, headers: csv,
                body: ByteBuffer(string: Self.file)
            ) { #expect($0.status == .badRequest) }
            let large =
                Self.header
                + String(
                    repeating: "T9,P9,PAY-9,payment,1.00,0,1.00,BDT,,2023-01-23 10:00:00,Completed,\n", count: 1_200)
            try await client.execute(
                uri: "/v1/settlements/bkash", method: .post, headers: csv, body: ByteBuffer(string: large)
            ) { response in
                #expect(response.status == .contentTooLarge)
                // It names the option that sets the limit.
                let detail = try APITests.object(response)["detail"] as? String ?? ""
                #expect(detail.contains("--maximum-settlement-bytes"), "\(detail)")
            }
            let (reader, _) = try await server.keys.create(name: "reader", scopes: [.read])
            var readerHeaders = csv
            readerHeaders[.authorization] = "Bearer \(reader)"
            try await client.execute(
                uri: "/v1/settlements/bkash", method: .post, headers: readerHeaders,
                body: ByteBuffer(
                    string: Self.file + "T3,P3,PAY-3,payment,1.00,0,1.00,BDT,,2023-01-23 10:00:00,Completed,\n")
            ) { #expect($0.status == .forbidden) }
            #expect(try await SettlementLines(database: server.database).files().count == 1)
        }
    }

    @Test("a file of several megabytes streams in whole: every line read and stored")
    func largeUpload() async throws {
        try await TestServer.with(maximumSettlementBytes: 16 << 20) { server in
            var body = Self.header
            for index in 0..<40_000 {
                body +=
                    "T\(index),P\(index),PAY-\(index),payment,100.00,1.85,98.15,BDT,,2023-01-23 10:00:00,Completed,\n"
            }
            #expect(body.utf8.count > 3 << 20)
            try await server.client.execute(
                uri: "/v1/settlements/bkash?fileName=large.csv", method: .post,
                headers: [.contentType: "text/csv"], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
                let summary = try APITests.object(response)
                #expect(summary["read"] as? Int == 40_000 && summary["imported"] as? Int == 40_000)
            }
            let file = try #require(try await SettlementLines(database: server.database).files().first)
            #expect(file.lineCount == 40_000 && file.sizeBytes == Int64(body.utf8.count))
        }
    }

    @Test("a file of exactly the settlement limit is taken; one byte more is 413 and records nothing")
    func sizeLimitEdges() async throws {
        let size = Self.file.utf8.count
        for (limit, status) in [(size, HTTPResponse.Status.ok), (size - 1, .contentTooLarge)] {
            try await TestServer.with(maximumSettlementBytes: limit) { server in
                try await server.client.execute(
                    uri: "/v1/settlements/bkash", method: .post, headers: [.contentType: "text/csv"],
                    body: ByteBuffer(string: Self.file)
                ) { #expect($0.status == status, "limit \(limit)") }
                let files = try await SettlementLines(database: server.database).files()
                #expect(files.count == (status == .ok ? 1 : 0))
            }
        }
    }
}
