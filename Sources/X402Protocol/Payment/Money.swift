public import WalletCrypto

/// USD amounts as USDC atomic units (micro-dollars, 6 decimals) in `Int64`: the one place
/// where a dollar figure from outside (a client body, a config file, an upstream quote or
/// ledger row) becomes money. Every conversion is checked: a number that is not finite or
/// lies beyond ±`maxMicro` is refused (nil), never trapped on.
public enum Money {
    /// A billion dollars: far beyond any real amount, and far inside `Int64`.
    public static let maxMicro: Int64 = 1_000_000_000_000_000

    /// `usd` in micro-units, rounded as asked; nil when not finite or out of range.
    public static func micro(usd: Double, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int64? {
        guard usd.isFinite else { return nil }
        let scaled = (usd * 1_000_000).rounded(rounding)
        guard scaled.magnitude <= Double(maxMicro) else { return nil }
        return Int64(exactly: scaled)
    }

    /// A price per unit times a count of units, rounded up to the next micro-unit (an
    /// estimate never undercounts); nil when the product leaves the range.
    public static func micro(usdPerUnit: Double, units: Double) -> Int64? {
        guard units.isFinite, usdPerUnit.isFinite else { return nil }
        return micro(usd: usdPerUnit * units, rounding: .up)
    }

    /// A price in USD per million units (Venice's token rates) times a count of units: the
    /// product is already micro-dollars, so no division blurs it. Rounded up; nil out of range.
    public static func micro(usdPerMillion: Double, units: Double) -> Int64? {
        guard units.isFinite, usdPerMillion.isFinite else { return nil }
        let scaled = (usdPerMillion * units).rounded(.up)
        guard scaled.magnitude <= Double(maxMicro) else { return nil }
        return Int64(exactly: scaled)
    }

    /// `a + b`, nil past `maxMicro`.
    public static func sum(_ a: Int64, _ b: Int64) -> Int64? {
        let (total, overflow) = a.addingReportingOverflow(b)
        guard !overflow, total.magnitude <= maxMicro.magnitude else { return nil }
        return total
    }

    /// `micro × count`, nil past `maxMicro`.
    public static func product(_ micro: Int64, _ count: Int64) -> Int64? {
        let (total, overflow) = micro.multipliedReportingOverflow(by: count)
        guard !overflow, total.magnitude <= maxMicro.magnitude else { return nil }
        return total
    }

    public static func usd(_ micro: Int64) -> Double { Double(micro) / 1_000_000 }

    /// `12.50` (half-up to `decimals`, at most 6), exact: formatted from the integer, never a Double.
    public static func text(_ micro: Int64, decimals: Int = 2) -> String {
        let places = max(0, min(6, decimals))
        var divisor: UInt64 = 1
        for _ in 0..<(6 - places) { divisor *= 10 }
        let rounded = (micro.magnitude + divisor / 2) / divisor
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let whole = rounded / scale
        var text = (micro < 0 && rounded > 0 ? "-" : "") + String(whole)
        if places > 0 {
            let fraction = String(rounded % scale)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return text
    }

    /// A JSON number with micro-dollar precision, or null.
    public static func json(_ micro: Int64?) -> JSONValue { micro.map { .number(text($0, decimals: 6)) } ?? .null }
}
