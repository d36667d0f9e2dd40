import Foundation
import JobStore
import Scheduler
import SettlementImport
import Testing

/// What one imported line must hold.
struct ExpectedLine: Sendable {
    var line: Int
    var txn: String
    var gross: Int64
    var fee: Int64
    var net: Int64
    var transactedAt: String? = nil
    var kind = "payment"
    var status = "settled"
    var roundingNote: String? = nil
}

/// What one refused line must say.
struct ExpectedRejection: Sendable {
    var line: Int
    var column: String?
    var reasonContains: String
}

/// One file in one dialect, with what must come out of it.
struct DialectCase: Sendable, CustomTestStringConvertible {
    var name: String
    var dialect: String
    var text: String
    var lines: [ExpectedLine]
    var rejected: [ExpectedRejection] = []
    var testDescription: String { "\(dialect): \(name)" }
}

/// Every item of the list of what real settlement files do, per provider's dialect: each file is
/// imported into a real job store and every stored line and refusal is checked.
@Suite("Settlement dialects")
struct DialectCaseTests {
    static let bkashLine =
        "8A44HBA3JK,TR0011,PAY-1,payment,1500.00,27.75,1472.25,BDT,01770123618,"
        + "2023-01-23T02:04:05:736 GMT+0600,Completed,"

