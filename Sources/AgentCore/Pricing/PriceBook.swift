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

/// Where prices come from: Venice's `/models` listings, `/audio/quote` and `/video/quote`
/// (`VeniceAPI`), or a stand-in in tests.
protocol PriceSource: Sendable {
    func models(type: String) async throws(VeniceClientError) -> [String: JSONValue]
    func audioQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double
    func videoQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double
    func voiceChangerQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double
}

extension VeniceAPI: PriceSource {}

/// Price estimates before a request is signed, from Venice's own `/models` pricing (cached
/// 10 minutes), `/audio/quote` and `/video/quote`. Amounts are USDC micro-units, and upper
/// bounds: where Venice bills by what it produces (tokens, seconds of audio) the estimate
/// counts the most the request allows (see `PromptBound`, `TokenRates`, `AudioDuration`), and
/// what cannot be bounded stays `.unbounded`. Every number that becomes money goes through
/// `Money`'s checked conversions: a client field out of range is a 400 naming it, an upstream
/// price out of range is logged and leaves the price unbounded. The actual charge is
/// reconciled afterwards from the wallet's transactions. Request shapes follow Venice's OpenAPI
/// document (cited as openapi.yaml; swagger.yaml in github.com/veniceai/api-docs).
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

    /// The estimated cost of `route` with the (JSON) `body`, and the model it names. `form` is
    /// the body when it is a buffered multipart/form-data upload (its text fields stand in for
    /// JSON fields; transcriptions are priced from its `file`).
    func estimate(route: VeniceRoute, body: JSONValue?, form: MultipartForm? = nil) async throws(AgentError) -> (PriceEstimate, model: String?) {
        var body = body
        if let form {
            var fields = body?.objectValue ?? JSONObject([])
            for part in form.parts where !part.isFile && fields[part.name] == nil {
                if let text = form.text(part.name) { fields[part.name] = .string(text) }
            }
            body = .object(fields)
        }
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
        case "/chat/completions":
            return (try await textPrice(body, model: model, conversation: "messages", limits: ["max_completion_tokens", "max_tokens"]), model)
        case "/responses":
            return (try await textPrice(body, model: model, conversation: "input", limits: ["max_output_tokens"]), model)
        case "/embeddings":
            return (await embeddingPrice(body, model: model), model)
        case "/audio/transcriptions":
            let model = model ?? Self.defaultTranscriptionModel
            guard let file = form?.contents("file").first else { return (.unbounded(reason: "the upload has no readable \"file\""), model) }
            guard let pricing = await pricing(type: "asr", model: model), let perSecond = pricing["per_audio_second"]?["usd"]?.doubleValue else {
                return (Self.noPrice(model), model)
            }
            return (priced(usdPerUnit: perSecond, units: Double(AudioDuration.upperBound(file)), model: model), model)
        case "/image/upscale":
            let scale = try Self.upscale(body["scale"])
            guard let pricing = await pricing(type: "upscale", model: Self.upscaler), let usd = pricing["upscale"]?["\(scale)x"]?["usd"]?.doubleValue else {
                return (Self.noPrice(Self.upscaler), model)
            }
            return (priced(usdPerUnit: usd, units: 1, model: Self.upscaler), model)
        case "/image/edit", "/image/multi-edit":
            return try await editPrice(body, route: route.template, form: form)
        case "/video/queue":
            guard let model else { return (.unbounded(reason: "the body names no model"), nil) }
            return (await videoPrice(body, model: model), model)
        case "/audio/voice-changer/queue":
            guard let model else { return (.unbounded(reason: "the body names no model"), nil) }
            return (await voiceChangerPrice(model: model, form: form), model)
        case "/image/background-remove":
            guard let pricing = await pricing(type: "image", model: Self.backgroundRemover), let usd = pricing["generation"]?["usd"]?.doubleValue else {
                return (Self.noPrice(Self.backgroundRemover), model)
            }
            return (priced(usdPerUnit: usd, units: 1, model: Self.backgroundRemover), model)
        case "/augment/search", "/augment/scrape", "/augment/text-parser":
            return (.bounded(micro: Self.augmentMicro), model)
        default:
            return (.unbounded(reason: "the agent cannot price \(route.template) in advance"), model)
        }
    }

    /// Web search, scrape and the text parser: "**Pricing:** $0.01 per request" (veniceai/api-docs
    /// `api-reference/endpoint/augment/search.mdx`, `scrape.mdx`, `text-parser.mdx`); no `/models` entry prices them.
    static let augmentMicro: Int64 = 10_000
    /// `/audio/transcriptions`' default `model` (openapi.yaml CreateTranscriptionRequestSchema).
    static let defaultTranscriptionModel = "nvidia/parakeet-tdt-0.6b-v3"
    /// `/image/upscale` names no model: Venice lists its price as the `upscaler` model of type
    /// `upscale` (`pricing.upscale.2x` / `4x`).
    static let upscaler = "upscaler"
    /// `/image/background-remove` names no model: Venice's `/models?type=image` lists it as
    /// `bria-bg-remover` ("Background Remover", `pricing.generation`, $0.03 when written).
    static let backgroundRemover = "bria-bg-remover"
    /// `/image/edit`'s and `/image/multi-edit`'s default model (openapi.yaml EditImageRequest).
    static let defaultEditModel = "firered-image-edit"
    /// Token counts a client may ask for (`max_tokens` and friends): far beyond any context.
    static let tokenLimit: ClosedRange<Int> = 1...100_000_000
    /// `n` on `/chat/completions`: choices, each billed (openapi.yaml ChatCompletionRequest).
    static let choices: ClosedRange<Int> = 1...128

    /// `scale` on `/image/upscale`: 2 (the default) or 4, as a number or a form field.
    static func upscale(_ value: JSONValue?) throws(AgentError) -> Int {
        guard let value, !value.isNull else { return 2 }
        let number = value.doubleValue ?? value.stringValue.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard let number, number == 2 || number == 4 else { throw .badRequest("scale must be 2 or 4") }
        return number == 4 ? 4 : 2
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
        await spec(type: type, model: model)?["pricing"]
    }

    /// A model's `model_spec` (pricing, `availableContextTokens`), as `pricing(type:model:)`.
    func spec(type: String, model: String) async -> JSONValue? {
        if let cached = catalogs[type], ContinuousClock.now - cached.fetched < maxAge {
            return cached.models[model]?["model_spec"]
        }
        guard await refresh(type) else { return nil }
        return catalogs[type]?.models[model]?["model_spec"]
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

    /// A queued video at Venice's `/video/quote` for the same pricing inputs (openapi.yaml
    /// QuoteVideoRequest: model, duration, resolution, aspect_ratio, audio, upscale_factor;
    /// https://docs.venice.ai/api-reference/endpoint/video/quote).
    /// Unbounded when the price hangs on media the quote cannot see (a source video to upscale
    /// or reference clips, whose length sets the rate) or the duration follows the source.
    func videoPrice(_ body: JSONValue, model: String) async -> PriceEstimate {
        guard let duration = body["duration"]?.stringValue else { return .unbounded(reason: "the body has no \"duration\"") }
        guard !["-1", "auto"].contains(duration.lowercased()) else { return .unbounded(reason: "the duration follows a source clip") }
        for media in ["video_url", "reference_video_urls", "reference_audio_urls", "audio_url"] where body[media].map({ !$0.isNull }) == true {
            return .unbounded(reason: "\(media) sets a price the agent cannot quote in advance")
        }
        var quote = JSONObject([("model", .string(model)), ("duration", .string(duration))])
        for field in ["resolution", "aspect_ratio", "audio", "upscale_factor"] {
            if let value = body[field], !value.isNull { quote[field] = value }
        }
        guard let usd = try? await venice.videoQuote(.object(quote)) else {
            return .unbounded(reason: "Venice gave no quote for \(model.prefix(128))")
        }
        return priced(usdPerUnit: usd, units: 1, model: model)
    }

    /// A voice change at Venice's `/audio/voice-changer/quote` for the uploaded `file`'s length
    /// as `AudioDuration` bounds it (Venice bills the length it measures, rounded up to a whole
    /// minute, and quotes the same tiers), at most the model's `max_source_audio_duration_seconds`
    /// (a longer source is refused before any charge). An `audio_url` source has no length the
    /// agent can read: unbounded. Source: github.com/veniceai/api-docs, venice-audio-voice-changer.
    func voiceChangerPrice(model: String, form: MultipartForm?) async -> PriceEstimate {
        guard let file = form?.contents("file").first else {
            return .unbounded(reason: "the source is not an uploaded \"file\" whose length the agent can read")
        }
        var seconds = max(1, AudioDuration.upperBound(file))
        if let longest = await spec(type: "music", model: model)?["max_source_audio_duration_seconds"]?.intValue, longest > 0 {
            seconds = min(seconds, longest)
        }
        let request: JSONValue = ["model": .string(model), "duration_seconds": .number(String(seconds))]
        guard let usd = try? await venice.voiceChangerQuote(request) else {
            return .unbounded(reason: "Venice gave no quote for \(model.prefix(128))")
        }
        return priced(usdPerUnit: usd, units: 1, model: model)
    }

    func quote(_ request: JSONValue, model: String) async -> PriceEstimate {
        guard let usd = try? await venice.audioQuote(request) else {
            return .unbounded(reason: "Venice gave no quote for \(model.prefix(128))")
        }
        return priced(usdPerUnit: usd, units: 1, model: model)
    }
}
