import Scheduler

/// How a settlement file writes the time of a transaction, and the zone it is written in.
/// Times without an offset of their own are read in the zone (Asia/Dhaka for the providers) and
/// stored in UTC.
public struct LocalTimeFormat: Sendable, Equatable {
    public enum Layout: Sendable, Equatable {
        /// The providers' forms: `2023-01-23T02:04:05:736 GMT+0600` (bKash's API),
        /// `2023-01-23 02:04:05`, `2021-08-25 14:51:35.0` (Nagad), and ISO 8601 with `Z` or an
        /// offset. A written offset wins over the zone.
        case provider
        /// A pattern of `yyyy`, `MM`/`M`, `MMM` (Jan), `dd`/`d`, `HH`/`H`, `hh`/`h` with `a`
        /// (AM/PM), `mm`, `ss`, `S`… (a fraction of 1 to 9 digits); anything else literally, and
        /// letters in single quotes.
        case pattern([Token])
    }

    public enum Token: Sendable, Equatable {
        case year, month, monthShortName, day, hour24, hour12, minute, second, fraction, amPm
        case literal(UInt8)
        /// One or two digits (`M`, `d`, `H`, `h`).
        indirect case flexibleNumber(Token)
    }

    public var layout: Layout
    public var zone: ScheduleZone

    public init(layout: Layout, zone: ScheduleZone) {
        self.layout = layout
        self.zone = zone
    }

    /// The providers' forms, read in Asia/Dhaka.
    public static let providers = LocalTimeFormat(layout: .provider, zone: .dhaka)

    /// A format from a pattern text (see `Layout.pattern`); a reason when the pattern is not one.
    public static func pattern(_ text: String, zone: ScheduleZone) -> Result<LocalTimeFormat, TimeProblem> {
        var tokens: [Token] = []
        let bytes = Array(text.utf8)
        var index = 0
        var has: Set<String> = []
        while index < bytes.count {
            let byte = bytes[index]
            var run = 1
            while index + run < bytes.count && bytes[index + run] == byte { run += 1 }
            let letter = Character(Unicode.Scalar(byte))
            switch (letter, run) {
            case ("y", 4): tokens.append(.year)
            case ("M", 3): tokens.append(.monthShortName)
            case ("M", 2): tokens.append(.month)
            case ("M", 1): tokens.append(.flexibleNumber(.month))
            case ("d", 2): tokens.append(.day)
            case ("d", 1): tokens.append(.flexibleNumber(.day))
            case ("H", 2): tokens.append(.hour24)
            case ("H", 1): tokens.append(.flexibleNumber(.hour24))
            case ("h", 2): tokens.append(.hour12)
            case ("h", 1): tokens.append(.flexibleNumber(.hour12))
            case ("m", 2): tokens.append(.minute)
            case ("s", 2): tokens.append(.second)
            case ("S", _): tokens.append(.fraction)
            case ("a", 1): tokens.append(.amPm)
            case ("'", _):
                guard let close = bytes[(index + 1)...].firstIndex(of: byte) else {
                    return .failure(.badPattern("a quote in the pattern is not closed"))
                }
                tokens.append(contentsOf: bytes[(index + 1)..<close].map(Token.literal))
                index = close + 1
                continue
            default:
                if letter.isLetter {
                    return .failure(.badPattern("\"\(String(repeating: letter, count: run))\" is not a pattern field"))
                }
                for _ in 0..<run { tokens.append(.literal(byte)) }
            }
            has.insert(String(letter))
            index += run
        }
        for needed in ["y", "M", "d", "m"] where !has.contains(needed) {
            return .failure(
                .badPattern("the pattern needs \(needed == "y" ? "yyyy" : needed == "M" ? "MM" : needed + needed)"))
        }
        guard has.contains("H") || has.contains("h") else { return .failure(.badPattern("the pattern needs HH or hh")) }
        if has.contains("h") != has.contains("a") {
            return .failure(.badPattern("a 12-hour pattern (hh) needs a (AM/PM), and a only goes with hh"))
        }
        return .success(LocalTimeFormat(layout: .pattern(tokens), zone: zone))
    }

