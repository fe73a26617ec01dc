import X402Protocol
import Foundation
import HTTPTypes
import WalletCrypto

/// `static-models.json` (bundled) plus what the simulator synthesizes: `object`, `owned_by`,
/// image `constraints`, TTS formats and default voices, music fields (VENICE.md §6.4, §7, §8).
struct ModelCatalog: Sendable {
    struct Model: Sendable {
        let id: String
        let type: String
        let created: Int64
        let spec: JSONObject

        var privacy: String { spec["privacy"]?.stringValue ?? "private" }
        var pricing: JSONObject { spec["pricing"]?.objectValue ?? JSONObject() }
        var name: String { spec["name"]?.stringValue ?? id }
    }

    static let modelTypes: Set<String> = ["text", "image", "video", "music", "tts", "asr", "embedding", "upscale", "inpaint", "all", "code", "decision"]

    let models: [Model]
    private let byID: [String: Model]

    init(json bytes: [UInt8]) throws {
        guard let rows = try JSONValue(parsing: bytes).arrayValue else { throw CatalogError.notAnArray }
        var models: [Model] = []
        for row in rows {
            guard let id = row["id"]?.stringValue, let type = row["type"]?.stringValue,
                  let spec = row["model_spec"]?.objectValue else { continue }
            models.append(Model(id: id, type: type, created: Int64(row["created"]?.intValue ?? 0), spec: spec))
        }
        self.models = models
        self.byID = Dictionary(models.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    enum CatalogError: Error { case notAnArray, missingResource }

    /// The bundled copy of `shared/venice/static-models.json`.
    static func bundled() throws -> ModelCatalog {
        guard let url = Bundle.module.url(forResource: "static-models", withExtension: "json", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "static-models", withExtension: "json") else { throw CatalogError.missingResource }
        return try ModelCatalog(json: Array(try Data(contentsOf: url)))
    }

    func model(_ id: String) -> Model? { byID[id] }

    // MARK: /models

    func listing(type: String) -> JSONValue {
        let rows = models.filter { type == "all" || $0.type == type || (type == "code" && $0.type == "text") }
        return ["object": "list", "type": .string(type), "data": .array(rows.map(item))]
    }

    func item(_ model: Model) -> JSONValue {
        var spec = model.spec
        if spec["offline"] == nil { spec["offline"] = .bool(false) }
        switch model.type {
        case "image":
            let rules = ImageRules(model: model)
            spec["constraints"] = rules.constraintsJSON
        case "tts":
            let rules = SpeechRules(model: model)
            spec["supported_formats"] = .array(rules.formats.map { .string($0) })
            spec["default_format"] = .string(rules.defaultFormat)
            spec["default_voice"] = .string(rules.defaultVoice)
            spec["supports_custom_voice_id"] = .bool(rules.supportsCustomVoiceID)
        case "video":
            if let rules = VideoRules(model: model) { spec["constraints"] = rules.constraintsJSON }
        case "music":
            let rules = MusicRules(model: model)
            for (key, value) in rules.specFields { spec[key] = value }
        default:
            break
        }
        return ["id": .string(model.id), "object": "model", "owned_by": "venice.ai", "type": .string(model.type),
                "created": .number(String(model.created)), "model_spec": .object(spec)]
    }
}

// MARK: - Image rules

struct ImageRules: Sendable {
    let model: ModelCatalog.Model
    let promptLimit: Int
    let divisor = 8
    let stepsDefault: Int
    let stepsMax: Int
    let takesSteps: Bool
    let takesNegativePrompt: Bool
    let resolutions: [String]?
    let defaultResolution: String?
    let qualities: [String]?
    let defaultQuality: String?
    let rejectsWidthHeight: Bool
    static let aspectRatios = ["1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16"]

    init(model: ModelCatalog.Model) {
        self.model = model
        let id = model.id
        let stepModel = id == "venice-sd35" || id.hasPrefix("lustify") || id == "wai-Illustrious"
        takesSteps = stepModel
        stepsDefault = stepModel ? 20 : 8
        stepsMax = stepModel ? 50 : 8
        takesNegativePrompt = stepModel || id.hasPrefix("qwen-image-2") || id.hasPrefix("qwen-image-3") || id.hasPrefix("wan-2-7")
        promptLimit = 7_500
        let pricing = model.pricing
        if let table = pricing["resolutions"]?.objectValue ?? pricing["quality"]?.objectValue {
            let keys = table.keys.sorted()
            resolutions = keys
            defaultResolution = keys.contains("1K") ? "1K" : keys.first
        } else {
            resolutions = nil
            defaultResolution = nil
        }
        if let quality = pricing["quality"]?.objectValue, let first = Array(quality).first?.value.objectValue {
            let order = ["low", "medium", "high"]
            let available = order.filter { first[$0] != nil }
            qualities = available
            defaultQuality = available.contains("high") ? "high" : available.last
        } else {
            qualities = nil
            defaultQuality = nil
        }
        rejectsWidthHeight = ["qwen-image", "qwen-image-3", "qwen-image-3-pro"].contains(id)
    }

    var isAspectModel: Bool { resolutions != nil }

    var constraintsJSON: JSONValue {
        var object = JSONObject([("promptCharacterLimit", .number(String(promptLimit))),
                                 ("widthHeightDivisor", .number(String(divisor))),
                                 ("steps", ["default": .number(String(stepsDefault)), "max": .number(String(stepsMax))])])
        if let resolutions {
            object["aspectRatios"] = .array(Self.aspectRatios.map { .string($0) })
            object["defaultAspectRatio"] = "1:1"
            object["resolutions"] = .array(resolutions.map { .string($0) })
            object["defaultResolution"] = .optional(defaultResolution)
        }
        if let qualities {
            object["qualities"] = .array(qualities.map { .string($0) })
            object["defaultQuality"] = .optional(defaultQuality)
        }
        return .object(object)
    }

    /// USD micro per image: quality table, else resolution table, else flat generation.
    func priceMicro(resolution: String?, quality: String?) throws(SimulatorError) -> Int64 {
        let pricing = model.pricing
        if let res = resolution ?? defaultResolution, let q = quality ?? defaultQuality,
           let usd = pricing["quality"]?[res]?[q]?["usd"]?.doubleValue {
            return try Money.micro(usd, field: "quality")
        }
        if let res = resolution ?? defaultResolution, let usd = pricing["resolutions"]?[res]?["usd"]?.doubleValue {
            return try Money.micro(usd, field: "resolution")
        }
        return try Money.micro(pricing["generation"]?["usd"]?.doubleValue ?? 0.01, field: "model")
    }

    /// Pixel size for an aspect model: the ratio scaled to the resolution's long side (kept small: 1K → 256).
    func aspectSize(ratio: String, resolution: String) -> (Int, Int) {
        let base = resolution == "4K" ? 512 : resolution == "2K" ? 384 : 256
        let parts = ratio.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return (base, base) }
        if parts[0] >= parts[1] { return (base, max(1, Int(Double(base) * parts[1] / parts[0]))) }
        return (max(1, Int(Double(base) * parts[0] / parts[1])), base)
    }
}

// MARK: - Speech rules

struct SpeechRules: Sendable {
    let model: ModelCatalog.Model
    let voices: [String]
    let formats: [String]
    let defaultVoice: String

