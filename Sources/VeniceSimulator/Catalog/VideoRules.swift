import X402Protocol
import WalletCrypto

/// What the simulator knows about a video model: the durations, resolutions and aspect ratios it
/// takes, and its price, for `/video/quote` and `/video/queue`.
///
/// Venice's `/models?type=video` carries no `pricing` (openapi.yaml lists no video pricing shape;
/// VENICE.md §8 "pricing: all but video"), only `model_spec.constraints` (openapi.yaml "Video Model
/// Constraints": `aspect_ratios`, `resolutions`, `durations`, `model_type`, `audio`,
/// `audio_configurable`, `prompt_character_limit`). Prices come from Venice's model pages:
/// - https://docs.venice.ai/models/wan-2-7-video.md — `wan-2-7-text-to-video` "from $0.11 / sec",
///   silent clips 5s/10s/15s at 720p $0.55/$1.10/$1.65 and 1080p $0.70/$1.40/$2.10 (= $0.11 and
///   $0.14 per second); `wan-2-7-image-to-video` "from $0.11 / sec" ([sim] at the same rates);
///   resolutions 1080p, 720p; durations 5s, 10s, 15s; aspect ratios 16:9, 9:16, 1:1.
/// - https://docs.venice.ai/models/wan-2-7-enhanced.md — "from $0.1287 per second", audio always
///   generated, clips with audio 5s/10s/15s at 720p $0.64/$1.29/$1.93 and 1080p $0.99/$1.98/$2.97
///   (= $0.1287 and $0.198 per second, the pages rounding to cents); same durations and ratios.
/// The skills' `/video/quote` example (`skills/venice-video/SKILL.md`: wan-2-7-text-to-video, 5s,
/// 720p, audio → `{"quote": 0.35}`) disagrees with the model page ($0.55); we follow the page.
/// [sim] The quote is the per-second rate × seconds, unrounded (to the micro-dollar); `audio` does
/// not change these models' prices. Models without an entry here have no simulated price: their
/// quote and queue answer 400 (an assumption; Venice prices every listed model).
struct VideoRules: Sendable {
    let model: ModelCatalog.Model
    let entry: Entry

    struct Entry: Sendable {
        let modelType: String
        /// USD per second of output, by resolution.
        let perSecond: [String: Double]
        let durations: [String]
        let aspectRatios: [String]
        let audio: Bool
        let audioConfigurable: Bool
        /// Required input for image-to-video models (the skills: "missing required `image_url` for i2v" → 400).
        let needsImage: Bool
    }

    static let table: [String: Entry] = {
        let wan = ["720p": 0.11, "1080p": 0.14]
        let enhanced = ["720p": 0.1287, "1080p": 0.198]
        let durations = ["5s", "10s", "15s"], ratios = ["16:9", "9:16", "1:1"]
        return [
            "wan-2-7-text-to-video": Entry(modelType: "text-to-video", perSecond: wan, durations: durations, aspectRatios: ratios,
                                           audio: false, audioConfigurable: false, needsImage: false),
            "wan-2-7-image-to-video": Entry(modelType: "image-to-video", perSecond: wan, durations: durations, aspectRatios: ratios,
                                            audio: false, audioConfigurable: false, needsImage: true),
            "wan-2-7-enhanced-text-to-video": Entry(modelType: "text-to-video", perSecond: enhanced, durations: durations, aspectRatios: ratios,
                                                    audio: true, audioConfigurable: false, needsImage: false),
            "wan-2-7-enhanced-image-to-video": Entry(modelType: "image-to-video", perSecond: enhanced, durations: durations, aspectRatios: ratios,
                                                     audio: true, audioConfigurable: false, needsImage: true),
        ]
    }()

