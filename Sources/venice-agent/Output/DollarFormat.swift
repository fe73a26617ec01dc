import Foundation

/// USD amounts as people read them: two decimals, more only when a charge is smaller than a cent.
enum DollarFormat {
    static func usd(_ value: Double) -> String {
        let sign = value < 0 ? "-" : ""
        let magnitude = abs(value)
        var text = String(format: "%.6f", magnitude)
        while text.hasSuffix("0"), let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) > 3 {
            text.removeLast()
        }
        return "\(sign)$\(text)"
    }
}
