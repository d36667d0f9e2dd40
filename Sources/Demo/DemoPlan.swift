import LedgerBench

/// What becomes of one reservation of the demo day.
public enum PlannedOutcome: Sendable, Equatable {
    /// The provider's signed webhook confirms it, `afterSeconds` after it was made.
    case confirmedByWebhook(afterSeconds: Int)
    /// The booking site confirms it through `POST /v1/reservations/{id}/confirm`.
    case confirmedByRoute(afterSeconds: Int)
    /// The customer cancels it.
    case cancelled(afterSeconds: Int)
    /// Nobody pays: the payment window passes and the expiry job releases the hold.
    case expired
    /// The customer pays after the window passed: the webhook is refused as expired, but the
    /// provider settles the payment (reconciliation must find it).
    case paidAfterExpiry(afterSeconds: Int)
}

/// A refund of a confirmed reservation.
public struct PlannedRefund: Sendable, Equatable {
    /// `nil` refunds all of it.
    public var amountMinor: Int64?
    public var afterSeconds: Int
}

/// One reservation of the demo day, as the day's plan has it.
public struct PlannedReservation: Sendable, Equatable {
    public var bookingId: String
    public var customerId: String
    /// A Bangladeshi mobile number as people type it (`01712345678`).
    public var customerPhone: String
    public var customerEmail: String
    /// `bn` or `en`.
    public var language: String
    public var serviceId: String
    /// `BKASH`, `NAGAD` or `SSLCOMMERZ`.
    public var provider: String
    public var amountMinor: Int64
    /// Seconds after the day's start (00:00 Asia/Dhaka) when it is made.
    public var madeAtSecond: Int
    public var outcome: PlannedOutcome
    public var refund: PlannedRefund?
}

/// The demo day's reservations, from a seed: the same seed gives the same day.
public enum DemoPlan {
    public static let providers = ["BKASH", "NAGAD", "SSLCOMMERZ"]
    public static let merchantCount = 12
    /// The payment window the demo's reservations get (the API's default).
    public static let paymentWindowSeconds = 1_800

    /// The merchants' service ids (`SVC-1` …); their accounts are `merchant:<serviceId>`.
    public static var serviceIds: [String] { (1...merchantCount).map { "SVC-\($0)" } }

    /// `count` reservations made between 08:00 and 22:00 Asia/Dhaka, in the order they are made.
    /// Of them, about 78% are confirmed by webhook and 7% through the confirm route, 6%
    /// cancelled, 7% left to expire and 2% paid after their window; 4% of the confirmed are
    /// refunded, half in full and half in part.
    public static func day(seed: UInt64, count: Int, bookingPrefix: String = "BK") -> [PlannedReservation] {
        precondition(count >= 0)
        var random = BenchRandom(seed: seed)
        let first = 8 * 3_600
        let span = 14 * 3_600
        let times = (0..<count).map { _ in first + Int.random(in: 0..<span, using: &random) }.sorted()
        return times.enumerated().map { index, madeAt in
            let number = index + 1
            let roll = Int.random(in: 0..<100, using: &random)
            let outcome: PlannedOutcome =
                switch roll {
                case 0..<78: .confirmedByWebhook(afterSeconds: Int.random(in: 20...900, using: &random))
                case 78..<85: .confirmedByRoute(afterSeconds: Int.random(in: 30...1_200, using: &random))
                case 85..<91: .cancelled(afterSeconds: Int.random(in: 10...1_500, using: &random))
                case 91..<98: .expired
                default:
                    .paidAfterExpiry(
                        afterSeconds: paymentWindowSeconds + Int.random(in: 60...1_800, using: &random))
                }
            // Whole taka from ৳300 to ৳25,000: what a bus, launch or hotel booking costs.
            let amountMinor = Int64(Int.random(in: 300...25_000, using: &random)) * 100
            var refund: PlannedRefund?
            if case .confirmedByWebhook = outcome, Int.random(in: 0..<100, using: &random) < 4 {
                let partial = Bool.random(using: &random)
                refund = PlannedRefund(
                    amountMinor: partial ? amountMinor / 2 / 100 * 100 : nil,
                    afterSeconds: paymentWindowSeconds + Int.random(in: 600...7_200, using: &random))
            }
            // 01 and an operator's digit (3 to 9), then eight digits.
            let phone =
                "01" + String(Int.random(in: 3...9, using: &random))
                + String(Int.random(in: 10_000_000...99_999_999, using: &random))
            return PlannedReservation(
                bookingId: "\(bookingPrefix)-\(seed)-\(number)", customerId: "CUS-\(seed)-\(number)",
                customerPhone: phone, customerEmail: "customer\(number)@example.com",
                language: Int.random(in: 0..<100, using: &random) < 60 ? "bn" : "en",
                serviceId: "SVC-\(Int.random(in: 1...merchantCount, using: &random))",
                provider: providers[Int.random(in: 0..<providers.count, using: &random)], amountMinor: amountMinor,
                madeAtSecond: madeAt, outcome: outcome, refund: refund)
        }
    }
}
