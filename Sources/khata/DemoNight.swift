import Bookings
import Demo
import Foundation
import NIOHTTP1
import Reconciliation
import Scheduler

/// A booking's payment as the ledger tells it (`POST /v1/payments/states`).
struct DemoPaymentState {
    var bookingId: String
    /// `pending`, `captured`, `cancelled` or `expired`.
    var state: String
    var amountMinor: Int64
    var capturedAtNanoseconds: UInt64?
    var refunds: [(amountMinor: Int64, atNanoseconds: UInt64)]
}

/// The night after the demo's day: the providers' settlement files written from what the ledger
/// holds, dropped into the intake folders, and the scheduler's night jobs (import at 01:00,
/// reconciliation at 02:00, the archive at 03:30) run on the simulated clock; then the reports
/// fetched from the API and the archive verified.
struct DemoNight {
    let api: DemoAPI
    let day: DemoDay
    let paths: DemoPaths

    /// The ledger's state of every booking, read through the API, in order.
    func states(of bookingIds: [String]) async throws -> [DemoPaymentState] {
        var states: [DemoPaymentState] = []
        for start in stride(from: 0, to: bookingIds.count, by: 1_000) {
            let chunk = Array(bookingIds[start..<min(start + 1_000, bookingIds.count)])
            let answer = try await api.call(
                .POST, "/v1/payments/states",
                json: ["bookingIds": chunk, "refundsFor": chunk, "atNanoseconds": String(day.clock.now)],
                expected: [200])
            guard let payments = answer.object["payments"] as? [Any], payments.count == chunk.count else {
                throw CommandFailure("the payment states answer does not have one payment per booking")
            }
            for (bookingId, payment) in zip(chunk, payments) {
                guard let payment = payment as? [String: Any], let state = payment["state"] as? String,
                    let amount = (payment["amountMinor"] as? String).flatMap({ Int64($0) })
                else { throw CommandFailure("the ledger has no hold for the booking \(bookingId)") }
                let refunds = (payment["refunds"] as? [[String: Any]] ?? []).compactMap { refund in
                    (refund["amountMinor"] as? String).flatMap { Int64($0) }.flatMap { amount in
                        (refund["atNanoseconds"] as? String).flatMap { UInt64($0) }.map { (amount, $0) }
                    }
                }
                states.append(
                    DemoPaymentState(
                        bookingId: bookingId, state: state, amountMinor: amount,
                        capturedAtNanoseconds: (payment["capturedAtNanoseconds"] as? String).flatMap { UInt64($0) },
                        refunds: refunds))
            }
        }
        return states
    }

    /// The captured payments among `plan` as settlement files need them.
    static func captured(_ plan: [PlannedReservation], _ states: [DemoPaymentState]) -> [CapturedPayment] {
        zip(plan, states).compactMap { reservation, state in
            guard state.state == "captured", let at = state.capturedAtNanoseconds else { return nil }
            return CapturedPayment(
                provider: reservation.provider.lowercased(),
                paymentReference: BookingIds(bookingId: reservation.bookingId).paymentReference,
                providerTxnId: DemoDay.providerTxnId(reservation), amountMinor: state.amountMinor,
                capturedAtNanoseconds: at, payerPhone: reservation.customerPhone, refunds: state.refunds)
        }
    }

    /// How each provider's file is laid out: what their real exports do.
    static func style(_ provider: String) -> ProviderFileStyle {
        var style = ProviderFileStyle()
        switch provider {
        case "bkash":
            style.byteOrderMark = true
            style.crlf = true
            style.title = "bKash Merchant Settlement Report"
            style.totalsLine = true
        case "nagad":
            style.thousandsSeparators = true
            style.totalsLine = true
        default:
            style.byteOrderMark = true
        }
        return style
    }

    /// Writes the night's files into the intake folders, stamped with the simulated time they
    /// arrive; answers the files' paths and the faults they carry.
    func writeFiles(
        today: [CapturedPayment], earlier: [CapturedPayment],
        paidAfterExpiry: [(provider: String, paymentReference: String, amountMinor: Int64, atNanoseconds: UInt64)]
    ) throws -> (paths: [String: String], faults: [InjectedFault]) {
        let (files, faults) = SettlementNight.lines(
            today: today, earlier: earlier, paidAfterExpiry: paidAfterExpiry, fees: DemoConfiguration.fees,
            settlementDate: day.date, seed: day.seed)
        var written: [String: String] = [:]
        let arrival = Date(timeIntervalSince1970: TimeInterval(day.clock.now / 1_000_000_000))
        for provider in ProviderFileWriter.providers {
            let path = paths.settlements(provider) + "/\(provider)-settlement-\(day.date).csv"
            let bytes = ProviderFileWriter.file(
                provider: provider, lines: files[provider] ?? [], style: Self.style(provider))
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: arrival], ofItemAtPath: path)
            written[provider] = path
        }
        return (written, faults)
    }

    /// Runs the scheduler minute by minute until `second` past midnight after the day; `progress`
    /// hears the minutes done.
    func runUntil(second: Int, progress: (Int, Int) -> Void) async throws {
        let nextDay = CivilDate(daysSinceEpoch: day.date.daysSinceEpoch + 1)
        let start = Int((day.clock.now - DemoDay.instant(nextDay, second: 0)) / 1_000_000_000) / 60 + 1
        let end = second / 60
        for minute in start...end {
            day.clock.set(DemoDay.instant(nextDay, second: minute * 60))
            try await day.runJobs()
            progress(minute - start + 1, end - start + 1)
        }
    }

    /// Fetches each run's HTML and CSV report into the reports folder; answers their paths.
    func writeReports(_ runs: [[String: Any]]) async throws -> [String] {
        var written: [String] = []
        for run in runs {
            guard let id = run["id"], let provider = run["provider"] as? String else { continue }
            for format in ["html", "csv"] {
                let bytes = try await api.fetch("/v1/reconciliation/runs/\(id)/report.\(format)")
                let path = paths.reports + "/\(provider)-\(day.date).\(format)"
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                written.append(path)
            }
        }
        return written
    }
}