    /// openapi.yaml QueueVideoRequest / QuoteVideoRequest `duration` and `resolution` enums.
    static let durationEnum: [String] = (1...30).map { "\($0)s" } + ["-1", "1 gen", "auto", "Auto"]
    static let resolutionEnum = ["256p", "360p", "480p", "540p", "580p", "720p", "1080p", "1440p", "2160p", "4k", "2x", "4x", "2K", "768P", "true_1080p"]
    static let aspectRatioEnum = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "9:21", "16:9", "21:9", "adaptive", "auto"]
    /// openapi.yaml Video Model Constraints `prompt_character_limit`: "If not specified, the default is 2500 characters."
    static let promptCharacterLimit = 2_500

    init?(model: ModelCatalog.Model) {
        guard let entry = Self.table[model.id] else { return nil }
        self.model = model
        self.entry = entry
    }

    var resolutions: [String] { entry.perSecond.keys.sorted { (Int($0.dropLast()) ?? 0) > (Int($1.dropLast()) ?? 0) } }
    /// [sim] When `/video/queue` omits `resolution`: the cheapest one.
    var defaultResolution: String { entry.perSecond.min { $0.value < $1.value }?.key ?? "720p" }

    /// `model_spec.constraints` for `/models?type=video` (openapi.yaml "Video Model Constraints").
    var constraintsJSON: JSONValue {
        ["aspect_ratios": .array(entry.aspectRatios.map { .string($0) }), "resolutions": .array(resolutions.map { .string($0) }),
         "durations": .array(entry.durations.map { .string($0) }), "model_type": .string(entry.modelType),
         "audio": .bool(entry.audio), "audio_configurable": .bool(entry.audioConfigurable),
         "prompt_character_limit": .number(String(Self.promptCharacterLimit))]
    }

    /// Checks the pricing inputs both routes share and prices them, in USD micro.
    /// `resolution` nil: required on the quote ("Required for models with duration-resolution-rate
    /// pricing", openapi.yaml QuoteVideoRequest), the model default on the queue.
    func priceMicro(duration: String?, resolution: String?, aspectRatio: String?, resolutionRequired: Bool) throws(SimulatorError) -> Int64 {
        guard let duration else { throw .invalidParameters(field: "duration", message: "Required") }
        guard Self.durationEnum.contains(duration) else {
            throw .invalidParameters(field: "duration", message: "Invalid enum value. Expected " + Self.durationEnum.map { "'\($0)'" }.joined(separator: " | ") + ", received '\(duration)'")
        }
        // Per-model refusals: 400 DetailedError (openapi.yaml `/video/quote` and `/video/queue` 400; the
        // skills: "duration/resolution not supported by model" → 400). [sim] The wording is ours.
        guard entry.durations.contains(duration), let seconds = Int(duration.dropLast()) else {
            throw .invalidParameters(field: "duration", message: "Duration \(duration) is not supported by \(model.id). Supported durations: \(entry.durations.joined(separator: ", "))")
        }
        if let resolution, !Self.resolutionEnum.contains(resolution) {
            throw .invalidParameters(field: "resolution", message: "Invalid enum value. Expected " + Self.resolutionEnum.map { "'\($0)'" }.joined(separator: " | ") + ", received '\(resolution)'")
        }
        guard let chosen = resolution ?? (resolutionRequired ? nil : defaultResolution) else {
            throw .invalidParameters(field: "resolution", message: "resolution is required to quote \(model.id)")
        }
        guard let rate = entry.perSecond[chosen] else {
            throw .invalidParameters(field: "resolution", message: "Resolution \(chosen) is not supported by \(model.id). Supported resolutions: \(resolutions.joined(separator: ", "))")
        }
        if let aspectRatio {
            guard Self.aspectRatioEnum.contains(aspectRatio) else {
                throw .invalidParameters(field: "aspect_ratio", message: "Invalid enum value. Expected " + Self.aspectRatioEnum.map { "'\($0)'" }.joined(separator: " | ") + ", received '\(aspectRatio)'")
            }
            guard entry.aspectRatios.contains(aspectRatio) else {
                throw .invalidParameters(field: "aspect_ratio", message: "Aspect ratio \(aspectRatio) is not supported by \(model.id). Supported aspect ratios: \(entry.aspectRatios.joined(separator: ", "))")
            }
        }
        return try Money.micro(rate * Double(seconds), field: "duration")
    }
}
