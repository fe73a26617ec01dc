import Logging
import WalletCrypto
import X402Protocol

/// Token-priced routes: `/chat/completions`, `/responses` and `/embeddings`, from `/models?type=
/// text` and `?type=embedding` (`pricing.input.usd`, `pricing.output.usd` per 1M tokens).
extension PriceBook {
    /// Input tokens as `PromptBound` bounds them (never more than the context); output tokens
    /// as asked (`limits`, the largest given, each choice of `n`), else what the context leaves
    /// after the input (all of it when output is the cheaper rate, so the bound holds however
    /// the input was counted). A client field out of range is a 400 naming it.
    func textPrice(_ body: JSONValue, model: String?, conversation: String, limits: [String]) async throws(AgentError) -> PriceEstimate {
        var asked: Int?
        for field in limits {
            // max_tokens of 0 or less means "the model's default" (openapi.yaml): no limit.
            if field == "max_tokens", let value = body[field]?.intValue, value <= 0 { continue }
            if let tokens = try Self.integer(body[field], field: field, in: Self.tokenLimit) { asked = max(asked ?? 0, tokens) }
        }
        let choices = conversation == "messages" ? try Self.integer(body["n"], field: "n", in: Self.choices) ?? 1 : 1
        guard let model else { return .unbounded(reason: "the body names no model") }
        guard let spec = await spec(type: "text", model: model), let pricing = spec["pricing"] else { return Self.noPrice(model) }
        var context: Int?
        if let listed = spec["availableContextTokens"] {
            guard let tokens = listed.intValue, Self.tokenLimit.contains(tokens) else { return outOfRange(model) }
            context = tokens
        }
        let input: Int
        switch PromptBound.inputTokens(body, messages: conversation) {
        case .unknown(let reason): return .unbounded(reason: reason)
        case .tokens(let tokens): input = min(tokens, context ?? tokens)
        }
        let perChoice: Int
        if let asked {
            perChoice = min(asked, context ?? asked)
        } else {
            guard let context else { return .unbounded(reason: "\(model.prefix(128)) lists no context length and the body no output limit") }
            perChoice = context
        }
        guard var rates = TokenRates(pricing, totalTokens: input + perChoice) else { return outOfRange(model) }
        var output = perChoice
        if asked == nil, let context, rates.output >= rates.input {
            output = max(0, context - input)
            rates = TokenRates(pricing, totalTokens: input + output) ?? rates
        }
        guard let micro = rates.micro(input: input, output: output * choices) else { return outOfRange(model) }
        return .bounded(micro: micro)
    }

    /// `input` (a string or an array of strings, openapi.yaml CreateEmbeddingRequestSchema):
    /// its UTF-8 bytes plus `perInput` each bound the tokens, billed at the input rate plus the
    /// output rate when one is listed.
    func embeddingPrice(_ body: JSONValue, model: String?) async -> PriceEstimate {
        let perInput = 4
        let texts: [String]
        switch body["input"] {
        case .string(let text)?: texts = [text]
        case .array(let items)?:
            let strings = items.compactMap(\.stringValue)
            guard strings.count == items.count else { return .unbounded(reason: "embedding input other than strings (token arrays) is not priced") }
            texts = strings
        default: return .unbounded(reason: "the body has no text \"input\"")
        }
        guard let model else { return .unbounded(reason: "the body names no model") }
        guard let pricing = await pricing(type: "embedding", model: model) else { return Self.noPrice(model) }
        let tokens = texts.reduce(0) { $0 + $1.utf8.count + perInput }
        guard let rates = TokenRates(pricing, totalTokens: tokens, outputRequired: false),
              let micro = rates.micro(input: tokens, output: tokens) else { return outOfRange(model) }
        return .bounded(micro: micro)
    }

    func outOfRange(_ model: String) -> PriceEstimate {
        logger.warning("skipped an upstream price that is out of range", metadata: ["model": "\(model.prefix(128))"])
        return .unbounded(reason: "Venice's price for \(model.prefix(128)) is out of range")
    }
}
