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

    /// 00:00 UTC on the first day of the month holding `milliseconds` (civil-from-days, proleptic
    /// Gregorian; times before 1970 count from 1970-01-01).
    static func utcMonthStart(_ milliseconds: Int64) -> Int64 {
        let days = max(0, milliseconds) / 86_400_000
        // Howard Hinnant's civil_from_days / days_from_civil, for days since 1970-01-01.
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        return (days - (dayOfMonth - 1)) * 86_400_000
    }
}
