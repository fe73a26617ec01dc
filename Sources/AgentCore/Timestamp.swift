import Foundation
import X402Protocol

/// Timestamps on the wire: RFC 3339 (Venice, SIWE) or a bare `YYYY-MM-DD` (API key expiry).
enum Timestamp {
    static func milliseconds(_ text: String?) -> Int64? {
        guard let text else { return nil }
        if text.count == 10, let day = try? SiweTimestamp(parsing: text + "T00:00:00Z") { return day.milliseconds }
        return (try? SiweTimestamp(parsing: text))?.milliseconds
    }

    /// `2026-11-25T10:00:00.000Z`
    static func iso(_ milliseconds: Int64) -> String { SiweTimestamp(milliseconds: milliseconds).text }

    static func utcMidnight(_ milliseconds: Int64) -> Int64 { milliseconds - milliseconds % 86_400_000 }

    /// 00:00 UTC on the first day of the month holding `milliseconds` (times before 1970 count
    /// from 1970-01-01).
    static func utcMonthStart(_ milliseconds: Int64) -> Int64 {
        let days = max(0, milliseconds) / 86_400_000
        let day = CivilTime.civilFromDays(days).day
        return (days - Int64(day - 1)) * 86_400_000
    }
}
