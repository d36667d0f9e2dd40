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

    /// The wall clock's time now, as text.
    public static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return text(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }
}
