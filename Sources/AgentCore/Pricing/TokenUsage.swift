import WalletCrypto
import X402Protocol

/// The tokens a text answer says it used, from its `usage` object: `/chat/completions`'
/// `prompt_tokens`, `completion_tokens` and `prompt_tokens_details.{cached_tokens,
/// cache_creation_input_tokens}` (openapi.yaml ChatCompletionResponse `usage`), or
/// `/responses`' `input_tokens`, `output_tokens` and `input_tokens_details.cached_tokens`
/// (openapi.yaml ResponsesResponse `usage`). Cached and cache-written tokens are part of the
/// prompt. Upstream data: any count missing, not an integer, negative or above `maxTokens`,
/// or details larger than the prompt, make the whole object unusable (nil).
struct TokenUsage: Equatable, Sendable {
    /// No real answer uses a billion tokens; a count above it is hostile or broken.
    static let maxTokens = 1_000_000_000

    let input: Int
    /// Prompt tokens read from the cache (the `cache_input` rate).
    let cachedInput: Int
    /// Prompt tokens written to the cache (the `cache_write` rate, when listed).
    let cacheWrite: Int
    let output: Int

    init?(usage: JSONValue) {
        guard usage.objectValue != nil else { return nil }
        if usage["prompt_tokens"] != nil || usage["completion_tokens"] != nil {
            guard let input = Self.count(usage["prompt_tokens"]), let output = Self.count(usage["completion_tokens"]) else { return nil }
            let details = usage["prompt_tokens_details"]
            guard let cached = Self.optionalCount(details?["cached_tokens"]),
                  let written = Self.optionalCount(details?["cache_creation_input_tokens"]) else { return nil }
            self.init(input: input, cachedInput: cached, cacheWrite: written, output: output)
        } else {
            guard let input = Self.count(usage["input_tokens"]), let output = Self.count(usage["output_tokens"]) else { return nil }
            guard let cached = Self.optionalCount(usage["input_tokens_details"]?["cached_tokens"]) else { return nil }
            self.init(input: input, cachedInput: cached, cacheWrite: 0, output: output)
        }
    }

    /// Nil when the details are more than the prompt (counts already checked to be in range).
    init?(input: Int, cachedInput: Int, cacheWrite: Int, output: Int) {
        guard cachedInput + cacheWrite <= input else { return nil }
        self.input = input
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.output = output
    }

    private static func count(_ value: JSONValue?) -> Int? {
        guard let tokens = value?.intValue, (0...maxTokens).contains(tokens) else { return nil }
        return tokens
    }

    /// An absent or null detail is 0; a present one must be a valid count (nil otherwise).
    private static func optionalCount(_ value: JSONValue?) -> Int? {
        guard let value, !value.isNull else { return 0 }
        return count(value)
    }

    /// What these tokens cost at a model's `pricing` (USD per 1M tokens: `input`, `output`,
    /// `cache_input` and `cache_write` when listed, else the input rate; past
    /// `extended.context_token_threshold` input tokens the `extended` rates, which "apply to the
    /// entire request" — openapi.yaml LLM Model Pricing). Rounded to the nearest micro-dollar,
    /// as Venice's charges are; nil when a listed rate is out of range.
    func micro(pricing: JSONValue) -> Int64? {
        var table = pricing
        if let extended = pricing["extended"] {
            guard let threshold = extended["context_token_threshold"]?.doubleValue, threshold.isFinite else { return nil }
            if Double(input) > threshold { table = extended }
        }
        guard let inputRate = TokenRates.rate(table["input"] ?? pricing["input"]),
              let outputRate = TokenRates.rate(table["output"] ?? pricing["output"]) else { return nil }
        var cachedRate = inputRate
        var writeRate = inputRate
        if let listed = table["cache_input"] {
            guard let rate = TokenRates.rate(listed) else { return nil }
            cachedRate = rate
        }
        if let listed = table["cache_write"] {
            guard let rate = TokenRates.rate(listed) else { return nil }
            writeRate = rate
        }
        let plain = input - cachedInput - cacheWrite
        // Each product is at most 1e9 tokens × a finite rate; `Money.micro` refuses what is out of range.
        let usdMicro = Double(plain) * inputRate + Double(cachedInput) * cachedRate + Double(cacheWrite) * writeRate
            + Double(output) * outputRate
        return Money.micro(usd: usdMicro / 1_000_000)
    }
}
