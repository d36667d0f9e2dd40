/// Calendar arithmetic on the proleptic Gregorian calendar without Foundation, so schedules are
/// exact, fast and the same on every machine: days since 1970-01-01 to and from year, month and
/// day (the algorithms of Howard Hinnant's "chrono-compatible low-level date algorithms").
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    /// 1...12
    public var month: Int
    /// 1...31
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01.
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int {
        let days = daysSinceEpoch
        return days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6
    }

    /// The date written `YYYY-MM-DD`, or nil when the text is not one or names no such day.
    public static func parse(_ text: String) -> CivilDate? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1970,
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - String(value).count)) + String(value)
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}

extension CivilDate {
    /// Asia/Dhaka's offset from UTC: Bangladesh has kept UTC+6 all year since 2009.
    public static let dhakaOffsetSeconds: Int64 = 6 * 3_600

    /// The number of the Asia/Dhaka day (days since 1970-01-01) of a time in nanoseconds since
    /// the Unix epoch; a time before 1970 falls on its own day. The one rule every job's dates
    /// follow: a settlement date, a capture's date, "yesterday" for the nightly run.
    @inlinable
    public static func dhakaDay(nanoseconds: Int64) -> Int {
        let seconds = nanoseconds / 1_000_000_000 + dhakaOffsetSeconds
        return Int((seconds - (seconds < 0 ? 86_399 : 0)) / 86_400)
    }

    /// The Asia/Dhaka date of a time in nanoseconds since the Unix epoch.
    public static func dhaka(nanoseconds: Int64) -> CivilDate {
        CivilDate(daysSinceEpoch: dhakaDay(nanoseconds: nanoseconds))
    }

    /// The same, for an unsigned time.
    public static func dhaka(nanoseconds: UInt64) -> CivilDate {
        dhaka(nanoseconds: Int64(clamping: nanoseconds))
    }
}
