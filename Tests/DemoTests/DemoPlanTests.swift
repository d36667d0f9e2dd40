import Demo
import Testing

@Suite("Demo day plan")
struct DemoPlanTests {
    @Test("the same seed gives the same day; another seed another")
    func seeded() {
        #expect(DemoPlan.day(seed: 7, count: 500) == DemoPlan.day(seed: 7, count: 500))
        #expect(DemoPlan.day(seed: 7, count: 500) != DemoPlan.day(seed: 8, count: 500))
        #expect(DemoPlan.day(seed: 7, count: 0).isEmpty)
    }

    @Test("5,000 reservations: every outcome in its share, refunds within their payments, fields well formed")
    func shape() {
        let day = DemoPlan.day(seed: 2026, count: 5_000)
        #expect(day.count == 5_000)
        #expect(Set(day.map(\.bookingId)).count == 5_000 && Set(day.map(\.customerId)).count == 5_000)
        #expect(zip(day, day.dropFirst()).allSatisfy { $0.madeAtSecond <= $1.madeAtSecond })
        #expect(day.allSatisfy { (8 * 3_600..<22 * 3_600).contains($0.madeAtSecond) })
        func share(_ matches: (PlannedOutcome) -> Bool) -> Int {
            day.filter { matches($0.outcome) }.count * 100 / 5_000
        }
        let webhook = share { if case .confirmedByWebhook = $0 { true } else { false } }
        let route = share { if case .confirmedByRoute = $0 { true } else { false } }
        let cancelled = share { if case .cancelled = $0 { true } else { false } }
        let expired = share { $0 == .expired }
        let late = share { if case .paidAfterExpiry = $0 { true } else { false } }
        #expect((74...82).contains(webhook) && (5...9).contains(route) && (4...8).contains(cancelled))
        #expect((5...9).contains(expired) && (1...3).contains(late))
        for reservation in day {
            if case .paidAfterExpiry(let after) = reservation.outcome {
                #expect(after > DemoPlan.paymentWindowSeconds, "paid after the window")
            }
            if case .confirmedByWebhook(let after) = reservation.outcome {
                #expect(after < DemoPlan.paymentWindowSeconds)
            }
            #expect(reservation.amountMinor >= 30_000 && reservation.amountMinor <= 2_500_000)
            #expect(reservation.amountMinor % 100 == 0)
            #expect(reservation.customerPhone.count == 11 && reservation.customerPhone.hasPrefix("01"))
            let digits = reservation.customerPhone.allSatisfy { $0.isNumber }
            #expect(digits)
            #expect(DemoPlan.providers.contains(reservation.provider))
            #expect(DemoPlan.serviceIds.contains(reservation.serviceId))
            #expect(["bn", "en"].contains(reservation.language))
            if let refund = reservation.refund {
                #expect((refund.amountMinor ?? reservation.amountMinor) <= reservation.amountMinor)
                #expect((refund.amountMinor ?? 1) > 0)
            }
        }
        let refunds = day.compactMap(\.refund)
        #expect(refunds.contains { $0.amountMinor == nil } && refunds.contains { $0.amountMinor != nil })
    }
}
