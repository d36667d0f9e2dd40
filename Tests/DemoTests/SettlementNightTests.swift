import Demo
import Foundation
import JobStore
import Reconciliation
import Scheduler
import SettlementImport
import TestSupport
import Testing

@Suite("Demo settlement night")
struct SettlementNightTests {
    static let date = CivilDate(year: 2026, month: 11, day: 30)
    /// 2026-11-30 09:00 Asia/Dhaka.
    static let morning: UInt64 = 1_796_007_600_000_000_000
    static let fees = FeeSchedule(rules: [
        "bkash": [FeeRule(basisPoints: 185, toleranceMinor: 1)],
        "nagad": [FeeRule(basisPoints: 150, toleranceMinor: 1)],
        "sslcommerz": [FeeRule(basisPoints: 250, toleranceMinor: 1)],
    ])

    static func captured(_ provider: String, _ number: Int, at time: UInt64) -> CapturedPayment {
        CapturedPayment(
            provider: provider, paymentReference: "KH\(provider.prefix(2).uppercased())00000000000\(number + 100)",
            providerTxnId: "\(provider.prefix(1).uppercased())TX\(number)",
            amountMinor: Int64(100_000 + number * 1_000),
            capturedAtNanoseconds: time, payerPhone: "0171123456\(number % 10)")
    }

    /// The provider's file as the importer reads it back, keyed as the store would key it.
    static func imported(_ provider: String, _ lines: [ProviderSettlement], in directory: String) throws
        -> [StoredSettlementLine]
    {
        let path = directory + "/\(provider).csv"
        try Data(ProviderFileWriter.file(provider: provider, lines: lines, style: ProviderFileStyle()))
            .write(to: URL(fileURLWithPath: path))
        var stored: [StoredSettlementLine] = []
        var seen: [String: SettlementLineKey] = [:]
        _ = try SettlementFileScan.read(path: path, dialect: try #require(SettlementDialect.named(provider))) {
            row, record, reader in
            guard case .line(let parsed) = row else { return }
            var line = reader.settlementLine(parsed, record: record, defaultSettlementDate: date)
            let key = SettlementLineKey(fileId: 1, line: line.sourceLine)
            // As the importer marks a repeated provider transaction.
            line.duplicateOf = seen[line.providerTxnId]
            if seen[line.providerTxnId] == nil { seen[line.providerTxnId] = key }
            stored.append(StoredSettlementLine(key: key, line: line))
        }
        return stored
    }

    @Test("every injected fault lands in the category the night says, the rest matches, and a seed fixes it")
    func faultsFound() throws {
        let directory = TemporaryDirectory("khata-demo-night")
        defer { directory.remove() }
        var today: [CapturedPayment] = []
        for provider in ProviderFileWriter.providers {
            for number in 0..<8 {
                var payment = Self.captured(provider, number, at: Self.morning + UInt64(number) * 600_000_000_000)
                if number == 7 {
                    payment.refunds = [
                        (amountMinor: 20_000, atNanoseconds: payment.capturedAtNanoseconds + 3_600_000_000_000)
                    ]
                }
                today.append(payment)
            }
        }
        // Captured three and four days ago, never settled.
        let earlier = ProviderFileWriter.providers.flatMap { provider in
            [30, 31].map { Self.captured(provider, $0, at: Self.morning - UInt64($0 - 27) * 86_400_000_000_000) }
        }
        let late = ProviderFileWriter.providers.map { provider in
            (
                provider: provider, paymentReference: "KH\(provider.prefix(2).uppercased())00000000000999",
                amountMinor: Int64(250_000), atNanoseconds: Self.morning + 40_000_000_000_000
            )
        }
        let night = SettlementNight.lines(
            today: today, earlier: earlier, paidAfterExpiry: late, fees: Self.fees, settlementDate: Self.date, seed: 5)
        let again = SettlementNight.lines(
            today: today, earlier: earlier, paidAfterExpiry: late, fees: Self.fees, settlementDate: Self.date, seed: 5)
        #expect(night.faults == again.faults && night.files == again.files)
        #expect(Set(night.faults.map(\.kind)) == Set(InjectedFault.Kind.allCases))
        #expect(night.faults.count == 3 * InjectedFault.Kind.allCases.count)

        for provider in ProviderFileWriter.providers {
            var payments: [String: LedgerPayment] = [:]
            for payment in today + earlier where payment.provider == provider {
                payments[payment.paymentReference] = LedgerPayment(
                    provider: provider, paymentReference: payment.paymentReference,
                    transferId: payment.providerTxnId + "-hold", amountMinor: payment.amountMinor, currency: "BDT",
                    state: .captured, capturedAtNanoseconds: Int64(payment.capturedAtNanoseconds),
                    refunds: payment.refunds.enumerated().map { number, refund in
                        LedgerRefund(
                            transferId: "\(payment.providerTxnId)-refund-\(number)", amountMinor: refund.amountMinor,
                            atNanoseconds: Int64(refund.atNanoseconds))
                    })
            }
            for paid in late where paid.provider == provider {
                payments[paid.paymentReference] = LedgerPayment(
                    provider: provider, paymentReference: paid.paymentReference, transferId: "expired-hold",
                    amountMinor: paid.amountMinor, currency: "BDT", state: .expired, capturedAtNanoseconds: nil)
            }
            let lines = try Self.imported(provider, try #require(night.files[provider]), in: directory.path)
            let unsettled = (today + earlier).filter { $0.provider == provider }.map(\.paymentReference)
            let (items, _) = ReconciliationMatcher(fees: Self.fees).reconcile(
                provider: provider, date: Self.date, lines: lines, payments: payments, unsettled: unsettled)
            for fault in night.faults where fault.provider == provider {
                let found = items.filter {
                    $0.providerTxnId == fault.providerTxnId && $0.category.rawValue != "matched"
                }
                #expect(
                    found.map(\.category.rawValue) == [fault.category],
                    "\(provider): \(fault.kind.rawValue) on \(fault.providerTxnId)")
            }
            // Nothing else is a mismatch, but the earlier payment that stays unsettled.
            let faulted = Set(night.faults.filter { $0.provider == provider }.map(\.providerTxnId))
            let others = items.filter {
                $0.category.rawValue != "matched" && !faulted.contains($0.providerTxnId ?? "")
            }
            #expect(others.map(\.category.rawValue) == ["missing_at_provider"], "\(provider): \(others)")
        }
    }
}
