import X402Protocol

/// UTC rendering and parsing for the simulator (ISO 8601, IMF-fixdate); the calendar
/// arithmetic is X402Protocol's `CivilTime`.
enum TimeFormat {
    struct Civil { let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int, weekday: Int }

    static func civil(_ milliseconds: Int64) -> Civil {
        let ms = Int(((milliseconds % 1000) + 1000) % 1000)
        let totalSeconds = (milliseconds - Int64(ms)) / 1000
        let days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secondsOfDay = Int(totalSeconds - days * 86_400)
        let date = CivilTime.civilFromDays(days)
        let weekday = Int(((days % 7) + 11) % 7)   // 0 = Sunday (1970-01-01 was a Thursday)
        return Civil(year: date.year, month: date.month, day: date.day, hour: secondsOfDay / 3600, minute: secondsOfDay / 60 % 60,
                     second: secondsOfDay % 60, millisecond: ms, weekday: weekday)
    }

    /// Days since 1970-01-01 for a civil date.
    static func days(year: Int, month: Int, day: Int) -> Int64 { CivilTime.daysFromCivil(year: year, month: month, day: day) }

    static func startOfMonthMilliseconds(_ milliseconds: Int64) -> Int64 {
        let c = civil(milliseconds)
        return days(year: c.year, month: c.month, day: 1) * 86_400_000
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// `2026-04-03T12:34:56.000Z`
    static func iso(_ milliseconds: Int64) -> String {
        let c = civil(milliseconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    /// `2026-04-03`
    static func date(_ milliseconds: Int64) -> String {
        let c = civil(milliseconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    /// `20260403T123456000Z` (CSV file names)
    static func compact(_ milliseconds: Int64) -> String {
        let c = civil(milliseconds)
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))\(pad(c.millisecond, 3))Z"
    }

    /// IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
    static func httpDate(_ milliseconds: Int64) -> String { HTTPDate.format(secondsSince1970: milliseconds / 1000) }

    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.sss]Z` (UTC only). Nil when malformed.
    static func parseISO(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard chars.count >= 10, let y = number(0, 4), chars[4] == 45, let m = number(5, 2), chars[7] == 45, let d = number(8, 2),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        var ms = days(year: y, month: m, day: d) * 86_400_000
        if chars.count == 10 { return ms }
        guard chars.count >= 20, chars[10] == 84, let hh = number(11, 2), chars[13] == 58, let mm = number(14, 2), chars[16] == 58,
              let ss = number(17, 2), hh < 24, mm < 60, ss < 61, chars.last == 90 else { return nil }
        ms += Int64(hh * 3600 + mm * 60 + ss) * 1000
        if chars.count == 20 { return ms }
        guard chars[19] == 46, chars.count >= 22 else { return nil }
        let fraction = chars[20..<(chars.count - 1)]
        guard fraction.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let digits = Array(fraction.prefix(3)) + Array(repeating: UInt8(48), count: max(0, 3 - fraction.count))
        ms += Int64(digits.reduce(0) { $0 * 10 + Int($1 - 48) })
        return ms
    }
}
