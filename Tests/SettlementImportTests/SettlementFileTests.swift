import Foundation
import JobStore
import Scheduler
import SettlementImport
import TestSupport
import Testing

/// Whole files: refused as a whole when they are not CSV of the dialect, imported once by
/// content, duplicates found across lines and files, settlement dates, on both job stores.
@Suite("Settlement files")
struct SettlementFileTests {
    static let goodLine = DialectCaseTests.bkashLine

    @Test(
        "a file that is empty, not text, not UTF-8, headerless, another provider's or cut inside a quote: one error",
        arguments: [
            ("empty", [UInt8](), SettlementFileError.Code.empty),
            ("only blank lines", Array("\n\r\n\n".utf8), .noHeader),
            (
                "binary with NUL bytes", [0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00] + Array("trxID".utf8),
                .notText
            ),
            ("UTF-16", [0xFF, 0xFE] + Array("t\0r\0".utf8), .notText),
            (
                "Latin-1",
                Array((Headers.bkash + "\n" + goodLine.replacingOccurrences(of: "PAY-1", with: "PAY-")).utf8)
                    + [0xE9, 0x0A], .notText
            ),
            ("no header", Array("a,b,c\n1,2,3\n".utf8), .noHeader),
            ("a Nagad header", Array((Headers.nagad + "\n").utf8), .otherProvider),
            ("a column named twice", Array((Headers.bkash + ",amount\n").utf8), .badHeader),
            (
                "ends inside a quoted field", Array((Headers.bkash + "\n" + goodLine + "\nT2,\"P2,PAY-2").utf8),
                .unterminatedQuote
            ),
        ] as [(String, [UInt8], SettlementFileError.Code)])
    func refusedFiles(_ name: String, _ bytes: [UInt8], _ code: SettlementFileError.Code) async throws {
        let harness = try ImportHarness()
        await #expect {
            _ = try await harness.importBytes(bytes, dialect: .bkash)
        } throws: { error in
            (error as? SettlementFileError)?.code == code
        }
        #expect(try await harness.store.files().isEmpty, "\(name): nothing recorded")
    }

    @Test("the error names the line and what a header needs")
    func messages() async throws {
        let harness = try ImportHarness()
        do {
            _ = try await harness.importText("trxID,amount,charge\n1,2,3\n", dialect: .bkash)
            Issue.record("a file without a full header was imported")
        } catch let error as SettlementFileError {
            #expect(error.message.contains("no bkash header"))
            #expect(error.message.contains("line 1 comes closest"))
            #expect(error.message.contains("merchantInvoiceNumber"))
        }
        do {
            _ = try await harness.importText(Headers.bkash + "\n" + Self.goodLine + "\nT2,\"P2,", dialect: .bkash)
            Issue.record("a truncated file was imported")
        } catch let error as SettlementFileError {
            #expect(error.message.contains("line 3"), "\(error.message)")
        }
    }

    @Test("importing the same file again changes nothing and says so", arguments: Backend.available)
    func reimport(_ backend: Backend) async throws {
        let harness = try ImportHarness(backend)
        let text =
            Headers.bkash + "\n" + Self.goodLine + "\nT2,P2,PAY-2,payment,x,0,0,BDT,,2023-01-23 10:00:00,Completed,\n"
        let (first, lines) = try await harness.importText(text, dialect: .bkash, name: "day.csv")
        #expect(!first.alreadyImported && first.imported == 1 && first.rejected == 1)
        let (again, linesAgain) = try await harness.importText(text, dialect: .bkash, name: "day-copy.csv")
        #expect(again.alreadyImported)
        #expect(again.fileId == first.fileId)
        #expect(again.imported == 1 && again.rejected == 1 && again.read == 2)
        #expect(linesAgain == lines)
        #expect(try await harness.store.files().count == 1)
    }

    @Test("the same transaction twice, in one file or two: the later line is a duplicate", arguments: Backend.available)
    func duplicates(_ backend: Backend) async throws {
        let harness = try ImportHarness(backend)
        let other = "T2,P2,PAY-2,payment,100.00,1.85,98.15,BDT,,2023-01-23 10:00:00,Completed,"
        let (first, firstLines) = try await harness.importText(
            Headers.bkash + "\n" + Self.goodLine + "\n" + other + "\n" + Self.goodLine + "\n" + Self.goodLine + "\n",
            dialect: .bkash, name: "monday.csv")
        #expect(first.read == 4 && first.imported == 2 && first.duplicates == 2)
        #expect(
            firstLines.map(\.duplicateOf) == [
                nil, nil, SettlementLineKey(fileId: first.fileId, line: 2),
                SettlementLineKey(fileId: first.fileId, line: 2),
            ])
        // A resend on the next day's file, beside a refund of the same payment (another kind).
        let refund = "R1,P1,PAY-1,refund,100.00,0,100.00,BDT,,2023-01-24 10:00:00,Completed,8A44HBA3JK"
        let (second, secondLines) = try await harness.importText(
            Headers.bkash + "\n" + other + "\n" + refund + "\n", dialect: .bkash, name: "tuesday.csv")
        #expect(second.imported == 1 && second.duplicates == 1)
        #expect(secondLines.map(\.duplicateOf) == [SettlementLineKey(fileId: first.fileId, line: 3), nil])
    }

    @Test("the settlement date: a column of its own, --settlement-date, else the Dhaka date of the latest line")
    func settlementDates() async throws {
        let harness = try ImportHarness()
        // 20:30 UTC on the 23rd is 02:30 on the 24th in Dhaka.
        let late = "T2,P2,PAY-2,payment,100.00,1.85,98.15,BDT,,2023-01-23T20:30:00Z,Completed,"
        let (defaulted, lines) = try await harness.importText(
            Headers.bkash + "\n" + Self.goodLine + "\n" + late + "\n", dialect: .bkash, name: "a.csv")
        #expect(defaulted.settlementDate == "2023-01-24")
        #expect(lines.map(\.settlementDate) == ["2023-01-24", "2023-01-24"])
        let (given, givenLines) = try await harness.importText(
            Headers.bkash + "\n" + Self.goodLine + "\n", dialect: .bkash, name: "b.csv",
            settlementDate: CivilDate(year: 2023, month: 1, day: 25))
        #expect(given.settlementDate == "2023-01-25" && givenLines.map(\.settlementDate) == ["2023-01-25"])
        let (_, columnLines) = try await harness.importText(
            Headers.bkash + ",settlementDate\n" + Self.goodLine + ",2023-01-26\n" + late + ",\n", dialect: .bkash,
            name: "c.csv", settlementDate: CivilDate(year: 2023, month: 1, day: 27))
        #expect(columnLines.map(\.settlementDate) == ["2023-01-26", "2023-01-27"])
    }

    @Test("a generic mapping reads a layout none of the three has")
    func genericMapping() async throws {
        let harness = try ImportHarness()
        let mapping = """
            {
              "name": "bank-portal", "provider": "nagad", "delimiter": ";",
              "columns": {"providerTxnId": "Txn No", "ourReference": "Invoice", "amount": "Gross (Tk)",
                          "fee": "Charge (Tk)", "transactedAt": "Date", "status": "Result", "kind": "Type"},
              "time": {"format": "dd/MM/yyyy hh:mm a", "zone": "Asia/Dhaka"},
              "decimal": {"separator": ",", "grouping": "."},
              "rounding": {"fee": "halfEven"},
              "currency": "BDT",
              "kinds": {"sale": "payment", "return": "refund"},
              "statuses": {"ok": "settled", "bounced": "failed"}
            }
            """
        let dialect = try SettlementMapping.parse(Data(mapping.utf8), source: "bank.json")
        let (summary, lines) = try await harness.importText(
            "Txn No;Invoice;Type;Gross (Tk);Charge (Tk);Date;Result\n"
                + "N1;PAY-1;Sale;1.500,00;22,505;25/08/2021 02:51 PM;OK\n"
                + "N2;PAY-2;Return;100,00;0;26/08/2021 12:05 AM;ok\n"
                + "N3;PAY-3;Sale;100,00;0;31/02/2021 10:00 AM;OK\n",
            dialect: dialect)
        #expect(summary.provider == "nagad" && summary.dialect == "bank-portal")
        #expect(summary.imported == 2 && summary.rejected == 1)
        #expect(lines.map(\.grossMinor) == [150_000, 10_000])
        #expect(lines.map(\.feeMinor) == [2_250, 0])
        #expect(lines.first?.roundingNote == "Charge (Tk) 22,505 rounded half-even to 22.50")
        #expect(lines.map(\.transactedAt) == ["2021-08-25T08:51:00.000Z", "2021-08-25T18:05:00.000Z"])
        #expect(lines.map(\.kind) == ["payment", "refund"])
        #expect(lines.map(\.currency) == ["BDT", "BDT"])
    }

    @Test(
        "a mapping that is not one is refused, naming what is wrong",
        arguments: [
            (#"[1]"#, "not a JSON object"),
            (#"{"provider": "bkash", "columns": {}}"#, "providerTxnId"),
            (#"{"provider": "Bkash!", "columns": {}}"#, "lowercase"),
            (#"{"provider": "x", "colums": {}}"#, "unknown key \"colums\""),
            (#"{"provider": "x", "columns": {"txn": "a"}}"#, "unknown field \"txn\""),
            (
                #"{"provider": "x", "currency": "BDT", COLUMNS, "time": {"format": "dd/MM/yyyy HH:mm:ss Q"}}"#,
                "\"Q\" is not a pattern field"
            ),
            (
                #"{"provider": "x", COLUMNS}"#,
                "\"currency\" must give"
            ),
            (
                #"{"provider": "x", "currency": "BDT", COLUMNS}"#,
                "same column"
            ),
        ])
    func badMappings(_ json: String, _ expected: String) {
        let columns = #""columns": {"providerTxnId": "a", "ourReference": "b", "amount": "c", "transactedAt": "d"}"#
        var text = json.replacingOccurrences(of: "COLUMNS", with: columns)
        if expected == "same column" { text = text.replacingOccurrences(of: "\"b\"", with: "\"a\"") }
        #expect {
            _ = try SettlementMapping.parse(Data(text.utf8), source: "m.json")
        } throws: { error in
            let message = (error as? SettlementFileError)?.message ?? ""
            return message.contains(expected) && message.hasPrefix("mapping m.json")
        }
    }
}
