import AgentCore

/// USD amounts as people read them: two decimals, more only when a charge is smaller than a cent.
enum DollarFormat {
    static func usd(_ value: Double) -> String { AgentRefusal.usd(value) }
}