    /// Nanoseconds since the Unix epoch of the time in `field`, or why it is not one.
    public func parse(_ field: UnsafeBufferPointer<UInt8>) -> Result<Int64, TimeProblem> {
        var start = 0
        var end = field.count
        while start < end && field[start] == 0x20 { start += 1 }
        while end > start && field[end - 1] == 0x20 { end -= 1 }
        guard start < end else { return .failure(.empty) }
        var cursor = Cursor(bytes: field, index: start, end: end)
        switch layout {
        case .provider: return parseProvider(&cursor)
        case .pattern(let tokens): return parsePattern(tokens, &cursor)
        }
    }

    private func parseProvider(_ cursor: inout Cursor) -> Result<Int64, TimeProblem> {
        guard let year = cursor.digits(4), cursor.take(UInt8(ascii: "-")), let month = cursor.digits(2),
            cursor.take(UInt8(ascii: "-")), let day = cursor.digits(2)
        else { return .failure(.notATime) }
        guard cursor.take(UInt8(ascii: "T")) || cursor.takeSpaces() else { return .failure(.notATime) }
        guard let hour = cursor.digits(2), cursor.take(UInt8(ascii: ":")), let minute = cursor.digits(2) else {
            return .failure(.notATime)
        }
        var second = 0
        var nanoseconds = 0
        if cursor.take(UInt8(ascii: ":")) {
            guard let value = cursor.digits(2) else { return .failure(.notATime) }
            second = value
            // bKash writes milliseconds after a colon (`02:04:05:736`); others after a point.
            if cursor.take(UInt8(ascii: ".")) || cursor.take(UInt8(ascii: ":")) || cursor.take(UInt8(ascii: ",")) {
                guard let fraction = cursor.fraction() else { return .failure(.notATime) }
                nanoseconds = fraction
            }
        }
        _ = cursor.takeSpaces()
        var offsetSeconds: Int? = nil
        if !cursor.atEnd {
            guard let offset = cursor.offset() else { return .failure(.notATime) }
            offsetSeconds = offset
        }
        guard cursor.atEnd else { return .failure(.notATime) }
        return instant(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanoseconds: nanoseconds,
            offsetSeconds: offsetSeconds)
    }

    private func parsePattern(_ tokens: [Token], _ cursor: inout Cursor) -> Result<Int64, TimeProblem> {
        var year = 0
        var month = 0
        var day = 0
        var hour = 0
        var minute = 0
        var second = 0
        var nanoseconds = 0
        var isPM: Bool? = nil
        var twelveHour = false
        for token in tokens {
            let flexible: Bool
            let field: Token
            if case .flexibleNumber(let inner) = token {
                flexible = true
                field = inner
            } else {
                flexible = false
                field = token
            }
            func number(_ width: Int) -> Int? { flexible ? cursor.digits(1...2) : cursor.digits(width) }
            switch field {
            case .year:
                guard let value = cursor.digits(4) else { return .failure(.notMatching) }
                year = value
            case .month:
                guard let value = number(2) else { return .failure(.notMatching) }
                month = value
            case .monthShortName:
                guard let value = cursor.monthName() else { return .failure(.notMatching) }
                month = value
            case .day:
                guard let value = number(2) else { return .failure(.notMatching) }
                day = value
            case .hour24:
                guard let value = number(2) else { return .failure(.notMatching) }
                hour = value
            case .hour12:
                guard let value = number(2), (1...12).contains(value) else { return .failure(.notMatching) }
                hour = value
                twelveHour = true
            case .minute:
                guard let value = cursor.digits(2) else { return .failure(.notMatching) }
                minute = value
            case .second:
                guard let value = cursor.digits(2) else { return .failure(.notMatching) }
                second = value
            case .fraction:
                guard let value = cursor.fraction() else { return .failure(.notMatching) }
                nanoseconds = value
            case .amPm:
                guard let value = cursor.amPm() else { return .failure(.notMatching) }
                isPM = value
            case .literal(let byte): guard cursor.take(byte) else { return .failure(.notMatching) }
            case .flexibleNumber: preconditionFailure("patterns do not nest")
            }
        }
        guard cursor.atEnd else { return .failure(.notMatching) }
        if twelveHour, let isPM { hour = hour % 12 + (isPM ? 12 : 0) }
        return instant(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanoseconds: nanoseconds,
            offsetSeconds: nil)
    }

