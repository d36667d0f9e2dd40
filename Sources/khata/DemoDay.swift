import Bookings
import Demo
import Foundation
import JobStore
import KhataCrypto
import LedgerCore
import NIOHTTP1
import Scheduler

/// The demo's day, played through the HTTP API on the simulated clock: the reservations of the
/// plan made by several clients at once, confirmed by signed webhooks or the confirm route,
/// cancelled, left to expire, paid too late and refunded, minute by minute, with the scheduler's
/// jobs (expiry, notifications) run at every minute as a worker would, and the SMS provider's
/// delivery reports sent back.
struct DemoDay {
    /// What one action of the day does.
    enum Step: Int, Comparable {
        case reserve, confirm, refund
        static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    struct Action {
        var second: Int
        var step: Step
        var index: Int
    }

    /// Clients making requests at once.
    static let clientCount = 8

    let api: DemoAPI
    let clock: DemoClock
    let scheduler: JobScheduler
    let sms: DemoSMSProvider
    let date: CivilDate
    let seed: UInt64

    /// The nanoseconds at `second` seconds after 00:00 Asia/Dhaka of `date`.
    static func instant(_ date: CivilDate, second: Int) -> UInt64 {
        UInt64(date.daysSinceEpoch * 86_400 + second - 6 * 3_600) * 1_000_000_000
    }

    /// The provider's transaction id of a reservation's payment.
    static func providerTxnId(_ reservation: PlannedReservation) -> String {
        let prefix = ["BKASH": "BK", "NAGAD": "NG", "SSLCOMMERZ": "SSL"][reservation.provider] ?? "TX"
        return prefix + Crypto.hex(Crypto.sha256(Array(reservation.bookingId.utf8)).prefix(6)).uppercased()
    }

    /// Three days before the day, two payments of each provider, captured by webhook: one
    /// settles late tonight, the other never does.
    func prologue(_ reservations: [PlannedReservation]) async throws {
        let earlier = CivilDate(daysSinceEpoch: date.daysSinceEpoch - 3)
        clock.set(Self.instant(earlier, second: 10 * 3_600))
        try await runJobs()
        for reservation in reservations { try await reserve(reservation) }
        clock.set(Self.instant(earlier, second: 10 * 3_600 + 300))
        for reservation in reservations {
            try await webhook(reservation, expecting: "confirmed")
        }
        clock.set(Self.instant(earlier, second: 10 * 3_600 + 360))
        try await runJobs()
    }

    /// Plays the day's plan; `progress` hears the actions done of all.
    func play(_ plan: [PlannedReservation], progress: (Int, Int) -> Void) async throws {
        var actions: [Action] = []
        for (index, reservation) in plan.enumerated() {
            actions.append(Action(second: reservation.madeAtSecond, step: .reserve, index: index))
            switch reservation.outcome {
            case .confirmedByWebhook(let after), .confirmedByRoute(let after), .cancelled(let after),
                .paidAfterExpiry(let after):
                actions.append(Action(second: reservation.madeAtSecond + after, step: .confirm, index: index))
            case .expired: break
            }
            if let refund = reservation.refund {
                // Refunds stay within the day, so that the night's files are all of the day.
                let second = min(reservation.madeAtSecond + refund.afterSeconds, 23 * 3_600)
                actions.append(Action(second: second, step: .refund, index: index))
            }
        }
        let byMinute = Dictionary(grouping: actions) { $0.second / 60 }
        let firstMinute = 8 * 60 - 1
        let lastMinute = 24 * 60 - 1
        var done = 0
        clock.set(Self.instant(date, second: firstMinute * 60))
        try await runJobs()
        for minute in firstMinute...lastMinute {
            clock.set(Self.instant(date, second: minute * 60 + 59))
            let due = (byMinute[minute] ?? []).sorted { ($0.step, $0.second) < ($1.step, $1.second) }
            for step in [Step.reserve, .confirm, .refund] {
                try await perform(due.filter { $0.step == step }, plan)
            }
            done += due.count
            try await runJobs()
            progress(done, actions.count)
        }
    }

