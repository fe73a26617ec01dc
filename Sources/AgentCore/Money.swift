public import WalletCrypto
import Foundation
import X402Protocol

/// Money as the agent keeps it: USDC micro-units (6 decimals) in integers; dollars only at the edges.
public enum Money {
    public static func micro(usd: Double) -> Int64 { Int64((usd * 1_000_000).rounded()) }

    public static func usd(_ micro: Int64) -> Double { Double(micro) / 1_000_000 }

    /// `12.50` (or more decimals when asked), for messages and the audit log.
    public static func text(_ micro: Int64, decimals: Int = 2) -> String { String(format: "%.\(decimals)f", usd(micro)) }

    /// A JSON number with micro-dollar precision, or null.
    public static func json(_ micro: Int64?) -> JSONValue { micro.map { .number(text($0, decimals: 6)) } ?? .null }
}

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
}
