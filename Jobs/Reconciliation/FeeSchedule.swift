import Foundation
import JSONInput
import Scheduler

/// A provider's contracted fee from a date on: a percentage in basis points plus a fixed amount,
/// kept between a minimum and a maximum, rounded half-even to the minor unit; a provider's fee
/// within `toleranceMinor` of it is taken as agreed.
public struct FeeRule: Sendable, Equatable {
    public var basisPoints: Int64
    public var fixedMinor: Int64
    public var minimumMinor: Int64?
    public var maximumMinor: Int64?
    /// The first settlement date the rule applies to; nil: from the beginning.
    public var from: CivilDate?
    public var toleranceMinor: Int64

    public init(
        basisPoints: Int64 = 0, fixedMinor: Int64 = 0, minimumMinor: Int64? = nil, maximumMinor: Int64? = nil,
        from: CivilDate? = nil, toleranceMinor: Int64 = 0
    ) {
        self.basisPoints = basisPoints
        self.fixedMinor = fixedMinor
        self.minimumMinor = minimumMinor
        self.maximumMinor = maximumMinor
        self.from = from
        self.toleranceMinor = toleranceMinor
    }

    /// The fee on `grossMinor`, in integers only: basis points of the amount rounded half-even,
    /// plus the fixed part, then the minimum and maximum.
    public func fee(onGrossMinor grossMinor: Int64) -> Int64 {
        let magnitude = grossMinor.magnitude
        let product = magnitude.multipliedFullWidth(by: UInt64(basisPoints))
        let (quotient, remainder) = UInt64(10_000).dividingFullWidth(product)
        var percentage = Int64(quotient)
        // Half-even: up past half, and at exactly half when the quotient is odd.
        if remainder > 5_000 || (remainder == 5_000 && quotient & 1 == 1) { percentage += 1 }
        var fee = percentage + fixedMinor
        if let minimumMinor { fee = max(fee, minimumMinor) }
        if let maximumMinor { fee = min(fee, maximumMinor) }
        return fee
    }
}

/// Contracted fees by provider, each a list of rules by the date they apply from.
public struct FeeSchedule: Sendable, Equatable {
    public var rules: [String: [FeeRule]]

    static let beginning = CivilDate(year: 1970, month: 1, day: 1)

    public init(rules: [String: [FeeRule]] = [:]) {
        self.rules = rules.mapValues { list in list.sorted { ($0.from ?? Self.beginning) < ($1.from ?? Self.beginning) }
        }
    }

    /// The rule of `provider` in force on `date`: the latest one that applies from that date or
    /// before; nil when the provider has none (its fees are then not checked).
    public func rule(provider: String, on date: CivilDate) -> FeeRule? {
        rules[provider]?.last { ($0.from ?? Self.beginning) <= date }
    }

    /// This schedule with `other`'s providers replacing its own (`--fees FILE` for one run).
    public func overridden(by other: FeeSchedule) -> FeeSchedule {
        FeeSchedule(rules: rules.merging(other.rules) { _, new in new })
    }

    static let ruleKeys: Set<String> = [
        "basisPoints", "fixedMinor", "minimumMinor", "maximumMinor", "from", "toleranceMinor",
    ]

    /// One rule as written.
    private struct WrittenRule: Decodable {
        var basisPoints: Int64?
        var fixedMinor: Int64?
        var minimumMinor: Int64?
        var maximumMinor: Int64?
        var from: String?
        var toleranceMinor: Int64?
    }

    /// One rule, or a list of them by date.
    private enum WrittenRules: Decodable {
        case one(WrittenRule)
        case many([WrittenRule])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let many = try? container.decode([WrittenRule].self) {
                self = .many(many)
            } else {
                self = .one(try container.decode(WrittenRule.self))
            }
        }

        var rules: [WrittenRule] {
            switch self {
            case .one(let rule): [rule]
            case .many(let rules): rules
            }
        }
    }

    /// A schedule from JSON: `{"bkash": {"basisPoints": 185}, "nagad": [{"basisPoints": 150,
    /// "from": "2026-01-01"}, …]}`: per provider one rule or a list of rules by date. Amounts are
    /// whole numbers of minor units (and basis points whole numbers); anything else is refused,
    /// naming the provider and key.
    public static func parse(_ data: Data, source: String) throws(FeeScheduleError) -> FeeSchedule {
        func fail(_ reason: String) -> FeeScheduleError { FeeScheduleError(message: "\(source): \(reason)") }
        if let problem = JSONDocumentCheck.problem(Array(data)) { throw fail(problem) }
        guard let object = try? JSONSerialization.jsonObject(with: data), let top = object as? [String: Any] else {
            throw fail("not a JSON object of provider to fee rule")
        }
        // Unknown keys are refused: a misspelt "basisPoint" must not silently mean 0.
        for (provider, value) in top {
            let entries = (value as? [Any]) ?? [value]
            for entry in entries {
                guard let keys = (entry as? [String: Any])?.keys else {
                    throw fail("\(provider): a rule is an object, or a list of them")
                }
                if let unknown = keys.sorted().first(where: { !ruleKeys.contains($0) }) {
                    throw fail(
                        "\(provider): unknown key \"\(unknown)\" (known: \(ruleKeys.sorted().joined(separator: ", ")))")
                }
            }
        }
        let written: [String: WrittenRules]
        do {
            written = try JSONDecoder().decode([String: WrittenRules].self, from: data)
        } catch {
            throw fail("amounts and basis points must be whole numbers, and from a date (YYYY-MM-DD)")
        }
        var rules: [String: [FeeRule]] = [:]
        for (provider, list) in written {
            for entry in list.rules {
                for (key, value) in [
                    ("basisPoints", entry.basisPoints), ("fixedMinor", entry.fixedMinor),
                    ("minimumMinor", entry.minimumMinor), ("maximumMinor", entry.maximumMinor),
                    ("toleranceMinor", entry.toleranceMinor),
                ] where (value ?? 0) < 0 {
                    throw fail("\(provider): \(key) must not be negative")
                }
                var from: CivilDate?
                if let text = entry.from {
                    guard let date = CivilDate.parse(text) else {
                        throw fail("\(provider): from must be a date, YYYY-MM-DD")
                    }
                    from = date
                }
                let rule = FeeRule(
                    basisPoints: entry.basisPoints ?? 0, fixedMinor: entry.fixedMinor ?? 0,
                    minimumMinor: entry.minimumMinor, maximumMinor: entry.maximumMinor, from: from,
                    toleranceMinor: entry.toleranceMinor ?? 0)
                if rule.basisPoints > 10_000 { throw fail("\(provider): basisPoints above 10000 (100%)") }
                if let minimum = rule.minimumMinor, let maximum = rule.maximumMinor, minimum > maximum {
                    throw fail("\(provider): minimumMinor is above maximumMinor")
                }
                rules[provider, default: []].append(rule)
            }
        }
        return FeeSchedule(rules: rules)
    }
}

/// A fee schedule that cannot be used, and why.
public struct FeeScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
