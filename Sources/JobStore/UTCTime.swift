#if canImport(Glibc)
    import Glibc
#endif

/// Times as the job state stores them: UTC, ISO 8601 with milliseconds (`2026-11-29T09:30:00.000Z`),
/// which sorts as text in the order of time.
public enum UTCTime {
    /// The text for `nanoseconds` since the Unix epoch.
    public static func text(nanoseconds: UInt64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        let milliseconds = Int(nanoseconds / 1_000_000 % 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(milliseconds), 3))Z"
    }

    /// The text for `seconds` since the Unix epoch (a schedule's slot).
    public static func text(unixSeconds seconds: Int64) -> String {
        text(nanoseconds: UInt64(max(0, seconds)) * 1_000_000_000)
    }

    /// Nanoseconds since the Unix epoch of a time written as `text(nanoseconds:)` writes it
    /// (`2026-11-29T09:30:00.000Z`; the fraction may have 0 to 9 digits), or nil.
    public static func nanoseconds(_ text: String) -> UInt64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int32? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int32 = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int32(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58,
            bytes.last == 90, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: UInt64 = 0
        if bytes.count > 20 {
            let digits = bytes[20..<(bytes.count - 1)]
            guard bytes[19] == 46, (1...9).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 })
            else { return nil }
            for byte in digits { fraction = fraction * 10 + UInt64(byte - 48) }
            for _ in digits.count..<9 { fraction *= 10 }
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        guard seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }

    /// The wall clock's time now, as text.
    public static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return text(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }
}
