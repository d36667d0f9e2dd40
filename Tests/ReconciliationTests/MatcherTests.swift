import Foundation
import JobStore
import Reconciliation
import Scheduler
import Testing

/// The rules of reconciliation on hand-made days: every category, the order of precedence,
/// refunds taken in time order, the window, and fees by the contracted schedule.
@Suite("Reconciliation rules")
struct MatcherTests {
    static let day = CivilDate(year: 2026, month: 11, day: 30)
    /// 10:00 Asia/Dhaka on the 29th, in nanoseconds.
    static let capturedOn29th: Int64 = 1_795_924_800 * 1_000_000_000

    static func line(
        _ txn: String, reference: String, kind: String = "payment", status: String = "settled", gross: Int64 = 150_000,
        fee: Int64 = 2_775, currency: String = "BDT", date: String = "2026-11-30", number: Int = 2,
        duplicateOf: SettlementLineKey? = nil, at time: String = "2026-11-29T05:00:00.000Z"
    ) -> StoredSettlementLine {
        StoredSettlementLine(
            key: SettlementLineKey(fileId: 1, line: number),
            line: SettlementLine(
                provider: "bkash", providerTxnId: txn, ourReference: reference, providerPaymentId: nil, kind: kind,
                statusRaw: status == "settled" ? "Completed" : "Failed", status: status, transactedAt: time,
                settlementDate: date, grossMinor: gross, feeMinor: fee, netMinor: gross - fee, currency: currency,
                payerMasked: nil, originalProviderTxnId: nil, sourceLine: number, duplicateOf: duplicateOf))
    }

    static func payment(
        _ reference: String, state: LedgerPayment.State = .captured, amount: Int64 = 150_000, currency: String = "BDT",
        captured: Int64? = capturedOn29th, refunds: [LedgerRefund] = [], provider: String = "bkash"
    ) -> LedgerPayment {
        LedgerPayment(
            provider: provider, paymentReference: reference, transferId: "hold-\(reference)", amountMinor: amount,
            currency: currency, state: state, capturedAtNanoseconds: state == .captured ? captured : nil,
            refunds: refunds)
    }

    static let matcher = ReconciliationMatcher(
        fees: FeeSchedule(rules: ["bkash": [FeeRule(basisPoints: 185, toleranceMinor: 0)]]), lateWindowDays: 2)

    func run(_ lines: [StoredSettlementLine], _ payments: [LedgerPayment], unsettled: [String] = [])
        -> [ReconciliationItem]
    {
        var byReference: [String: LedgerPayment] = [:]
        for payment in payments { byReference[payment.paymentReference] = payment }
        return Self.matcher.reconcile(
            provider: "bkash", date: Self.day, lines: lines, payments: byReference, unsettled: unsettled
        ).items
    }

    @Test(
        "each line comes out in its category",
        arguments: [
            ("matched", line("T1", reference: "P1"), payment("P1"), ReconciliationCategory.matched),
            (
                "an amount off by a poisha", line("T1", reference: "P1", gross: 149_999, fee: 2_775), payment("P1"),
                .amountMismatch
            ),
            ("a fee off by a poisha", line("T1", reference: "P1", fee: 2_776), payment("P1"), .feeMismatch),
            ("a payment the ledger never saw", line("T1", reference: "P9"), payment("P1"), .missingInLedger),
            (
                "paid after the hold expired", line("T1", reference: "P1"), payment("P1", state: .expired),
                .statusMismatch
            ),
            (
                "a failure for a captured payment", line("T1", reference: "P1", status: "failed"), payment("P1"),
                .statusMismatch
            ),
            ("a foreign currency", line("T1", reference: "P1", currency: "USD"), payment("P1"), .currencyMismatch),
            (
                "settled three days after the capture", line("T1", reference: "P1", date: "2026-12-02"), payment("P1"),
                .lateSettlement
            ),
            (
                "a line twice", line("T1", reference: "P1", duplicateOf: SettlementLineKey(fileId: 1, line: 1)),
                payment("P1"), .duplicateSettlement
            ),
            ("a chargeback", line("T1", reference: "P1", kind: "chargeback"), payment("P1"), .adjustment),
            (
                "a failure the ledger agrees with", line("T1", reference: "P1", status: "failed"),
                payment("P1", state: .cancelled), .matched
            ),
        ] as [(String, StoredSettlementLine, LedgerPayment, ReconciliationCategory)])
    func category(
        _ name: String, _ line: StoredSettlementLine, _ payment: LedgerPayment, _ expected: ReconciliationCategory
    ) {
        let items = run([line], [payment])
        #expect(items.count == 1, "\(name)")
        #expect(items.first?.category == expected, "\(name): \(String(describing: items.first))")
    }

