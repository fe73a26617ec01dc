/// UTC calendar arithmetic (Howard Hinnant's civil-from-days), ISO 8601 and IMF-fixdate rendering.
enum TimeFormat {
    struct Civil { let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int, weekday: Int }

    static func civil(_ milliseconds: Int64) -> Civil {
        let ms = Int(((milliseconds % 1000) + 1000) % 1000)
        let totalSeconds = Int((milliseconds - Int64(ms)) / 1000)
        let days = Int((Double(totalSeconds) / 86_400).rounded(.down))
        let secondsOfDay = totalSeconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7   // 0 = Sunday (1970-01-01 was a Thursday)
        return Civil(year: year, month: month, day: day, hour: secondsOfDay / 3600, minute: secondsOfDay / 60 % 60,
                     second: secondsOfDay % 60, millisecond: ms, weekday: weekday)
    }

    /// Days since 1970-01-01 for a civil date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func startOfMonthMilliseconds(_ milliseconds: Int64) -> Int64 {
        let c = civil(milliseconds)
        return Int64(days(year: c.year, month: c.month, day: 1)) * 86_400_000
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
    static func httpDate(_ milliseconds: Int64) -> String {
        let c = civil(milliseconds)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[c.weekday]), \(pad(c.day, 2)) \(months[c.month - 1]) \(pad(c.year, 4)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) GMT"
    }

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
        var ms = Int64(days(year: y, month: m, day: d)) * 86_400_000
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