    /// Runs what the scheduler has due now (each minute: expiry and notifications) and sends
    /// the SMS provider's delivery reports.
    func runJobs() async throws {
        let results = try await scheduler.runDue(now: Int64(clock.now / 1_000_000_000))
        for (job, result) in results {
            if case .ran(let run) = result, run.outcome == .failed {
                throw CommandFailure("the \(job) job failed: \(run.error ?? "no error recorded")")
            }
        }
        try await sms.report(to: api)
    }

    /// Does `actions` from several clients at once.
    private func perform(_ actions: [Action], _ plan: [PlannedReservation]) async throws {
        guard !actions.isEmpty else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<min(Self.clientCount, actions.count) {
                group.addTask {
                    for action in stride(from: lane, to: actions.count, by: Self.clientCount).map({ actions[$0] }) {
                        try await run(action, plan[action.index])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func run(_ action: Action, _ reservation: PlannedReservation) async throws {
        switch action.step {
        case .reserve: try await reserve(reservation)
        case .refund: try await refund(reservation)
        case .confirm:
            switch reservation.outcome {
            case .confirmedByWebhook: try await webhook(reservation, expecting: "confirmed")
            case .paidAfterExpiry: try await webhook(reservation, expecting: "expired")
            case .confirmedByRoute:
                let id = String(BookingIds(bookingId: reservation.bookingId).holdId)
                try await api.call(
                    .POST, "/v1/reservations/\(id)/confirm",
                    json: ["providerTransactionId": Self.providerTxnId(reservation)], expected: [200])
            case .cancelled:
                let id = String(BookingIds(bookingId: reservation.bookingId).holdId)
                try await api.call(.POST, "/v1/reservations/\(id)/cancel", expected: [200])
            case .expired: break
            }
        }
    }

    private func reserve(_ reservation: PlannedReservation) async throws {
        let answer = try await api.call(
            .POST, "/v1/reservations",
            json: [
                "bookingId": reservation.bookingId, "customerId": reservation.customerId,
                "serviceId": reservation.serviceId, "amount": Self.decimal(reservation.amountMinor),
                "currency": "BDT", "provider": reservation.provider, "customerPhone": reservation.customerPhone,
                "customerEmail": reservation.customerEmail, "language": reservation.language,
            ], expected: [201])
        guard
            answer.object["paymentReference"] as? String
                == BookingIds(bookingId: reservation.bookingId).paymentReference
        else {
            throw CommandFailure("the reservation \(reservation.bookingId) came back without its payment reference")
        }
    }

    private func webhook(_ reservation: PlannedReservation, expecting outcome: String) async throws {
        let answer = try await api.webhook(
            provider: reservation.provider.lowercased(),
            paymentReference: BookingIds(bookingId: reservation.bookingId).paymentReference,
            providerTxnId: Self.providerTxnId(reservation), amountMinor: reservation.amountMinor)
        let got = answer.object["outcome"] as? String ?? "none"
        guard got == outcome else {
            throw CommandFailure(
                "the \(reservation.provider) webhook for \(reservation.bookingId) answered \(got), not \(outcome)")
        }
    }

    private func refund(_ reservation: PlannedReservation) async throws {
        guard let refund = reservation.refund else { return }
        let ids = BookingIds(bookingId: reservation.bookingId)
        // The refund's id derives from the booking, so that a retry lands once.
        let digest = Crypto.sha256(Array("khata demo refund \(reservation.bookingId)".utf8))
        let id = digest.prefix(15).reduce(UInt128(0)) { $0 << 8 | UInt128($1) } | 1
        var body: [String: Any] = ["id": String(id), "transferId": String(ids.confirmId)]
        if let amount = refund.amountMinor { body["amount"] = Self.decimal(amount) }
        try await api.call(.POST, "/v1/refunds", json: body, expected: [201])
    }

    /// Minor units as the API's decimal text (`1500.00`).
    static func decimal(_ minor: Int64) -> String {
        Amount(minorUnits: UInt64(minor)).formatted(.bdt, grouping: false)
    }
}