    @Test("the differing fields carry both values in major units; currency wins over the rest")
    func fieldsAndPrecedence() {
        let amount = run([Self.line("T1", reference: "P1", gross: 149_900, fee: 2_773)], [Self.payment("P1")]).first
        #expect(amount?.fields == [DifferingField(name: "amount", ledger: "1500.00", provider: "1499.00")])
        let several = run(
            [Self.line("T1", reference: "P1", gross: 1_000, fee: 0, currency: "USD", date: "2026-12-05")],
            [Self.payment("P1")]
        ).first
        #expect(several?.category == .currencyMismatch)
        #expect(several?.fields.map(\.name) == ["currency", "amount", "fee", "settlementDate"])
    }

    @Test("refunds match the ledger's refunds of the same payment and amount, equal ones in time order")
    func refunds() {
        let refunds = [
            LedgerRefund(transferId: "r2", amountMinor: 50_000, atNanoseconds: 20),
            LedgerRefund(transferId: "r1", amountMinor: 50_000, atNanoseconds: 10),
            LedgerRefund(transferId: "r3", amountMinor: 20_000, atNanoseconds: 30),
        ]
        let items = run(
            [
                Self.line("R1", reference: "P1", kind: "refund", gross: 50_000, fee: 0, number: 2),
                Self.line("R2", reference: "P1", kind: "refund", gross: 50_000, fee: 0, number: 3),
                Self.line("R3", reference: "P1", kind: "refund", gross: 30_000, fee: 0, number: 4),
                Self.line("R4", reference: "P1", kind: "refund", gross: 10_000, fee: 0, number: 5),
            ], [Self.payment("P1", refunds: refunds)])
        #expect(items.map(\.category) == [.matched, .matched, .amountMismatch, .missingInLedger])
        #expect(items.map(\.ledgerTransferId) == ["r1", "r2", "r3", "hold-P1"])
    }

    @Test("a capture unsettled within the window is carried; past it, missing at the provider; settled today, neither")
    func window() {
        let onTime = Self.payment("P1", captured: Self.capturedOn29th)
        let old = Self.payment("P2", captured: Self.capturedOn29th - 3 * 86_400 * 1_000_000_000)
        let settled = Self.payment("P3", captured: Self.capturedOn29th - 5 * 86_400 * 1_000_000_000)
        var byReference: [String: LedgerPayment] = [:]
        for payment in [onTime, old, settled] { byReference[payment.paymentReference] = payment }
        let (items, carried) = Self.matcher.reconcile(
            provider: "bkash", date: Self.day,
            lines: [Self.line("T3", reference: "P3", date: "2026-11-30")], payments: byReference,
            unsettled: ["P1", "P2", "P3"])
        #expect(carried == 1)
        #expect(items.map(\.category) == [.lateSettlement, .missingAtProvider])
        #expect(items.last?.paymentReference == "P2" && items.last?.ledgerAmountMinor == 150_000)
    }

    @Test("the same input gives the same items in the same order")
    func deterministic() {
        let lines = (0..<50).map { Self.line("T\($0)", reference: "P\($0 % 7)", number: $0 + 2) }
        let payments = (0..<5).map { Self.payment("P\($0)") }
        #expect(run(lines, payments) == run(lines.reversed(), payments))
    }

