import WalletCrypto
import X402Protocol

/// Settles a text request's hold as soon as its answer says what it used: the `usage` of a
/// buffered `/chat/completions` or `/responses` answer, or of a stream's last chunk
/// (`SSEUsageScanner`), priced at the model's `/models` rates (`TokenUsage`), replaces the
/// estimate (an upper bound, often far above the real cost) against the client's budget and in
/// the ledger row. Venice's charge, reconciled later, then moves the spending from the settled
/// amount. Usage that cannot be read or priced leaves the estimate held. A usage cost above the
/// estimate is recorded all the same (the request was admitted; the money is spent) and audited.
struct UsageSettler: Sendable {
    let prices: PriceBook
    let ledger: AgentLedger

    /// The routes whose answers carry a token `usage`.
    static let routes: Set<String> = ["/chat/completions", "/responses"]

    /// The usage object of a buffered JSON answer (`usage` at the top), nil when there is none.
    static func usage(inBody bytes: some Collection<UInt8>) -> JSONValue? {
        guard let body = try? JSONValue(parsing: bytes), let usage = body["usage"], usage.objectValue != nil else { return nil }
        return usage
    }

    /// Replaces `hold`'s amount by `usage`'s cost; returns the settled amount, nil when the
    /// estimate stays (usage unreadable, model unpriced, row already finished).
    @discardableResult
    func settle(_ hold: LedgerHold, usage: JSONValue) async -> Int64? {
        guard let tokens = TokenUsage(usage: usage), let model = hold.model,
              let pricing = await prices.pricing(type: "text", model: model),
              let micro = tokens.micro(pricing: pricing) else { return nil }
        guard let previous = hold.settle(micro: micro) else { return nil }
        if previous > 0, micro > previous {
            await ledger.audit(.usageOverEstimate, "\(hold.client) request \(hold.id) model \(model.prefix(128)): usage \(tokens.input) in, "
                               + "\(tokens.output) out costs \(Money.text(micro, decimals: 6)) > estimate \(Money.text(previous, decimals: 6))")
        }
        return micro
    }
}
