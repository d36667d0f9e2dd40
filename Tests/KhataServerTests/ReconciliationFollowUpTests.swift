import Foundation
import HTTPTypes
import HummingbirdTesting
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import NIOCore
import Reconciliation
import Scheduler
import SettlementImport
import TestSupport
import Testing

/// Reconciliation across days, run by the job against payments made through the API: a payment
/// carried until its late window closes (settled on the window's last day it is on time), a
/// payment found missing that a late line later settles (the mismatch resolved automatically,
/// with its history), a fee file that changes one run, and clearing into configured accounts.
@Suite("Reconciliation across days")
struct ReconciliationFollowUpTests {
    static let header =
        "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
        + "paymentExecuteTime,transactionStatus,originalTrxID\n"

    struct Paid {
        var holdId: String
        var reference: String
    }

    @Test("carried, on time on the window's last day, missing after it, then settled late and resolved by itself")
    func followUp() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let accounts = ClearingAccounts(settlementBankKey: "bank:city-bank", feeExpenseKey: "expense:bkash-charges")
            let contracted = try FeeSchedule.parse(Data(#"{"bkash": {"basisPoints": 185}}"#.utf8), source: "test")
            let settings = ReconciliationSettings(fees: contracted, lateWindowDays: 2, accounts: accounts)
            let job = ReconciliationJob(
                database: server.database, ledger: LocalLedger(ledger: server.ledger), settings: settings)
            let paid = try await Self.payThree(server)
            let captured = CivilDate(daysSinceEpoch: Int((server.clock.now / 1_000_000_000 + 6 * 3_600) / 86_400))
            let folder = TemporaryDirectory()
            defer { folder.remove() }
            let importer = SettlementImporter(
                store: SettlementLines(database: server.database), clock: server.clock.read)
            func settle(_ lines: [(Paid, String)], on day: CivilDate, file: String) async throws {
                var text = Self.header
                for (payment, txn) in lines {
                    text +=
                        "\(txn),P-\(txn),\(payment.reference),payment,1500.00,27.75,1472.25,BDT,,"
                        + "\(captured) 15:00:00,Completed,\n"
                }
                let path = folder.path + "/" + file
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                let summary = try await importer.importFile(
                    path: path, fileName: file, dialect: SettlementDialect.named("bkash")!, settlementDate: day,
                    importedBy: "test")
                #expect(summary.imported == lines.count && summary.rejectedLines.isEmpty)
            }
            func run(_ day: CivilDate, with job: ReconciliationJob) async throws -> ReconciliationReport {
                try await job.run(provider: "bkash", date: day, runBy: "test", now: server.clock.now)
            }

            // Day 0: the first payment settles, its fee as contracted (1.85% of 1,500.00 is 27.75).
            try await settle([(paid[0], "TA")], on: captured, file: "day0.csv")
            let day0 = try await run(captured, with: job)
            #expect(day0.run.matchedCount == 1 && day0.items.isEmpty && day0.run.carriedCount == 2)
            #expect(day0.clearedTransfers == 2)
            // Cleared into the configured accounts, created on first use: the bank got the net,
            // fees the charge, and the clearing account took back the gross.
            let bank = try #require(server.ledger.account(key: "bank:city-bank"))
            let fees = try #require(server.ledger.account(key: "expense:bkash-charges"))
            #expect(bank.debitsPosted == 147_225 && bank.creditsPosted == 0)
            #expect(fees.debitsPosted == 2_775 && fees.creditsPosted == 0)
            #expect(server.ledger.account(key: "bank:settlement") == nil)
            let clearing = try #require(server.ledger.account(key: ClearingAccounts.clearingKey(provider: "bkash")))
            #expect(Int64(clearing.debitsPosted) - Int64(clearing.creditsPosted) == 2 * 150_000)

            // Day 2, the window's last day: the second payment's line is on time. Under a fee file
            // of 1.50% its charge is 5.25 too much; under the contract it matches, and the first
            // finding is resolved by the second run.
            let day2 = CivilDate(daysSinceEpoch: captured.daysSinceEpoch + 2)
            try await settle([(paid[1], "TB")], on: day2, file: "day2.csv")
            var cheaper = settings
            cheaper.fees = try FeeSchedule.parse(Data(#"{"bkash": {"basisPoints": 150}}"#.utf8), source: "--fees")
            let overridden = try await run(
                day2,
                with: ReconciliationJob(
                    database: server.database, ledger: LocalLedger(ledger: server.ledger), settings: cheaper))
            let feeItem = try #require(overridden.items.first)
            #expect(overridden.items.count == 1 && feeItem.category == .feeMismatch)
            #expect(feeItem.feeMinor == 2_775 && feeItem.contractedFeeMinor == 2_250)
            #expect(overridden.clearedTransfers == 0 && overridden.run.carriedCount == 1)
            let onTime = try await run(day2, with: job)
            #expect(onTime.items.isEmpty && onTime.run.matchedCount == 1 && onTime.run.resolvedCount == 1)
            #expect(onTime.clearedTransfers == 2)

            // Day 3: the third payment's window has closed with no line.
            let day3 = CivilDate(daysSinceEpoch: captured.daysSinceEpoch + 3)
            let missing = try await run(day3, with: job)
            let missingItem = try #require(missing.items.first)
            #expect(missing.items.count == 1 && missingItem.category == .missingAtProvider)
            #expect(missingItem.paymentReference == paid[2].reference && missing.run.carriedCount == 0)
            let identity = "bkash:payment:\(paid[2].reference)"
            let found = try #require(try await Mismatches(database: server.database).mismatch(identity: identity))
            #expect(found.state == .open)

            // Day 4: its line arrives late. The line is a late settlement of its own, and the
            // missing payment is resolved automatically, saying by what.
            let day4 = CivilDate(daysSinceEpoch: captured.daysSinceEpoch + 4)
            try await settle([(paid[2], "TC")], on: day4, file: "day4.csv")
            let late = try await run(day4, with: job)
            #expect(late.items.map(\.category) == [.lateSettlement] && late.run.resolvedCount == 1)
            let store = Mismatches(database: server.database)
            let resolved = try #require(try await store.mismatch(identity: identity))
            #expect(resolved.state == .resolved && resolved.resolution == "automatic")
            let last = try #require(try await store.history(id: resolved.id).last)
            #expect(last.to == .resolved && last.actor == "reconciliation" && last.runId == late.run.id)
            #expect(last.note.contains("settled by TC") && last.note.contains("late_settlement"), "\(last.note)")
            // The late line is not cleared by itself: a person decides (the finance review).
            #expect(late.clearedTransfers == 0)
            let owed = try #require(server.ledger.account(key: ClearingAccounts.clearingKey(provider: "bkash")))
            #expect(Int64(owed.debitsPosted) - Int64(owed.creditsPosted) == 150_000)
        }
    }

    /// Three bKash reservations of 1,500.00 made and confirmed through the API.
    static func payThree(_ server: TestServer) async throws -> [Paid] {
        try await server.client.execute(
            uri: "/v1/accounts", method: .post,
            body: ByteBuffer(string: #"{"key": "merchant:SVC-1", "currency": "BDT"}"#)
        ) { #expect($0.status == .created) }
        var paid: [Paid] = []
        for number in 1...3 {
            let body =
                #"{"bookingId": "F-\#(number)", "customerId": "C-\#(number)", "serviceId": "SVC-1", "#
                + #""amount": "1500.00", "currency": "BDT", "provider": "BKASH", "customerPhone": "01711000000", "#
                + #""customerEmail": "c@example.com"}"#
            let object = try await server.client.execute(
                uri: "/v1/reservations", method: .post, body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .created)
                return try APITests.object(response)
            }
            let payment = Paid(
                holdId: object["id"] as? String ?? "", reference: object["paymentReference"] as? String ?? "")
            try await server.client.execute(
                uri: "/v1/reservations/\(payment.holdId)/confirm", method: .post,
                body: ByteBuffer(string: #"{"providerTransactionId": "T\#(number)"}"#)
            ) { #expect($0.status == .ok) }
            paid.append(payment)
        }
        return paid
    }
}
