import Demo
import Foundation
import JobStore
import Scheduler
import SettlementImport
import TestSupport
import Testing

@Suite("Demo settlement files")
struct ProviderFilesTests {
    /// 2026-11-30 08:05:01.736 in Asia/Dhaka.
    static let morning: UInt64 = 1_796_004_301_736_000_000

    static let lines = [
        ProviderSettlement(
            kind: .payment, ourReference: "KH-PAY-000101", providerTxnId: "TX1", providerPaymentId: "P1",
            grossMinor: 150_000, feeMinor: 2_775, transactedAtNanoseconds: morning, payerMsisdn: "01711234567"),
        ProviderSettlement(
            kind: .payment, ourReference: "KH-PAY-000102", providerTxnId: "TX2", providerPaymentId: "P2",
            grossMinor: 123_456_789, feeMinor: 1, transactedAtNanoseconds: morning + 3_600_000_000_000,
            payerMsisdn: "01819876543"),
        ProviderSettlement(
            kind: .refund, ourReference: "KH-PAY-000101", providerTxnId: "TX3", providerPaymentId: "P1",
            grossMinor: 50_000, feeMinor: 0, transactedAtNanoseconds: morning + 7_200_000_000_000,
            payerMsisdn: "01711234567", originalProviderTxnId: "TX1"),
    ]

    @Test(
        "each provider's file, with a BOM, CRLF, a title, a totals line and thousands separators, imports as written",
        arguments: ProviderFileWriter.providers)
    func roundTrip(_ provider: String) throws {
        let directory = TemporaryDirectory("khata-demo-files")
        defer { directory.remove() }
        var style = ProviderFileStyle()
        style.byteOrderMark = true
        style.crlf = true
        style.title = "\(provider) Merchant Settlement Report"
        style.totalsLine = true
        style.thousandsSeparators = true
        let path = directory.path + "/\(provider).csv"
        try Data(ProviderFileWriter.file(provider: provider, lines: Self.lines, style: style))
            .write(to: URL(fileURLWithPath: path))
        let dialect = try #require(SettlementDialect.named(provider))
        var read: [SettlementLine] = []
        var rejected: [String] = []
        let facts = try SettlementFileScan.read(path: path, dialect: dialect) { row, record, reader in
            switch row {
            case .line(let parsed):
                read.append(
                    reader.settlementLine(
                        parsed, record: record, defaultSettlementDate: CivilDate(year: 2026, month: 11, day: 30)))
            case .rejected(let line): rejected.append("\(line)")
            default: break
            }
        }
        #expect(rejected.isEmpty, "\(rejected)")
        #expect(facts.totalsLines == 1 && facts.lineCount == 3)
        try #require(read.count == 3)
        for (line, written) in zip(read, Self.lines) {
            #expect(line.ourReference == written.ourReference && line.providerTxnId == written.providerTxnId)
            #expect(line.kind == written.kind.rawValue && line.status == "settled")
            #expect(line.grossMinor == written.grossMinor && line.feeMinor == written.feeMinor)
            #expect(line.currency == "BDT")
            let seconds = try #require(UTCTime.nanoseconds(line.transactedAt)) / 1_000_000_000
            #expect(seconds == written.transactedAtNanoseconds / 1_000_000_000, "\(provider): the time, from Dhaka's")
            #expect(line.originalProviderTxnId == written.originalProviderTxnId)
        }
        #expect(read[0].netMinor == 147_225 && read[1].netMinor == 123_456_788)
    }
}
