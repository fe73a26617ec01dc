#if canImport(Glibc)
import Glibc
#endif
import X402Protocol

/// The last days' spending as horizontal bars, one line per day, each bar stacked by client
/// or model, fitted to the terminal's width. Plain ASCII (a letter-like mark per series) when
/// the output is not a terminal or `NO_COLOR` is set; colored blocks otherwise.
struct SpendChart {
    struct Day {
        let date: String
        /// Amount per series, USD.
        let parts: [(key: String, usd: Double)]
        var total: Double { parts.reduce(0) { $0 + $1.usd } }
    }

    let days: [Day]
    let width: Int
    let color: Bool
    /// Series beyond this many (by total) are drawn together as "other".
    static let maxSeries = 7
    static let asciiMarks: [Character] = ["#", "=", "+", "*", "o", "%", "x", "~"]
    static let colors = [32, 34, 33, 35, 36, 31, 92, 37]

    /// `count` consecutive UTC days ending with the day of `nowSeconds`, filled from `amounts`
    /// (day → series → USD); days without spending are empty bars.
    static func lastDays(_ count: Int, nowSeconds: Int64, amounts: [String: [(key: String, usd: Double)]]) -> [Day] {
        let today = max(0, nowSeconds) / 86_400
        return (0..<max(1, count)).reversed().map { back in
            let (year, month, day) = CivilTime.civilFromDays(today - Int64(back))
            let date = "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
            return Day(date: date, parts: amounts[date] ?? [])
        }
    }

    func render(title: String) -> String {
        // The series, dearest first; the rest folded into "other".
        var totals: [String: Double] = [:]
        for day in days { for part in day.parts { totals[part.key, default: 0] += max(0, part.usd) } }
        let ranked = totals.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let shown = Array(ranked.prefix(ranked.count > Self.maxSeries + 1 ? Self.maxSeries : Self.maxSeries + 1))
        let series = shown + (ranked.count > shown.count ? ["other"] : [])
        func index(of key: String) -> Int { shown.firstIndex(of: key) ?? shown.count }

        let amounts = days.map { day -> [Double] in
            var row = Array(repeating: 0.0, count: series.count)
            for part in day.parts where part.usd.isFinite && part.usd > 0 { row[index(of: part.key)] += part.usd }
            return row
        }
        let labels = amounts.map { "$" + Self.money($0.reduce(0, +)) }
        let labelWidth = labels.map(\.count).max() ?? 5
        let barWidth = max(10, width - 10 - 3 - 1 - labelWidth)
        let peak = amounts.map { $0.reduce(0, +) }.max() ?? 0
        let separator = color ? " │" : " |"

        var lines = [title]
        for (dayIndex, day) in days.enumerated() {
            var bar = ""
            var drawn = 0
            var cumulative = 0.0
            for (seriesIndex, amount) in amounts[dayIndex].enumerated() where amount > 0 {
                cumulative += amount
                let end = peak > 0 ? Int((cumulative / peak * Double(barWidth)).rounded()) : 0
                let length = max(0, min(barWidth, end) - drawn)
                drawn += length
                bar += segment(seriesIndex, length: length)
            }
            let padding = String(repeating: " ", count: barWidth - drawn)
            let label = String(repeating: " ", count: labelWidth - labels[dayIndex].count) + labels[dayIndex]
            lines.append(day.date + separator + bar + padding + " " + label)
        }
        let legend = series.enumerated().map { segment($0.offset, length: 1) + " " + $0.element }.joined(separator: "  ")
        lines.append(series.isEmpty ? "no spending recorded in these days" : legend)
        return lines.joined(separator: "\n")
    }

    private func segment(_ seriesIndex: Int, length: Int) -> String {
        guard length > 0 else { return "" }
        if color {
            return "\u{1B}[\(Self.colors[seriesIndex % Self.colors.count])m" + String(repeating: "█", count: length) + "\u{1B}[0m"
        }
        return String(repeating: Self.asciiMarks[seriesIndex % Self.asciiMarks.count], count: length)
    }

    /// Two decimals, or four under a cent.
    static func money(_ usd: Double) -> String {
        let decimals = usd > 0 && usd < 0.01 ? 4 : 2
        let scale = decimals == 4 ? 10_000.0 : 100.0
        guard usd.isFinite, usd >= 0, usd < 1e12 else { return "?" }
        let scaled = Int64((usd * scale).rounded())
        let whole = scaled / Int64(scale)
        let fraction = String(scaled % Int64(scale))
        return "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// The terminal's columns (`COLUMNS`, then the tty's size), 80 when unknown; 40 to 300.
    static func terminalWidth(environment: [String: String]) -> Int {
        if let columns = environment["COLUMNS"].flatMap({ Int($0) }), columns > 0 { return min(300, max(40, columns)) }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return min(300, max(40, Int(size.ws_col))) }
        return 80
    }
}