    @Test("contracted fees: basis points rounded half-even, fixed part, minimum and maximum, by date")
    func fees() throws {
        #expect(FeeRule(basisPoints: 185).fee(onGrossMinor: 150_000) == 2_775)
        #expect(FeeRule(basisPoints: 150).fee(onGrossMinor: 1_001) == 15)  // 15.015 → 15
        #expect(FeeRule(basisPoints: 50).fee(onGrossMinor: 300) == 2)  // 1.5 → 2 (half-even, odd 1 up)
        #expect(FeeRule(basisPoints: 50).fee(onGrossMinor: 500) == 2)  // 2.5 → 2 (even stays)
        #expect(FeeRule(basisPoints: 100, fixedMinor: 500, minimumMinor: 1_000).fee(onGrossMinor: 100) == 1_000)
        #expect(FeeRule(basisPoints: 300, maximumMinor: 5_000).fee(onGrossMinor: 10_000_000) == 5_000)
        let json =
            #"{"nagad": [{"basisPoints": 150, "from": "2026-12-01"}, {"basisPoints": 120}], "#
            + #""bkash": {"basisPoints": 185, "toleranceMinor": 1}}"#
        let schedule = try FeeSchedule.parse(Data(json.utf8), source: "fees.json")
        #expect(schedule.rule(provider: "nagad", on: CivilDate(year: 2026, month: 11, day: 30))?.basisPoints == 120)
        #expect(schedule.rule(provider: "nagad", on: CivilDate(year: 2026, month: 12, day: 1))?.basisPoints == 150)
        #expect(schedule.rule(provider: "bkash", on: Self.day)?.toleranceMinor == 1)
        #expect(schedule.rule(provider: "sslcommerz", on: Self.day) == nil)
    }

    @Test(
        "a fee schedule that is not one is refused, naming what is wrong",
        arguments: [
            (#"{"bkash": {"basisPoint": 185}}"#, "unknown key \"basisPoint\""),
            (#"{"bkash": {"basisPoints": 1.5}}"#, "whole numbers"),
            (#"{"bkash": {"basisPoints": -1}}"#, "must not be negative"),
            (#"{"bkash": {"basisPoints": 20000}}"#, "above 10000"),
            (#"{"bkash": {"basisPoints": 100, "from": "30/11/2026"}}"#, "from must be a date"),
            (#"{"bkash": {"minimumMinor": 10, "maximumMinor": 5}}"#, "minimumMinor is above maximumMinor"),
            (#"[1]"#, "not a JSON object"),
        ])
    func badSchedules(_ json: String, _ expected: String) {
        #expect {
            _ = try FeeSchedule.parse(Data(json.utf8), source: "fees.json")
        } throws: { error in
            (error as? FeeScheduleError)?.message.contains(expected) == true
        }
    }
}

/// Fee schedules written by a hostile author: repeated keys, exponents, nesting, text after.
@Suite("Fee schedules, hostile")
struct HostileFeeScheduleTests {
    @Test(
        "refused, naming what is wrong",
        arguments: [
            (#"{"bkash": {"basisPoints": 185, "basisPoints": 150}}"#, "the key \"bkash.basisPoints\" appears twice"),
            (
                #"{"bkash": {"basisPoints": 1e2}}"#,
                "bkash.basisPoints is 1e2: amounts and basis points are whole numbers"
            ),
            (#"{"bkash": {"basisPoints": 185}} []"#, "text follows the value"),
            (String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70), "nest deeper than 64"),
            (#"{"bkash": {"basisPoints": true}}"#, "whole numbers"),
        ])
    func refused(_ json: String, _ expected: String) {
        #expect {
            _ = try FeeSchedule.parse(Data(json.utf8), source: "fees.json")
        } throws: { error in
            (error as? FeeScheduleError)?.message.contains(expected) == true
        }
    }
}
