import WalletCrypto
import X402Protocol

/// A text or embedding model's token prices (USD per 1M tokens) from `model_spec.pricing`,
/// as upper bounds: input is the dearer of `input` and `cache_write` (a cache write is billed
/// instead of input, at up to 1.25× on the Claude models), `cache_input` (cheaper) is ignored,
/// and past `extended.context_token_threshold` the `extended` rates apply when dearer.
/// Nil when a listed figure is missing, not finite or negative (an upstream figure out of range).
struct TokenRates: Equatable {
    let input: Double
    let output: Double

    init?(_ pricing: JSONValue, totalTokens: Int, outputRequired: Bool = true) {
        guard var input = Self.rate(pricing["input"]) else { return nil }
        var output = 0.0
        if let listed = pricing["output"] {
            guard let rate = Self.rate(listed) else { return nil }
            output = rate
        } else if outputRequired {
            return nil
        }
        if let write = pricing["cache_write"] {
            guard let rate = Self.rate(write) else { return nil }
            input = max(input, rate)
        }
        if let extended = pricing["extended"] {
            guard let threshold = extended["context_token_threshold"]?.doubleValue, threshold.isFinite else { return nil }
            if Double(totalTokens) > threshold {
                for key in ["input", "cache_write"] {
                    guard let listed = extended[key] else { continue }
                    guard let rate = Self.rate(listed) else { return nil }
                    input = max(input, rate)
                }
                if let listed = extended["output"] {
                    guard let rate = Self.rate(listed) else { return nil }
                    output = max(output, rate)
                }
            }
        }
        self.input = input
        self.output = output
    }

    static func rate(_ listed: JSONValue?) -> Double? {
        guard let usd = listed?["usd"]?.doubleValue, usd.isFinite, usd >= 0 else { return nil }
        return usd
    }

    /// The price in micro-USD of `input` and `output` tokens, rounded up; nil out of range.
    func micro(input inputTokens: Int, output outputTokens: Int) -> Int64? {
        guard let a = Money.micro(usdPerMillion: input, units: Double(inputTokens)),
              let b = Money.micro(usdPerMillion: output, units: Double(outputTokens)) else { return nil }
        return Money.sum(a, b)
    }
}
