import Foundation
import NIOCore
import NIOHTTP1
import VeniceClient
import WalletCrypto

/// Price estimates before a request is signed, from Venice's own `/models` pricing (cached
/// 10 minutes) and `/audio/quote`. Amounts are USDC micro-units. Unknown prices estimate 0;
/// the actual charge is reconciled afterwards from the wallet's transactions.
public actor PriceBook {
    let upstream: AgentUpstream
    let ttl: Duration
    private var catalogs: [String: (fetched: ContinuousClock.Instant, models: [String: JSONValue])] = [:]

    init(upstream: AgentUpstream, ttl: Duration = .seconds(600)) {
        self.upstream = upstream
        self.ttl = ttl
    }

    /// Estimated cost of `route` with the (JSON) `body`, and the model it names.
    func estimate(route: VeniceRoute, body: JSONValue?) async -> (micro: Int64, model: String?) {
        let model = body?["model"]?.stringValue
        switch route.template {
        case "/image/generate":
            guard let model, let pricing = await pricing(type: "image", model: model) else { return (0, model) }
            let variants = Int64(body?["variants"]?.intValue ?? 1)
            var usd = Self.imagePrice(pricing, resolution: body?["resolution"]?.stringValue, quality: body?["quality"]?.stringValue) * Double(variants)
            if body?["enhance_prompt"]?.boolValue == true { usd += 0.04 }
            return (Self.micro(usd), model)
        case "/images/generations":
            var pricing = await pricing(type: "image", model: model ?? "")
            if pricing == nil { pricing = await self.pricing(type: "image", model: "z-image-turbo") }
            guard let pricing else { return (0, model) }
            return (Self.micro(Self.imagePrice(pricing, resolution: nil, quality: nil)), model)
        case "/audio/speech":
            guard let model, let pricing = await pricing(type: "tts", model: model),
                  let perMillion = pricing["input"]?["usd"]?.doubleValue else { return (0, model) }
            let characters = body?["input"]?.stringValue?.count ?? 0
            return (Self.micro(perMillion * Double(characters) / 1_000_000), model)
        case "/audio/queue":
            guard let model else { return (0, nil) }
            var quote = JSONObject([("model", .string(model))])
            if let duration = body?["duration_seconds"] { quote["duration_seconds"] = duration }
            if let pricing = await pricing(type: "music", model: model), pricing["per_thousand_characters"] != nil {
                let characters = (body?["prompt"]?.stringValue?.count ?? 0) + (body?["lyrics_prompt"]?.stringValue?.count ?? 0)
                quote["character_count"] = .number(String(characters))
            }
            return (await self.quote(.object(quote)), model)
        default:
            return (0, model)
        }
    }

    static func imagePrice(_ pricing: JSONValue, resolution: String?, quality: String?) -> Double {
        let res = resolution ?? "1K"
        if let table = pricing["quality"]?[res] {
            let q = quality ?? "high"
            if let usd = table[q]?["usd"]?.doubleValue ?? table["medium"]?["usd"]?.doubleValue { return usd }
        }
        if let usd = pricing["resolutions"]?[res]?["usd"]?.doubleValue { return usd }
        return pricing["generation"]?["usd"]?.doubleValue ?? 0
    }

    static func micro(_ usd: Double) -> Int64 { Int64((usd * 1_000_000).rounded(.up)) }

    func pricing(type: String, model: String) async -> JSONValue? {
        if let cached = catalogs[type], ContinuousClock.now - cached.fetched < ttl {
            return cached.models[model]?["model_spec"]?["pricing"]
        }
        guard let body = await fetch(method: "GET", path: "/models", query: "type=\(type)", json: nil),
              let list = body["data"]?.arrayValue else { return nil }
        var models: [String: JSONValue] = [:]
        for item in list { if let id = item["id"]?.stringValue { models[id] = item } }
        catalogs[type] = (.now, models)
        return models[model]?["model_spec"]?["pricing"]
    }

    func quote(_ request: JSONValue) async -> Int64 {
        guard let answer = await fetch(method: "POST", path: "/audio/quote", query: nil, json: request),
              let usd = answer["quote"]?.doubleValue else { return 0 }
        return Self.micro(usd)
    }

    private func fetch(method: String, path: String, query: String?, json: JSONValue?) async -> JSONValue? {
        var headers = HTTPHeaders()
        var body: UpstreamRequest.Body = .none
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            body = .buffered(ByteBuffer(string: json.serialized()))
        }
        let route = VeniceRoute(method: method, path: path, auth: .none, group: .models)
        guard let answer = try? await upstream.fetch(UpstreamRequest(route: route, query: query, headers: headers, body: body)),
              answer.status == 200 else { return nil }
        return try? JSONValue(parsing: answer.body)
    }
}
