import Foundation
import Scheduler
import TestSupport
import Testing

/// Cron expressions against a table of instants, worked out by hand (and checked with Python's
/// datetime), in Asia/Dhaka (UTC+06:00) unless the row says UTC.
@Suite("Cron schedules")
struct CronScheduleTests {
    /// Unix seconds of a UTC wall-clock time.
    static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0)
        -> Int64
    {
        Int64(
            CivilDate(year: year, month: month, day: day).daysSinceEpoch * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let expression: String
        let zone: ScheduleZone
        let after: Int64
        let expected: Int64?
        var testDescription: String { "\(expression) in \(zone) after \(after)" }
    }

    static let rows: [Row] = [
        // Every minute, and every 10 seconds (six fields).
        Row(
            expression: "* * * * *", zone: .dhaka, after: utc(2026, 11, 29, 10, 0, 30),
            expected: utc(2026, 11, 29, 10, 1)),
        Row(
            expression: "*/10 * * * * *", zone: .dhaka, after: utc(2026, 11, 29, 10, 0, 5),
            expected: utc(2026, 11, 29, 10, 0, 10)),
        Row(
            expression: "*/10 * * * * *", zone: .dhaka, after: utc(2026, 11, 29, 10, 0, 50),
            expected: utc(2026, 11, 29, 10, 1, 0)),
        // Strictly after: an instant on the schedule gives the next one.
        Row(expression: "* * * * *", zone: .dhaka, after: utc(2026, 11, 29, 10, 1), expected: utc(2026, 11, 29, 10, 2)),
        // Nightly runs in Dhaka time: midnight, 02:00 and 03:00 local are 18:00, 20:00 and 21:00 UTC.
        Row(expression: "@daily", zone: .dhaka, after: utc(2026, 11, 29, 10), expected: utc(2026, 11, 29, 18)),
        Row(expression: "0 2 * * *", zone: .dhaka, after: utc(2026, 11, 29, 10), expected: utc(2026, 11, 29, 20)),
        Row(expression: "0 3 * * *", zone: .dhaka, after: utc(2026, 11, 29, 10), expected: utc(2026, 11, 29, 21)),
        Row(expression: "0 2 * * *", zone: .utc, after: utc(2026, 11, 29, 10), expected: utc(2026, 11, 30, 2)),
        // The offset carries the local date across UTC midnight and across the year.
        Row(
            expression: "30 23 * * *", zone: .dhaka, after: utc(2026, 11, 29, 17, 29, 59),
            expected: utc(2026, 11, 29, 17, 30)),
        Row(
            expression: "0 0 1 1 *", zone: .dhaka, after: utc(2026, 12, 31, 17, 59, 59), expected: utc(2026, 12, 31, 18)
        ),
        Row(expression: "@yearly", zone: .dhaka, after: utc(2026, 12, 31, 18), expected: utc(2027, 12, 31, 18)),
        // Month ends: the 31st skips the months without one; the 30th skips February.
        Row(expression: "0 0 31 * *", zone: .dhaka, after: utc(2026, 11, 29, 10), expected: utc(2026, 12, 30, 18)),
        Row(expression: "0 0 31 * *", zone: .utc, after: utc(2027, 1, 31), expected: utc(2027, 3, 31)),
        Row(expression: "0 0 30 * *", zone: .utc, after: utc(2027, 1, 30), expected: utc(2027, 3, 30)),
        Row(
            expression: "59 23 28-31 2 *", zone: .utc, after: utc(2027, 2, 28, 23, 59),
            expected: utc(2028, 2, 28, 23, 59)),
        // Leap days: every four years, but not 2100.
        Row(expression: "0 0 29 2 *", zone: .dhaka, after: utc(2026, 3, 1), expected: utc(2028, 2, 28, 18)),
        Row(expression: "0 12 29 2 *", zone: .utc, after: utc(2028, 2, 29, 12), expected: utc(2032, 2, 29, 12)),
        Row(expression: "0 0 29 2 *", zone: .utc, after: utc(2096, 3, 1), expected: utc(2104, 2, 29)),
        // Never: February 30.
        Row(expression: "0 0 30 2 *", zone: .utc, after: utc(2026, 1, 1), expected: nil),
        // Both day fields restricted: either matches (the 13th, or a Friday). 2026-11-29 is a Sunday.
        Row(expression: "0 0 13 * 5", zone: .utc, after: utc(2026, 11, 29), expected: utc(2026, 12, 4)),
        Row(expression: "0 0 13 * FRI", zone: .utc, after: utc(2026, 12, 4), expected: utc(2026, 12, 11)),
        // Only one restricted: it alone decides.
        Row(expression: "0 9 * * MON-FRI", zone: .dhaka, after: utc(2026, 11, 28, 10), expected: utc(2026, 11, 30, 3)),
        Row(expression: "0 0 * * 7", zone: .utc, after: utc(2026, 11, 29), expected: utc(2026, 12, 6)),
        Row(expression: "0 0 * * 0", zone: .utc, after: utc(2026, 11, 29), expected: utc(2026, 12, 6)),
        // Names, lists and steps.
        Row(expression: "0 0 1 jan,JUL *", zone: .utc, after: utc(2026, 1, 1), expected: utc(2026, 7, 1)),
        Row(
            expression: "15-45/15 * * * *", zone: .utc, after: utc(2026, 1, 1, 0, 45),
            expected: utc(2026, 1, 1, 1, 15)),
        Row(expression: "5/20 * * * *", zone: .utc, after: utc(2026, 1, 1, 0, 5), expected: utc(2026, 1, 1, 0, 25)),
        // A fixed offset written out.
        Row(
            expression: "0 0 * * *", zone: ScheduleZone("-03:30")!, after: utc(2026, 1, 1),
            expected: utc(2026, 1, 1, 3, 30)),
    ]

    @Test("next run after an instant", arguments: rows)
    func next(_ row: Row) throws {
        let schedule = try CronSchedule(row.expression)
        #expect(schedule.next(after: row.after, in: row.zone) == row.expected)
    }

    @Test("bad expressions are refused with the field and the reason")
    func refused() {
        let cases = [
            ("61 * * * *", "minute"), ("* * * *", "fields"), ("a * * * *", "minute"), ("5-1 * * * *", "backwards"),
            ("*/0 * * * *", "step"), ("0 0 32 * *", "day of month"), ("0 0 * 13 *", "month"),
            ("0 0 * * 8", "day of week"),
            ("0 0 * * MOON", "day of week"), ("0 0 1,,2 * *", "day of month"), ("* * * * * * *", "fields"),
        ]
        for (expression, word) in cases {
            do {
                _ = try CronSchedule(expression)
                Issue.record("\(expression) was accepted")
            } catch {
                #expect(error.description.contains(word), "\(expression): \(error.description)")
            }
        }
    }

    @Test("civil dates round-trip through days since 1970 over 800 years, weekdays included")
    func civilDates() {
        var expectedWeekday = CivilDate(year: 1600, month: 1, day: 1).weekday
        var previous = CivilDate(year: 1599, month: 12, day: 31)
        var failures: [String] = []
        for days in CivilDate(year: 1600, month: 1, day: 1).daysSinceEpoch..<(146_097 * 2) {
            let date = CivilDate(daysSinceEpoch: days)
            // Each day follows the one before: the next day of the month, or the 1st of the next.
            let follows =
                (date.year == previous.year && date.month == previous.month && date.day == previous.day + 1)
                || (date.day == 1 && previous.day == CivilDate.daysIn(month: previous.month, year: previous.year)
                    && (date.month == previous.month + 1 && date.year == previous.year
                        || date.month == 1 && previous.month == 12 && date.year == previous.year + 1))
            if date.daysSinceEpoch != days || date.weekday != expectedWeekday || !follows {
                failures.append("\(days): \(date)")
            }
            expectedWeekday = (expectedWeekday + 1) % 7
            previous = date
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(CivilDate(daysSinceEpoch: 0) == CivilDate(year: 1970, month: 1, day: 1))
        #expect(CivilDate(year: 1970, month: 1, day: 1).weekday == 4)
        #expect(CivilDate(year: 2026, month: 11, day: 29).weekday == 0)
    }

    @Test("time zones: Dhaka is +06:00 all year; names and written offsets are read")
    func zones() {
        #expect(ScheduleZone("Asia/Dhaka") == .dhaka)
        #expect(ScheduleZone.dhaka.offsetSeconds(atUnix: Self.utc(2026, 6, 1)) == 21_600)
        #expect(ScheduleZone.dhaka.offsetSeconds(atUnix: Self.utc(2026, 12, 1)) == 21_600)
        #expect(ScheduleZone("+05:45")?.offsetSeconds(atUnix: 0) == 20_700)
        #expect(ScheduleZone("Mars/Olympus") == nil)
        #expect(ScheduleZone("+25:00") == nil)
    }
}

/// Random schedules against a brute-force search that shares no code with the scheduler: the
/// expression is written from random sets of values, and the calendar comes from Foundation.
@Suite("Cron schedules against brute force")
struct CronBruteForceTests {
    @Test("200 seeded random schedules: the next run is the first minute, day by day, that the sets allow")
    func bruteForce() throws {
        var random = SplitMix(seed: 29)
        var compared = 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func subset(_ range: ClosedRange<Int>, wildcardChance: Int) -> Set<Int>? {
            if Int.random(in: 0..<100, using: &random) < wildcardChance { return nil }
            let count = Int.random(in: 1...max(1, range.count / 3), using: &random)
            return Set((0..<count).map { _ in Int.random(in: range, using: &random) })
        }
        func text(_ values: Set<Int>?) -> String {
            values.map { $0.sorted().map(String.init).joined(separator: ",") } ?? "*"
        }
        for _ in 0..<200 {
            let minutes = subset(0...59, wildcardChance: 10)
            let hours = subset(0...23, wildcardChance: 30)
            let days = subset(1...31, wildcardChance: 70)
            let months = subset(1...12, wildcardChance: 80)
            let weekdays = subset(0...6, wildcardChance: 60)
            let expression = "\(text(minutes)) \(text(hours)) \(text(days)) \(text(months)) \(text(weekdays))"
            let schedule = try CronSchedule(expression)
            let after = Int64.random(in: 1_700_000_000...1_900_000_000, using: &random)
            var expected: Int64?
            var day = after / 86_400
            search: for _ in 0..<800 {
                let parts = calendar.dateComponents(
                    [.year, .month, .day, .weekday], from: Date(timeIntervalSince1970: TimeInterval(day * 86_400)))
                let dayOK = days?.contains(parts.day!) ?? true
                let weekdayOK = weekdays?.contains(parts.weekday! - 1) ?? true
                let matchesDay = (days != nil && weekdays != nil) ? (dayOK || weekdayOK) : (dayOK && weekdayOK)
                if (months?.contains(parts.month!) ?? true) && matchesDay {
                    for minuteOfDay in 0..<1_440 {
                        let instant = day * 86_400 + Int64(minuteOfDay) * 60
                        if instant > after && (hours?.contains(minuteOfDay / 60) ?? true)
                            && (minutes?.contains(minuteOfDay % 60) ?? true)
                        {
                            expected = instant
                            break search
                        }
                    }
                }
                day += 1
            }
            guard let expected else { continue }  // beyond the brute force's horizon: not compared
            compared += 1
            #expect(schedule.next(after: after, in: .utc) == expected, "\(expression) after \(after)")
        }
        #expect(compared > 150)
    }
}