    /// Formats (default first) and default voices per model: veniceai/skills
    /// `skills/venice-audio-speech/SKILL.md` ("Models" table: Kokoro mp3 opus aac flac wav pcm;
    /// Qwen 3 and ElevenLabs Turbo mp3 only; MiniMax mp3 pcm flac; …), VENICE.md §7.1. Venice
    /// publishes them on `/models?type=tts` as `model_spec.supported_formats` and
    /// `model_spec.default_format` (openapi.yaml, model `model_spec`; CreateSpeechRequestSchema
    /// `response_format`: "An explicit unsupported format returns HTTP 400").
    static let table: [String: (formats: [String], voice: String)] = [
        "tts-kokoro": (["mp3", "opus", "aac", "flac", "wav", "pcm"], "af_sky"),
        "tts-qwen3-0-6b": (["mp3"], "Vivian"), "tts-qwen3-1-7b": (["mp3"], "Vivian"),
        "tts-xai-v1": (["mp3", "wav", "pcm"], "eve"),
        "tts-inworld-1-5-max": (["wav"], "Craig"),
        "tts-chatterbox-hd": (["wav"], "Aurora"),
        "tts-orpheus": (["wav"], "tara"),
        "tts-elevenlabs-turbo-v2-5": (["mp3"], "Rachel"),
        "tts-minimax-speech-02-hd": (["mp3", "pcm", "flac"], "WiseWoman"),
        "tts-gemini-3-1-flash": (["mp3", "opus", "wav"], "Kore"),
        "tts-gradium-v1": (["wav", "pcm", "opus"], "Emma"),
    ]

    /// Models that also take a raw provider Voice ID as `voice`: "currently
    /// `tts-elevenlabs-turbo-v2-5`" (skills `venice-audio-speech`, `supports_custom_voice_id`).
    static let customVoiceModels: Set<String> = ["tts-elevenlabs-turbo-v2-5"]

    var supportsCustomVoiceID: Bool { Self.customVoiceModels.contains(model.id) }

    /// The format when the request omits `response_format`: the model's `default_format`.
    var defaultFormat: String { formats.first ?? "mp3" }

