import Foundation
import JobStore
import Reconciliation
import Scheduler
import SettlementImport
import TestSupport
import Testing

/// A day read from files into columns (what `khata bench reconcile` times) comes out exactly as
/// the job's matcher puts the same day, line by line; the ledger's payments file is read
/// strictly, refusing what it cannot read with the line and the reason.
@Suite("Reconciliation from files")
struct ColumnDayTests {
    static let day = CivilDate(year: 2026, month: 11, day: 30)
    static let header =
        "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
        + "paymentExecuteTime,transactionStatus,originalTrxID,settlementDate\n"
    static let paymentsHeader = "reference,hold_id,amount_minor,currency,state,captured_at_ns\n"
    static let fees = FeeSchedule(rules: ["bkash": [FeeRule(basisPoints: 185)]])

    /// A seeded day with every kind of disagreement the rules know, as a bKash settlement file
    /// and a payments file.
    static func writeDay(seed: UInt64, count: Int, in directory: TemporaryDirectory) throws -> (String, String) {
        var random = SplitMix(seed: seed)
        var settlement = header
        var payments = paymentsHeader
        // 2026-11-28T00:00:00+06:00 in seconds: captures on the 28th, 29th and 30th, and a few
        // days before for the late and the missing.
        let dayStart: Int64 = 1_795_802_400
        for index in 0..<count {
            let amount = Int64(random.next() % 500_000) + 100
            let fault = Int(random.next() % 20)
            var captured = dayStart + Int64(random.next() % 259_200)
            if fault == 10 || fault == 11 { captured -= 5 * 86_400 }
            let reference = "KH-PAY-\(seed)-\(index)"
            let states = ["captured", "captured", "captured", "expired", "cancelled", "pending"]
            let state = fault == 4 ? states[3 + Int(random.next() % 3)] : "captured"
            if fault != 5 {
                payments +=
                    "\(reference),\(index),\(amount),BDT,\(state),"
                    + (state == "captured" ? "\(captured * 1_000_000_000)" : "") + "\n"
            }
            // Fault 11: captured, never settled (missing at the provider); 12: captured today,
            // not settled yet (carried).
            if fault == 11 || fault == 12 { continue }
            var lineAmount = amount
            if fault == 1 { lineAmount -= 1 }
            var fee = FeeRule(basisPoints: 185).fee(onGrossMinor: lineAmount)
            if fault == 2 { fee += 1 }
            let kind = fault == 6 ? "chargeback" : fault == 7 ? "refund" : "payment"
            let status = fault == 8 ? "Failed" : "Completed"
            let currency = fault == 9 ? "USD" : "BDT"
            let seconds = captured + 6 * 3_600
            let date = CivilDate(daysSinceEpoch: Int(seconds / 86_400))
            let second = Int(seconds % 86_400)
            let time = "\(date) " + String(format: "%02d:%02d:%02d", second / 3_600, second / 60 % 60, second % 60)
            // Fault 13: settled on the 28th, a day reconciled apart; the rest on the 30th.
            let settles = fault == 13 ? "2026-11-28" : ""
            let row =
                "T\(seed)X\(index),P\(index),\(reference),\(kind),\(DecimalAmount.format(lineAmount, scale: 2)),"
                + "\(DecimalAmount.format(fee, scale: 2)),\(DecimalAmount.format(lineAmount - fee, scale: 2)),"
                + "\(currency),01770000618,\(time),\(status),,\(settles)\n"
            settlement += row
            if fault == 3 { settlement += row }
        }
        let settlementPath = directory.file("bkash.csv")
        let paymentsPath = directory.file("payments.csv")
        try settlement.write(toFile: settlementPath, atomically: true, encoding: .utf8)
        try payments.write(toFile: paymentsPath, atomically: true, encoding: .utf8)
        return (settlementPath, paymentsPath)
    }