    static let cases: [DialectCase] = [
        DialectCase(
            name: "the API's time with a colon before the milliseconds and GMT+0600", dialect: "bkash",
            text: Headers.bkash + "\n" + bkashLine + "\n",
            lines: [
                ExpectedLine(
                    line: 2, txn: "8A44HBA3JK", gross: 150_000, fee: 2_775, net: 147_225,
                    transactedAt: "2023-01-22T20:04:05.736Z")
            ]),
        DialectCase(
            name: "a byte-order mark and CRLF line ends", dialect: "bkash",
            text: "\u{FEFF}" + Headers.bkash + "\r\n" + bkashLine + "\r\n"
                + "8A44HBA3JL,TR0012,PAY-2,payment,100,1.85,98.15,BDT,,2023-01-23 10:00:00,Completed,\r\n",
            lines: [
                ExpectedLine(line: 2, txn: "8A44HBA3JK", gross: 150_000, fee: 2_775, net: 147_225),
                ExpectedLine(
                    line: 3, txn: "8A44HBA3JL", gross: 10_000, fee: 185, net: 9_815,
                    transactedAt: "2023-01-23T04:00:00.000Z"),
            ]),
        DialectCase(
            name: "title and blank lines before the header, a totals line after the data", dialect: "nagad",
            text: "Nagad Merchant Settlement Report\n\nMerchant: Khata Travels,,,\n" + Headers.nagad + "\n"
                + "PAY-1,NPR1,ISS1,Payment,1500.00,22.50,1477.50,BDT,017XXXXX618,2021-08-25 14:51:35.0,Success,\n"
                + "Total,,,,1500.00,22.50,1477.50\n",
            lines: [
                ExpectedLine(
                    line: 5, txn: "ISS1", gross: 150_000, fee: 2_250, net: 147_750,
                    transactedAt: "2021-08-25T08:51:35.000Z")
            ]),
        DialectCase(
            name: "thousands separators in quoted amounts, the taka sign, trailing spaces", dialect: "bkash",
            text: Headers.bkash + "\n"
                + "T1,P1,PAY-1,payment,\"1,250.00\",\"23.13\",\"1,226.87\",BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T2,P2,PAY-2,payment,৳500.00,৳9.25,৳490.75,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T3,P3,PAY-3,payment,\"  200.00  \",3.70 ,196.30  ,BDT  ,,2023-01-23 10:00:00,Completed  ,\n",
            lines: [
                ExpectedLine(line: 2, txn: "T1", gross: 125_000, fee: 2_313, net: 122_687),
                ExpectedLine(line: 3, txn: "T2", gross: 50_000, fee: 925, net: 49_075),
                ExpectedLine(line: 4, txn: "T3", gross: 20_000, fee: 370, net: 19_630),
            ]),
        DialectCase(
            name: "amounts with 0, 1, 2 and 4 decimals, zeros beyond the poisha exact", dialect: "bkash",
            text: Headers.bkash + "\n"
                + "T1,P1,PAY-1,payment,100,0,100,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T2,P2,PAY-2,payment,100.5,0.5,100.0,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T3,P3,PAY-3,payment,100.50,1.86,98.64,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T4,P4,PAY-4,payment,9.7500,0.1800,9.5700,BDT,,2023-01-23 10:00:00,Completed,\n",
            lines: [
                ExpectedLine(line: 2, txn: "T1", gross: 10_000, fee: 0, net: 10_000),
                ExpectedLine(line: 3, txn: "T2", gross: 10_050, fee: 50, net: 10_000),
                ExpectedLine(line: 4, txn: "T3", gross: 10_050, fee: 186, net: 9_864),
                ExpectedLine(line: 5, txn: "T4", gross: 975, fee: 18, net: 957),
            ]),
        DialectCase(
            name: "a digit below the poisha is refused where the dialect does not round", dialect: "bkash",
            text: Headers.bkash + "\n" + "T1,P1,PAY-1,payment,100.005,0,100.005,BDT,,2023-01-23 10:00:00,Completed,\n"
                + bkashLine + "\n",
            lines: [ExpectedLine(line: 3, txn: "8A44HBA3JK", gross: 150_000, fee: 2_775, net: 147_225)],
            rejected: [ExpectedRejection(line: 2, column: "amount", reasonContains: "below the minor unit")]),
        DialectCase(
            name: "a fee written as a negative number", dialect: "nagad",
            text: Headers.nagad + "\n"
                + "PAY-1,NPR1,ISS1,payment,1500.00,-22.50,1477.50,BDT,,2021-08-25 14:51:35.0,Success,\n",
            lines: [ExpectedLine(line: 2, txn: "ISS1", gross: 150_000, fee: 2_250, net: 147_750)]),
        DialectCase(
            name: "quoted fields with commas, quotes and line breaks keep later line numbers true",
            dialect: "sslcommerz",
            text: Headers.sslcommerz + "\n"
                + "PAY-1,V1,B1,payment,10.00,9.75,BDT,\"VISA, \"\"Dutch\"\"\nBangla\",2020-01-05 22:58:21,VALID,0,\n"
                + "PAY-2,V2,B2,payment,20.00,19.50,BDT,BKASH-BKash,2020-01-05 23:00:00,VALIDATED,0,\n",
            lines: [
                ExpectedLine(
                    line: 2, txn: "B1", gross: 1_000, fee: 25, net: 975, transactedAt: "2020-01-05T16:58:21.000Z"),
                ExpectedLine(line: 4, txn: "B2", gross: 2_000, fee: 50, net: 1_950),
            ]),
        DialectCase(
            name: "store_amount with four decimals rounds half-even and says so", dialect: "sslcommerz",
            text: Headers.sslcommerz + "\n"
                + "PAY-1,V1,B1,payment,10.00,9.7550,BDT,VISA,2020-01-05 22:58:21,VALID,0,\n"
                + "PAY-2,V2,B2,payment,10.00,9.7450,BDT,VISA,2020-01-05 22:58:21,VALID,0,\n"
                + "PAY-3,V3,B3,payment,10.00,9.7500,BDT,VISA,2020-01-05 22:58:21,VALID,0,\n"
                + "PAY-4,V4,B4,payment,10.005,9.75,BDT,VISA,2020-01-05 22:58:21,VALID,0,\n",
            lines: [
                ExpectedLine(
                    line: 2, txn: "B1", gross: 1_000, fee: 24, net: 976,
                    roundingNote: "store_amount 9.7550 rounded half-even to 9.76"),
                ExpectedLine(
                    line: 3, txn: "B2", gross: 1_000, fee: 26, net: 974,
                    roundingNote: "store_amount 9.7450 rounded half-even to 9.74"),
                ExpectedLine(line: 4, txn: "B3", gross: 1_000, fee: 25, net: 975),
            ],
            rejected: [ExpectedRejection(line: 5, column: "amount", reasonContains: "does not round this column")]),
        DialectCase(
            name: "a semicolon delimiter", dialect: "nagad",
            text: Headers.nagad.replacingOccurrences(of: ",", with: ";") + "\n"
                + "PAY-1;NPR1;ISS1;payment;\"1,500.00\";22.50;1477.50;BDT;;2021-08-25 14:51:35.0;Success;\n",
            lines: [ExpectedLine(line: 2, txn: "ISS1", gross: 150_000, fee: 2_250, net: 147_750)]),
        DialectCase(
            name: "a tab delimiter", dialect: "sslcommerz",
            text: Headers.sslcommerz.replacingOccurrences(of: ",", with: "\t") + "\n"
                + "PAY-1\tV1\tB1\tpayment\t10.00\t9.75\tBDT\tVISA-Dutch Bangla\t2020-01-05 22:58:21\tVALID\t0\t\n",
            lines: [ExpectedLine(line: 2, txn: "B1", gross: 1_000, fee: 25, net: 975)]),
        DialectCase(
            name: "columns in another order, case and spaces in names, extra columns kept", dialect: "bkash",
            text: " Currency ,AMOUNT,trxid,merchantInvoiceNumber,charge,transactionType,paymentExecuteTime,"
                + "transactionStatus,branch\n"
                + "BDT,1500.00,T1,PAY-1,27.75,Payment,2023-01-23 10:00:00,COMPLETED,Dhaka\n",
            lines: [ExpectedLine(line: 2, txn: "T1", gross: 150_000, fee: 2_775, net: 147_225)]),
        DialectCase(
            name: "refunds, chargebacks and failures", dialect: "bkash",
            text: Headers.bkash + "\n"
                + "R1,P1,PAY-1,Refund,-500.00,0,-500.00,BDT,,2023-01-23 10:00:00,Completed,8A44HBA3JK\n"
                + "C1,P2,PAY-2,chargeback,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Completed,X\n"
                + "F1,P3,PAY-3,payment,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Failed,\n",
            lines: [
                ExpectedLine(line: 2, txn: "R1", gross: 50_000, fee: 0, net: 50_000, kind: "refund"),
                ExpectedLine(line: 3, txn: "C1", gross: 10_000, fee: 0, net: 10_000, kind: "chargeback"),
                ExpectedLine(line: 4, txn: "F1", gross: 10_000, fee: 0, net: 10_000, status: "failed"),
            ]),
        DialectCase(
            name: "bad lines are refused with line, column and reason; good ones imported", dialect: "bkash",
            text: Headers.bkash + "\n"
                + "T1,P1,PAY-1,payment,12.5x,0,12.50,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T2,P2,PAY-2,payment,100.00,0,100.00,BDT,,yesterday,Completed,\n"
                + "T3,P3,,payment,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T4,P4,PAY-4,payment,100.00,0,100.00,BDT\n"
                + "T5,P5,PAY-5,payment,100.00,0,100.00,XYZ,,2023-01-23 10:00:00,Completed,\n"
                + "T6,P6,PAY-6,payment,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Pending,\n"
                + "T7,P7,PAY-7,payment,1e3,0,1000,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T8,P8,PAY-8,payment,100.00,1.85,99.00,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T9,P9,PAY-9,purchase,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T10,P10,PAY-\u{7}10,payment,100.00,0,100.00,BDT,,2023-01-23 10:00:00,Completed,\n"
                + "T11,P11,PAY-11,payment,100.00,0,100.00,BDT,,2023-02-30 10:00:00,Completed,\n"
                + bkashLine + "\n",
            lines: [ExpectedLine(line: 13, txn: "8A44HBA3JK", gross: 150_000, fee: 2_775, net: 147_225)],
            rejected: [
                ExpectedRejection(line: 2, column: "amount", reasonContains: "\"x\" is not allowed"),
                ExpectedRejection(line: 3, column: "paymentExecuteTime", reasonContains: "not a time"),
                ExpectedRejection(line: 4, column: "merchantInvoiceNumber", reasonContains: "missing"),
                ExpectedRejection(line: 5, column: nil, reasonContains: "8 columns; the header has 12"),
                ExpectedRejection(line: 6, column: "currency", reasonContains: "unknown currency \"XYZ\""),
                ExpectedRejection(line: 7, column: "transactionStatus", reasonContains: "unknown status \"pending\""),
                ExpectedRejection(line: 8, column: "amount", reasonContains: "exponents are not allowed"),
                ExpectedRejection(line: 9, column: "netAmount", reasonContains: "is not the amount 100.00 minus"),
                ExpectedRejection(line: 10, column: "transactionType", reasonContains: "unknown transaction type"),
                ExpectedRejection(line: 11, column: "merchantInvoiceNumber", reasonContains: "control character"),
                ExpectedRejection(line: 12, column: "paymentExecuteTime", reasonContains: "no such date"),
            ]),
        DialectCase(
            name: "other currencies' scales: JPY with none, KWD with three", dialect: "bkash",
            text: Headers.bkash + "\n"
                + "T1,P1,PAY-1,payment,1500,15,1485,JPY,,2023-01-23 10:00:00,Completed,\n"
                + "T2,P2,PAY-2,payment,1.234,0.012,1.222,KWD,,2023-01-23 10:00:00,Completed,\n"
                + "T3,P3,PAY-3,payment,1500.5,0,1500.5,JPY,,2023-01-23 10:00:00,Completed,\n",
            lines: [
                ExpectedLine(line: 2, txn: "T1", gross: 1_500, fee: 15, net: 1_485),
                ExpectedLine(line: 3, txn: "T2", gross: 1_234, fee: 12, net: 1_222),
            ],
            rejected: [ExpectedRejection(line: 4, column: "amount", reasonContains: "JPY has 0 decimal places")]),
    ]