    /// A voice the model takes: one of its `voices` (case-sensitive), or on a custom-voice model an
    /// ElevenLabs-style Voice ID ([sim] 20 ASCII letters and digits; Venice forwards it to the provider).
    func accepts(voice: String) -> Bool {
        if voices.isEmpty || voices.contains(voice) { return true }
        return supportsCustomVoiceID && voice.count == 20 && voice.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    init(model: ModelCatalog.Model) {
        self.model = model
        voices = model.spec["voices"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let entry = Self.table[model.id]
        // [sim] A TTS model missing from the skills' table: mp3 and wav, mp3 default (our assumption).
        formats = entry?.formats ?? ["mp3", "wav"]
        defaultVoice = entry?.voice ?? voices.first ?? "default"
    }

    /// USD micro for `characters` input characters (catalog price is per 1M characters).
    func priceMicro(characters: Int) throws(SimulatorError) -> Int64 {
        let perMillion = model.pricing["input"]?["usd"]?.doubleValue ?? 0
        return try Money.micro(perMillion * Double(characters) / 1_000_000, field: "input")
    }
}

// MARK: - Music / queued audio rules

struct MusicRules: Sendable {
    let model: ModelCatalog.Model

    enum Pricing { case durations([(min: Int, max: Int, usd: Double)]), generation(Double), perSecond(Double), perThousandCharacters(Double) }

    var pricing: Pricing {
        let p = model.pricing
        if let table = p["durations"]?.objectValue {
            let tiers = table.compactMap { entry -> (min: Int, max: Int, usd: Double)? in
                guard let min = entry.value["min_seconds"]?.intValue, let max = entry.value["max_seconds"]?.intValue,
                      let usd = entry.value["usd"]?.doubleValue else { return nil }
                return (min, max, usd)
            }
            return .durations(tiers.sorted { $0.min < $1.min })
        }
        if let usd = p["per_second"]?["usd"]?.doubleValue { return .perSecond(usd) }
        if let usd = p["per_thousand_characters"]?["usd"]?.doubleValue { return .perThousandCharacters(usd) }
        return .generation(p["generation"]?["usd"]?.doubleValue ?? 0.1)
    }

    var takesDuration: Bool {
        switch pricing { case .durations, .perSecond: true; default: false }
    }

    var minDuration: Int {
        if case .durations(let tiers) = pricing { return tiers.first?.min ?? 1 }
        return 1
    }

    var maxDuration: Int {
        if case .durations(let tiers) = pricing { return tiers.last?.max ?? 600 }
        return 600
    }

    var defaultDuration: Int {
        if model.id == "seed-audio-1-0" { return 120 }
        if case .durations(let tiers) = pricing { return tiers.first?.max ?? 60 }
        return 10
    }

    var isPerCharacter: Bool { if case .perThousandCharacters = pricing { true } else { false } }
    var promptCharacterLimit: Int { 4_096 }
    var minPromptLength: Int { isPerCharacter ? 1 : 10 }
    var supportsLyrics: Bool { model.id.hasPrefix("minimax-music") || model.id == "ace-step-15" || model.id == "elevenlabs-music" }
    var supportsForceInstrumental: Bool { model.id.hasPrefix("minimax-music") || model.id == "elevenlabs-music" || model.id == "ace-step-15" }

    var specFields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("supports_lyrics", .bool(supportsLyrics)), ("lyrics_required", .bool(model.id == "minimax-music-v2")),
            ("lyrics_character_limit", 4096), ("supports_lyrics_optimizer", .bool(model.id.hasPrefix("minimax-music"))),
            ("supports_force_instrumental", .bool(supportsForceInstrumental)), ("supports_loop", .bool(false)),
            ("supports_language_code", .bool(false)), ("supports_speed", .bool(false)),
            ("voices", .array([])), ("supports_custom_voice_id", .bool(false)),
            ("min_prompt_length", .number(String(minPromptLength))), ("prompt_character_limit", .number(String(promptCharacterLimit))),
            ("supported_formats", ["wav"]), ("default_format", "wav"), ("voice_changer", .bool(false)),
        ]
        if takesDuration {
            fields += [("min_duration", .number(String(minDuration))), ("max_duration", .number(String(maxDuration))),
                       ("default_duration", .number(String(defaultDuration)))]
            if case .durations(let tiers) = pricing { fields.append(("duration_options", .array(tiers.map { .number(String($0.max)) }))) }
        }
        return fields
    }

    /// Quote in USD micro.
    func quoteMicro(duration: Int?, characters: Int?) throws(SimulatorError) -> Int64 {
        switch pricing {
        case .durations(let tiers):
            let seconds = duration ?? defaultDuration
            guard let tier = tiers.first(where: { $0.min <= seconds && seconds <= $0.max }) else {
                throw .standard(.badRequest, "duration_seconds must be between \(minDuration) and \(maxDuration)")
            }
            return try Money.micro(tier.usd, field: "duration_seconds")
        case .perSecond(let usd):
            let seconds = duration ?? defaultDuration
            guard (minDuration...maxDuration).contains(seconds) else {
                throw .standard(.badRequest, "duration_seconds must be between \(minDuration) and \(maxDuration)")
            }
            return try Money.micro(usd * Double(seconds), field: "duration_seconds")
        case .perThousandCharacters(let usd):
            guard let characters else { throw .standard(.badRequest, "character_count is required for this model") }
            guard characters >= 0 else { throw .invalidParameters(field: "character_count", message: "Number must be at least 0") }
            return try Money.micro(usd * Double(characters) / 1_000, field: "character_count")
        case .generation(let usd):
            return try Money.micro(usd, field: "model")
        }
    }
}
