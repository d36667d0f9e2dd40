/// Why a cron expression was refused: which field, what text, and why.
public struct CronError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A cron schedule: `SECOND MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK`, the first field optional
/// (five fields run at second 0). Fields take `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` or
/// `a/n`, and lists `a,b`; months and weekdays also take names (`JAN`, `MON`), and weekday 7 is
/// Sunday like 0. As in Vixie cron, when both day fields are restricted a day matches either.
/// `@yearly`, `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly` are shorthands.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { expression }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ expression: String) throws(CronError) {
        self.expression = expression
        let trimmed = expression.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        var fields = expanded.split(separator: " ").map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError(
                "cron expression \"\(expression)\" has \(fields.count) fields; it needs 5 "
                    + "(minute hour day month weekday) or 6 (with seconds first)")
        }
        if fields.count == 5 { fields.insert("0", at: 0) }
        seconds = try Self.field(fields[0], "second", 0...59)
        minutes = try Self.field(fields[1], "minute", 0...59)
        hours = try Self.field(fields[2], "hour", 0...23)
        daysOfMonth = try Self.field(fields[3], "day of month", 1...31)
        months = try Self.field(fields[4], "month", 1...12, names: Self.monthNames, firstName: 1)
        var weekdays = try Self.field(fields[5], "day of week", 0...7, names: Self.dayNames, firstName: 0)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        daysOfWeek = weekdays
        dayOfMonthRestricted = !fields[3].hasPrefix("*")
        dayOfWeekRestricted = !fields[5].hasPrefix("*")
    }

    /// The set of values one field allows, as bits.
    static func field(
        _ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0
    ) throws(CronError) -> UInt64 {
        func value(_ part: Substring) throws(CronError) -> Int {
            if let index = names.firstIndex(of: part.uppercased()) { return index + firstName }
            guard let number = Int(part), range.contains(number) else {
                throw CronError(
                    "\(name) field \"\(text)\": \"\(part)\" is not a value from \(range.lowerBound) to "
                        + "\(range.upperBound)\(names.isEmpty ? "" : " or a name")")
            }
            return number
        }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2, !stepParts[0].isEmpty else {
                throw CronError("\(name) field \"\(text)\": \"\(item)\" is not a value, range or step")
            }
            var step = 1
            if stepParts.count == 2 {
                guard let parsed = Int(stepParts[1]), parsed > 0, parsed <= range.upperBound else {
                    throw CronError(
                        "\(name) field \"\(text)\": the step \"\(stepParts[1])\" is not 1 to \(range.upperBound)")
                }
                step = parsed
            }
            let lower: Int
            var upper: Int
            if stepParts[0] == "*" {
                lower = range.lowerBound
                upper = range.upperBound
            } else {
                let bounds = stepParts[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else {
                    throw CronError("\(name) field \"\(text)\": \"\(stepParts[0])\" is not a range")
                }
                lower = try value(bounds[0])
                upper = bounds.count == 2 ? try value(bounds[1]) : (stepParts.count == 2 ? range.upperBound : lower)
                guard lower <= upper else {
                    throw CronError("\(name) field \"\(text)\": the range \"\(stepParts[0])\" runs backwards")
                }
            }
            if name == "day of week", stepParts[0] == "*" { upper = 6 }
            for bit in stride(from: lower, through: upper, by: step) { bits |= 1 << UInt64(bit) }
        }
        return bits
    }

    func matches(_ date: CivilDate) -> Bool {
        guard months & (1 << UInt64(date.month)) != 0 else { return false }
        let dayOfMonth = daysOfMonth & (1 << UInt64(date.day)) != 0
        let dayOfWeek = daysOfWeek & (1 << UInt64(date.weekday)) != 0
        if dayOfMonthRestricted && dayOfWeekRestricted { return dayOfMonth || dayOfWeek }
        return dayOfMonth && dayOfWeek
    }

    /// The first second of the day at or after `secondOfDay` that the time fields allow.
    func firstTime(from secondOfDay: Int) -> Int? {
        var hour = secondOfDay / 3_600
        var minute = secondOfDay / 60 % 60
        var second = secondOfDay % 60
        while hour < 24 {
            if hours & (1 << UInt64(hour)) != 0 {
                while minute < 60 {
                    if minutes & (1 << UInt64(minute)) != 0,
                        let found = Self.lowestBit(seconds, from: second)
                    {
                        return hour * 3_600 + minute * 60 + found
                    }
                    minute += 1
                    second = 0
                }
            }
            hour += 1
            minute = 0
            second = 0
        }
        return nil
    }

    static func lowestBit(_ bits: UInt64, from start: Int) -> Int? {
        let masked = bits & (UInt64.max << UInt64(start))
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }

    /// The first time strictly after `unixSeconds` that the schedule fires in `zone`, in Unix
    /// seconds; nil when it never fires (for example on February 30). Looks at most 400 years
    /// ahead: the calendar repeats after that.
    public func next(after unixSeconds: Int64, in zone: ScheduleZone) -> Int64? {
        var earliest = unixSeconds + 1
        // A wall-clock time that a zone's clock change skips or repeats can map to an instant at
        // or before `unixSeconds`; the search then goes on from the day after.
        for _ in 0..<3 {
            let local = earliest + Int64(zone.offsetSeconds(atUnix: earliest))
            var day = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
            var secondOfDay = Int(local - Int64(day) * 86_400)
            for _ in 0..<146_097 {
                let date = CivilDate(daysSinceEpoch: day)
                if matches(date), let time = firstTime(from: secondOfDay) {
                    let wall = Int64(day) * 86_400 + Int64(time)
                    let instant = zone.unixSeconds(ofWallClock: wall)
                    if instant > unixSeconds { return instant }
                    earliest = instant + 1
                    break
                }
                day += 1
                secondOfDay = 0
            }
            if earliest <= unixSeconds { return nil }
        }
        return nil
    }
}