    /// The same day as the job gathers it: stored lines (repeats marked) and payments by reference.
    static func jobInput(settlement: String, payments: String) throws
        -> (lines: [StoredSettlementLine], payments: [String: LedgerPayment])
    {
        var lines: [StoredSettlementLine] = []
        var first: [String: SettlementLineKey] = [:]
        _ = try SettlementFileScan.read(path: settlement, dialect: .bkash) { row, record, reader in
            guard case .line(let parsed) = row else { return }
            var line = reader.settlementLine(parsed, record: record, defaultSettlementDate: day)
            let key = SettlementLineKey(fileId: 1, line: record.line)
            if let earlier = first[line.providerTxnId] {
                line.duplicateOf = earlier
            } else {
                first[line.providerTxnId] = key
            }
            lines.append(StoredSettlementLine(key: key, line: line))
        }
        var byReference: [String: LedgerPayment] = [:]
        for text in try String(contentsOfFile: payments, encoding: .utf8).split(separator: "\n").dropFirst() {
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            byReference[fields[0]] = LedgerPayment(
                provider: "bkash", paymentReference: fields[0], transferId: fields[1],
                amountMinor: try #require(Int64(fields[2])), currency: fields[3],
                state: try #require(LedgerPayment.State(rawValue: fields[4])), capturedAtNanoseconds: Int64(fields[5]))
        }
        return (lines, byReference)
    }

    @Test("every line and payment of a generated day is in the same category from files as in the job (seeded)")
    func filesAgreeWithTheJob() throws {
        for seed: UInt64 in [7, 14_2026, 99] {
            let directory = TemporaryDirectory("khata-columns")
            defer { directory.remove() }
            let (settlementPath, paymentsPath) = try Self.writeDay(seed: seed, count: 4_000, in: directory)
            let matcher = ReconciliationMatcher(fees: Self.fees, lateWindowDays: 2)

            let columns = try ColumnDay.read(
                settlement: settlementPath, dialect: .bkash, fileId: 1, settlementDate: Self.day,
                payments: paymentsPath, expectedLines: 16)
            #expect(columns.rejectedCount == 0 && columns.facts.lineCount == columns.lines.count)
            #expect(columns.facts.sha256.isEmpty, "reading for reconciliation does not hash")
            let found = matcher.findings(
                provider: "bkash", date: Self.day, lines: columns.lines, payments: columns.payments,
                unsettled: Array(0..<Int32(columns.payments.count)))

            let input = try Self.jobInput(settlement: settlementPath, payments: paymentsPath)
            let (items, carried) = matcher.reconcile(
                provider: "bkash", date: Self.day, lines: input.lines, payments: input.payments,
                unsettled: Array(input.payments.keys))
            var byLine: [SettlementLineKey: ReconciliationCategory] = [:]
            var counts: [ReconciliationCategory: Int] = [:]
            for item in items {
                counts[item.category, default: 0] += 1
                if let line = item.line { byLine[line] = item.category }
            }
            #expect(found.counts == counts, "seed \(seed)")
            #expect(found.carried == carried, "seed \(seed)")
            for index in 0..<columns.lines.count {
                #expect(
                    byLine[columns.lines.keys[index]] == found.category[index],
                    "seed \(seed): line \(columns.lines.keys[index].line)")
            }
            // Every kind of disagreement is in the day.
            for category in ReconciliationCategory.allCases {
                #expect(counts[category, default: 0] > 0, "seed \(seed): no \(category.rawValue)")
            }
        }
    }

    @Test(
        "a payments file line that cannot be read refuses the file, naming the line and why",
        arguments: [
            ("KH-1,1,100,BDT,captured", "5 fields, not 6"), ("KH-1,1,100,BDT,captured,1,9", "7 fields, not 6"),
            (",1,100,BDT,captured,1", "no reference"), ("KH-1,,100,BDT,captured,1", "no hold_id"),
            ("KH-1,1,12.50,BDT,captured,1", "amount_minor"), ("KH-1,1,1e3,BDT,captured,1", "amount_minor"),
            ("KH-1,1,99999999999999999999,BDT,captured,1", "amount_minor"), ("KH-1,1,-,BDT,captured,1", "amount_minor"),
            ("KH-1,1,100,BD,captured,1", "currency"), ("KH-1,1,100,BDT,Captured,1", "state"),
            ("KH-1,1,100,BDT,captured,", "capture time"), ("KH-1,1,100,BDT,pending,5", "capture time"),
            ("KH-1,1,100,BDT,captured,1.5", "captured_at_ns"), ("KH-0,1,100,BDT,expired,", "reference repeated"),
            (String(repeating: "R", count: 129) + ",1,100,BDT,expired,", "longer than 128 bytes"),
        ])
    func refusesBadLines(line: String, reason: String) throws {
        let directory = TemporaryDirectory("khata-payments")
        defer { directory.remove() }
        let path = directory.file("payments.csv")
        let text = Self.paymentsHeader + "KH-0,0,100,BDT,captured,1000\n" + line + "\nKH-2,2,5,BDT,expired,\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try LedgerPaymentsFile.read(path, expectedCount: 4)
            Issue.record("\(line) was read")
        } catch let error as ReconciliationError {
            #expect(error.message.contains("payments line 3:"), "\(error.message)")
            #expect(error.message.contains(reason), "\(error.message)")
        }
    }

    @Test("a payments file with CRLF, a 128-byte reference and no final line break is read whole; no header, not")
    func readsLineEnds() throws {
        let directory = TemporaryDirectory("khata-payments")
        defer { directory.remove() }
        let path = directory.file("payments.csv")
        try
            ("reference,hold_id,amount_minor,currency,state,captured_at_ns\r\n"
            + "KH-1,1,150000,BDT,captured,86400000000000\r\nKH-2,2,-5,BDT,cancelled,\r\n"
            + String(repeating: "R", count: 128) + ",3,7,BDT,pending,")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let (payments, references) = try LedgerPaymentsFile.read(path, expectedCount: 1)
        #expect(payments.count == 3 && references.count == 3)
        #expect(payments.amountMinor == [150_000, -5, 7])
        #expect(payments.state == [.captured, .cancelled, .pending])
        #expect(payments.capturedDay == [1, PaymentColumns.notCaptured, PaymentColumns.notCaptured])
        #expect(references.find(String(repeating: "R", count: 128)) == 2)
        #expect(references.find("KH-2") == 1)
        try "KH-1,1,150000,BDT,captured,1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ReconciliationError.self) { try LedgerPaymentsFile.read(path, expectedCount: 1) }
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ReconciliationError.self) { try LedgerPaymentsFile.read(path, expectedCount: 1) }
    }
}
