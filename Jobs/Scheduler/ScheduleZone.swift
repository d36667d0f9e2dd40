import Foundation

/// The time zone schedules are read in: a fixed offset (Asia/Dhaka is UTC+06:00 all year) or a
/// zone of the system's time zone database, whose offset can change with daylight saving.
public struct ScheduleZone: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        case fixed(seconds: Int)
        case named(TimeZone)
    }

    let kind: Kind
    public let name: String

    /// Khata's default: Asia/Dhaka, UTC+06:00, no daylight saving.
    public static let dhaka = ScheduleZone(name: "Asia/Dhaka", kind: .fixed(seconds: 6 * 3_600))
    public static let utc = ScheduleZone(name: "UTC", kind: .fixed(seconds: 0))

    init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// `Asia/Dhaka`, `UTC`, an offset such as `+06:00` or `-03:30`, or any name in the system's
    /// time zone database; nil for anything else.
    public init?(_ text: String) {
        if text == "Asia/Dhaka" || text == "Asia/Dacca" {
            self = .dhaka
            return
        }
        if text == "UTC" || text == "Z" {
            self = .utc
            return
        }
        let utf8 = Array(text.utf8)
        if utf8.count == 6, utf8[0] == UInt8(ascii: "+") || utf8[0] == UInt8(ascii: "-"), utf8[3] == UInt8(ascii: ":"),
            let hours = Int(text.dropFirst(1).prefix(2)), let minutes = Int(text.suffix(2)), hours <= 14, minutes < 60
        {
            let seconds = (hours * 3_600 + minutes * 60) * (utf8[0] == UInt8(ascii: "-") ? -1 : 1)
            self.init(name: text, kind: .fixed(seconds: seconds))
            return
        }
        guard let zone = TimeZone(identifier: text) else { return nil }
        self.init(name: text, kind: .named(zone))
    }

    public var description: String { name }

    /// The zone's offset from UTC at an instant.
    public func offsetSeconds(atUnix seconds: Int64) -> Int {
        switch kind {
        case .fixed(let offset): offset
        case .named(let zone): zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        }
    }

    /// The instant a wall-clock time (seconds since 1970-01-01 00:00 on the zone's clock) names.
    /// A time skipped by a clock change moves forward by the change; a repeated one is its first.
    public func unixSeconds(ofWallClock wall: Int64) -> Int64 {
        let guess = wall - Int64(offsetSeconds(atUnix: wall))
        let corrected = wall - Int64(offsetSeconds(atUnix: guess))
        let earlier = wall - Int64(offsetSeconds(atUnix: guess - 7_200))
        // Prefer the earlier reading of a repeated hour when it is consistent.
        if earlier < corrected, earlier + Int64(offsetSeconds(atUnix: earlier)) == wall { return earlier }
        return corrected
    }
}