    @Test("each case's lines and refusals", arguments: cases)
    func dialectCase(_ testCase: DialectCase) async throws {
        let harness = try ImportHarness()
        let dialect = try #require(SettlementDialect.named(testCase.dialect))
        let (summary, lines) = try await harness.importText(testCase.text, dialect: dialect)
        #expect(summary.imported == testCase.lines.count)
        #expect(summary.rejected == testCase.rejected.count)
        #expect(summary.read == testCase.lines.count + testCase.rejected.count)
        #expect(lines.count == testCase.lines.count)
        for (stored, expected) in zip(lines, testCase.lines) {
            #expect(stored.sourceLine == expected.line)
            #expect(stored.providerTxnId == expected.txn)
            #expect(stored.provider == dialect.provider)
            #expect(stored.grossMinor == expected.gross, "line \(expected.line)")
            #expect(stored.feeMinor == expected.fee, "line \(expected.line)")
            #expect(stored.netMinor == expected.net, "line \(expected.line)")
            #expect(stored.kind == expected.kind)
            #expect(stored.status == expected.status)
            #expect(stored.roundingNote == expected.roundingNote)
            if let time = expected.transactedAt { #expect(stored.transactedAt == time) }
        }
        #expect(summary.rejectedLines.count == testCase.rejected.count)
        for (refused, expected) in zip(summary.rejectedLines, testCase.rejected) {
            #expect(refused.line == expected.line)
            #expect(refused.column == expected.column, "line \(expected.line): \(refused.reason)")
            #expect(refused.reason.contains(expected.reasonContains), "line \(expected.line): \(refused.reason)")
        }
    }

    @Test("unread columns are kept as extra data, and payers' numbers are masked")
    func extraColumnsAndMasking() async throws {
        let harness = try ImportHarness()
        let (_, lines) = try await harness.importText(
            Headers.sslcommerz + ",note\n"
                + "PAY-1,V1,B1,payment,10.00,9.75,BDT,\"VISA \"\"gold\"\"\",2020-01-05 22:58:21,VALID,1,,\"a, b\"\n",
            dialect: .sslcommerz)
        #expect(lines.first?.extra == #"{"card_type":"VISA \"gold\"","risk_level":"1","note":"a, b"}"#)
        let (_, bkash) = try await harness.importText(
            Headers.bkash + "\n" + Self.bkashLine + "\n", dialect: .bkash, name: "b.csv")
        #expect(bkash.first?.payerMasked == "01770XXX618")
        #expect(bkash.first?.ourReference == "PAY-1")
        #expect(bkash.first?.providerPaymentId == "TR0011")
        #expect(bkash.first?.statusRaw == "Completed")
    }
}
