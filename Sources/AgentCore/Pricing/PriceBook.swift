import Foundation
import Logging
public import ServiceLifecycle
import VeniceClient
import WalletCrypto
import X402Protocol

/// What a request will cost, as far as the agent can tell before anything is signed.
public enum PriceEstimate: Sendable, Equatable {
    /// Venice never charges for this route (balances, job status, downloads of finished jobs).
    case free
    /// At most about this much, in USDC micro-units (rounded up).
    case bounded(micro: Int64)
    /// The price cannot be bounded in advance; `reason` says why.
    case unbounded(reason: String)

    /// The amount held against a budget: 0 when free or unknown.
    public var heldMicro: Int64 {
        if case .bounded(let micro) = self { return micro }
        return 0
    }
}

/// Where prices come from: Venice's `/models` listings and `/audio/quote` (`VeniceAPI`), or a
/// stand-in in tests.
protocol PriceSource: Sendable {
    func models(type: String) async throws(VeniceClientError) -> [String: JSONValue]
    func audioQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double
}

extension VeniceAPI: PriceSource {}

/// Price estimates before a request is signed, from Venice's own `/models` pricing (cached
/// 10 minutes) and `/audio/quote`. Amounts are USDC micro-units. Every number that becomes
/// money goes through `Money`'s checked conversions: a client field out of range is a 400
/// naming it, an upstream price out of range is logged and leaves the price unbounded. The
/// actual charge is reconciled afterwards from the wallet's transactions.
public actor PriceBook: Service {
    /// Venice's documented range for `variants` on `/image/generate` (openapi.yaml: 1–4).
    static let variants: ClosedRange<Int> = 1...4

    let venice: any PriceSource
    /// How often catalogs in use are refreshed (at half of it), and how long one is trusted
    /// without a successful refresh.
    let ttl: Duration
    let maxAge: Duration
    let logger: Logger
    private var catalogs: [String: (fetched: ContinuousClock.Instant, models: [String: JSONValue])] = [:]

    init(venice: any PriceSource, ttl: Duration = .seconds(600), maxAge: Duration = .seconds(3600),
         logger: Logger = Logger(label: "venice-agent.prices")) {
        self.venice = venice
        self.ttl = ttl
        self.maxAge = maxAge
        self.logger = logger
    }

    /// The estimated cost of `route` with the (JSON) `body`, and the model it names.
    func estimate(route: VeniceRoute, body: JSONValue?) async throws(AgentError) -> (PriceEstimate, model: String?) {
        let model = body?["model"]?.stringValue
        guard route.isCharged else { return (.free, model) }
        guard let body, body.objectValue != nil else {
            return (.unbounded(reason: "the body of \(route.template) is not a JSON object the agent can read"), model)
        }
        switch route.template {
        case "/image/generate":
            guard let model else { return (.unbounded(reason: "the body names no model"), nil) }
            let count = try Self.integer(body["variants"], field: "variants", in: Self.variants) ?? 1
            guard let pricing = await pricing(type: "image", model: model) else { return (Self.noPrice(model), model) }
            var usd = Self.imagePrice(pricing, resolution: body["resolution"]?.stringValue, quality: body["quality"]?.stringValue)
            if body["enhance_prompt"]?.boolValue == true { usd += 0.04 }
            return (priced(usdPerUnit: usd, units: Double(count), model: model), model)
        case "/images/generations":
            var pricing = await pricing(type: "image", model: model ?? "")
            if pricing == nil { pricing = await self.pricing(type: "image", model: "z-image-turbo") }
            guard let pricing else { return (Self.noPrice(model ?? "z-image-turbo"), model) }
            return (priced(usdPerUnit: Self.imagePrice(pricing, resolution: nil, quality: nil), units: 1, model: model ?? "z-image-turbo"), model)
        case "/audio/speech":
            guard let model else { return (.unbounded(reason: "the body names no model"), nil) }
            guard let input = body["input"]?.stringValue else { return (.unbounded(reason: "the body has no text \"input\""), model) }
            guard let pricing = await pricing(type: "tts", model: model), let perMillion = pricing["input"]?["usd"]?.doubleValue else {
                return (Self.noPrice(model), model)
            }
            return (priced(usdPerUnit: perMillion / 1_000_000, units: Double(input.count), model: model), model)
        case "/audio/queue":
            guard let model else { return (.unbounded(reason: "the body names no model"), nil) }
            var quote = JSONObject([("model", .string(model))])
            if let duration = body["duration_seconds"] { quote["duration_seconds"] = duration }
            if let pricing = await pricing(type: "music", model: model), pricing["per_thousand_characters"] != nil {
                let characters = (body["prompt"]?.stringValue?.count ?? 0) + (body["lyrics_prompt"]?.stringValue?.count ?? 0)
                quote["character_count"] = .number(String(characters))
            }
            return (await self.quote(.object(quote), model: model), model)
        default:
            return (.unbounded(reason: "the agent cannot price \(route.template) in advance"), model)
        }
    }

    /// An optional integer field within `range`; anything else is the client's error, named.
    static func integer(_ value: JSONValue?, field: String, in range: ClosedRange<Int>) throws(AgentError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.intValue, range.contains(number) else {
            throw .badRequest("\(field) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    static func noPrice(_ model: String) -> PriceEstimate {
        .unbounded(reason: "Venice's /models lists no price for \(model.prefix(128))")
    }

    /// A price from upstream becomes money only when it is a sane, non-negative figure.
    func priced(usdPerUnit: Double, units: Double, model: String) -> PriceEstimate {
        guard usdPerUnit >= 0, let micro = Money.micro(usdPerUnit: usdPerUnit, units: units) else {
            logger.warning("skipped an upstream price that is out of range", metadata: ["model": "\(model.prefix(128))"])
            return .unbounded(reason: "Venice's price for \(model.prefix(128)) is out of range")
        }
        return .bounded(micro: micro)
    }

    static func imagePrice(_ pricing: JSONValue, resolution: String?, quality: String?) -> Double {
        let res = resolution ?? "1K"
        if let table = pricing["quality"]?[res] {
            let q = quality ?? "high"
            if let usd = table[q]?["usd"]?.doubleValue ?? table["medium"]?["usd"]?.doubleValue { return usd }
        }
        if let usd = pricing["resolutions"]?[res]?["usd"]?.doubleValue { return usd }
        return pricing["generation"]?["usd"]?.doubleValue ?? -1
    }

    /// A model's pricing. A catalog is fetched on first use and then kept fresh by `run()`, so a
    /// request never waits for `/models` once its type has been seen; a catalog that could not
    /// be refreshed for `maxAge` is no longer trusted (the price becomes unknown).
    func pricing(type: String, model: String) async -> JSONValue? {
        if let cached = catalogs[type], ContinuousClock.now - cached.fetched < maxAge {
            return cached.models[model]?["model_spec"]?["pricing"]
        }
        guard await refresh(type) else { return nil }
        return catalogs[type]?.models[model]?["model_spec"]?["pricing"]
    }

    /// Fetches one catalog; false when Venice did not answer.
    @discardableResult
    func refresh(_ type: String) async -> Bool {
        guard let models = try? await venice.models(type: type) else { return false }
        catalogs[type] = (.now, models)
        return true
    }

    /// Keeps the catalogs in use fresh (and fetches the common ones at start), so no client
    /// request pays for a `/models` round trip.
    public func run() async throws {
        for type in ["image", "tts", "music"] where catalogs[type] == nil { await refresh(type) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.ttl / 2) }
            for type in catalogs.keys.sorted() where ContinuousClock.now - (catalogs[type]?.fetched ?? .now) >= ttl / 2 {
                await refresh(type)
            }
        }
    }

    func quote(_ request: JSONValue, model: String) async -> PriceEstimate {
        guard let usd = try? await venice.audioQuote(request) else {
            return .unbounded(reason: "Venice gave no quote for \(model.prefix(128))")
        }
        return priced(usdPerUnit: usd, units: 1, model: model)
    }
}