    private func instant(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanoseconds: Int, offsetSeconds: Int?
    ) -> Result<Int64, TimeProblem> {
        guard year >= 1970, (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return .failure(.outOfRange) }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let wall = Int64(days) * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
        let unix = offsetSeconds.map { wall - Int64($0) } ?? zone.unixSeconds(ofWallClock: wall)
        guard unix >= 0 else { return .failure(.outOfRange) }
        return .success(unix * 1_000_000_000 + Int64(nanoseconds))
    }
}

/// Why a field is not a time.
public enum TimeProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case notATime
    case notMatching
    case outOfRange
    case badPattern(String)

    public var description: String {
        switch self {
        case .empty: "the time is empty"
        case .notATime:
            "not a time the providers write (2023-01-23 02:04:05, 2023-01-23T02:04:05:736 GMT+0600, "
                + "2021-08-25 14:51:35.0, or ISO 8601)"
        case .notMatching: "the time does not match the mapping's time format"
        case .outOfRange: "no such date or time (month, day, hour, minute or second out of range, or before 1970)"
        case .badPattern(let reason): reason
        }
    }
}

/// Reading position in a field.
private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    var atEnd: Bool { index == end }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < end, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func takeSpaces() -> Bool {
        let start = index
        while index < end && bytes[index] == 0x20 { index += 1 }
        return index > start
    }

    /// Exactly `count` digits.
    mutating func digits(_ count: Int) -> Int? {
        guard end - index >= count else { return nil }
        var value = 0
        for position in index..<(index + count) {
            let digit = bytes[position] &- 48
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        index += count
        return value
    }

    mutating func digits(_ counts: ClosedRange<Int>) -> Int? {
        var value = 0
        var taken = 0
        while taken < counts.upperBound && index < end && bytes[index] >= 48 && bytes[index] <= 57 {
            value = value * 10 + Int(bytes[index] - 48)
            index += 1
            taken += 1
        }
        return taken >= counts.lowerBound ? value : nil
    }

    /// 1 to 9 digits after the second, as nanoseconds.
    mutating func fraction() -> Int? {
        var value = 0
        var taken = 0
        while index < end && bytes[index] >= 48 && bytes[index] <= 57 {
            guard taken < 9 else { return nil }
            value = value * 10 + Int(bytes[index] - 48)
            index += 1
            taken += 1
        }
        guard taken > 0 else { return nil }
        for _ in taken..<9 { value *= 10 }
        return value
    }

    /// `Z`, `GMT`, `UTC`, optionally followed by `+0600`, `+06:00` or `+06`, or the offset alone.
    mutating func offset() -> Int? {
        if take(UInt8(ascii: "Z")) { return 0 }
        var named = false
        for name in ["GMT", "UTC"] where matches(name) {
            index += 3
            named = true
            break
        }
        guard index < end else { return named ? 0 : nil }
        let sign: Int
        if take(UInt8(ascii: "+")) {
            sign = 1
        } else if take(UInt8(ascii: "-")) {
            sign = -1
        } else {
            return nil
        }
        guard let hours = digits(2), hours <= 14 else { return nil }
        var minutes = 0
        if index < end {
            _ = take(UInt8(ascii: ":"))
            guard let value = digits(2), value < 60 else { return nil }
            minutes = value
        }
        return sign * (hours * 3_600 + minutes * 60)
    }

    private func matches(_ word: String) -> Bool {
        let utf8 = Array(word.utf8)
        guard end - index >= utf8.count else { return false }
        return utf8.indices.allSatisfy { bytes[index + $0] == utf8[$0] }
    }

    mutating func monthName() -> Int? {
        guard end - index >= 3 else { return nil }
        let word = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<(index + 3)]), as: UTF8.self)
            .lowercased()
        let names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let position = names.firstIndex(of: word) else { return nil }
        index += 3
        return position + 1
    }

    mutating func amPm() -> Bool? {
        guard end - index >= 2 else { return nil }
        let first = bytes[index] | 0x20
        let second = bytes[index + 1] | 0x20
        guard second == UInt8(ascii: "m"), first == UInt8(ascii: "a") || first == UInt8(ascii: "p") else {
            return nil
        }
        index += 2
        return first == UInt8(ascii: "p")
    }
}
