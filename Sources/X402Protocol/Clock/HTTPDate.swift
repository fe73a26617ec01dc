/// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix milliseconds.
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]

    /// Unix seconds (0 or later) as IMF-fixdate, for a `Date` header.
    public static func format(secondsSince1970 seconds: Int64) -> String {
        let seconds = max(0, seconds)
        let days = seconds / 86_400
        let (year, month, day) = CivilTime.civilFromDays(days)
        let rest = Int(seconds % 86_400)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekdays[Int(days % 7)]), \(two(day)) \(months[month - 1]) \(year) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) GMT"
    }

    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 6, parts[5] == "GMT", parts[0].hasSuffix(","),
              let day = Int(parts[1]), (1...31).contains(day),
              let monthIndex = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]), (1970...9999).contains(year) else { return nil }
        let time = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, time.allSatisfy({ $0.count == 2 }),
              let h = Int(time[0]), let m = Int(time[1]), let s = Int(time[2]),
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(s) else { return nil }
        let days = CivilTime.daysFromCivil(year: year, month: monthIndex + 1, day: day)
        return (days * 86_400 + Int64(h * 3600 + m * 60 + s)) * 1000
    }
}
