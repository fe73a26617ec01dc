import Foundation
import Hummingbird
import WalletCrypto
import X402Protocol

/// POST /audio/voices, voice cloning. Source: openapi.yaml `/audio/voices` (post) and
/// CreateClonedVoiceRequestSchema; veniceai/api-docs `guides/media/voice-cloning.mdx`.
extension RouteServices {
    /// Accepted sample containers per model (openapi.yaml CreateClonedVoiceRequestSchema `file`):
    /// `tts-chatterbox-hd` MP3, WAV, FLAC, M4A; `tts-minimax-speech-02-hd` MP3 and WAV only.
    static let cloneContainers: [String: Set<String>] = [
        "tts-chatterbox-hd": ["mp3", "wav", "flac", "m4a"],
        "tts-minimax-speech-02-hd": ["mp3", "wav"],
    ]
    /// [sim] Venice publishes no price for a clone; its `x-payment-info` says "dynamic", min $0.001.
    /// The simulator charges that minimum, so a clone leaves a ledger row (docs/VENICE-CONFORMANCE.md).
    static let cloneMicro: Int64 = 1_000

    func registerVoiceClone(_ api: RouterGroup<Context>) {
        api.post("audio/voices") { request, context -> Response in
            try await inference(request, context, path: "/audio/voices") { caller, request in
                try await cloneVoice(caller, request)
            }
        }
    }

    /// multipart/form-data only (the route's one request content type; others → 415): `file` (required,
    /// 25 MB like the other audio uploads — 413 above) and `model` (enum, default `tts-chatterbox-hd`).
    /// "Samples in containers outside the per-model allowlist are rejected with HTTP 400 before any
    /// upload." Answers `{"id": "vv_…", "model": …}` (openapi.yaml 200 schema, additionalProperties false).
    func cloneVoice(_ caller: Caller, _ request: Request) async throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw SimulatorError.standard(.unsupportedMediaType, "Invalid request content-type: send multipart/form-data with `file` and `model`")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: 36 * 1024 * 1024)
        let parts = try MultipartForm.parse(body: Array(buffer.readableBytesView), contentType: contentType)
        for part in parts where !["file", "model"].contains(part.name) {
            throw SimulatorError.invalidParameters(field: nil, message: "Unrecognized key(s) in object: '\(part.name)'")
        }
        let modelID = parts.first { $0.name == "model" }.map { String(decoding: $0.data, as: UTF8.self) } ?? "tts-chatterbox-hd"
        guard let containers = Self.cloneContainers[modelID] else {
            throw SimulatorError.invalidParameters(field: "model", message: "Invalid enum value. Expected 'tts-chatterbox-hd' | 'tts-minimax-speech-02-hd', received '\(modelID)'")
        }
        let model = try self.model(modelID, type: "tts")
        try checkPrivacy(caller, model: model)
        guard let file = parts.first(where: { $0.name == "file" && $0.filename != nil }) else {
            throw SimulatorError.invalidParameters(field: "file", message: "No audio file provided")
        }
        if file.data.count > 25 * 1024 * 1024 { throw SimulatorError.payloadTooLarge("File exceeds the maximum allowed size of 25 MB.") }
        guard let container = Self.audioContainer(file.data), containers.contains(container) else {
            let allowed = containers.sorted().map { $0.uppercased() }.joined(separator: ", ")
            throw SimulatorError.invalidParameters(field: "file", message: "Unsupported audio format for \(model.id); accepted: \(allowed)")
        }
        let handle = "vv_" + (await requestID("voice-")).replacingOccurrences(of: "-", with: "_")
        await clonedVoices.add(handle, model: model.id, nowMilliseconds: await state.nowMilliseconds())
        await state.charge(caller, requestId: handle,
                           items: [.init(modelId: model.id, micro: Self.cloneMicro, sku: "\(model.id)-voice-clone", units: 1,
                                         pricePerUnit: Money.usd(Self.cloneMicro))])
        return .json(["id": .string(handle), "model": .string(model.id)])
    }

    /// The container of an audio sample, by its magic bytes: wav, mp3, flac or m4a (MP4 `ftyp`).
    static func audioContainer(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 12 else { return nil }
        if bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WAVE".utf8) { return "wav" }
        if bytes.starts(with: Array("fLaC".utf8)) { return "flac" }
        if Array(bytes[4..<8]) == Array("ftyp".utf8) { return "m4a" }
        if bytes.starts(with: Array("ID3".utf8)) || (bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0) { return "mp3" }
        return nil
    }
}

/// The `vv_` handles minted by POST /audio/voices, each valid with its own model for 7 days:
/// "the handle must be paired with the same `model` used to create it"; "Handles expire
/// automatically after 7 days" (openapi.yaml `/audio/voices`, CreateSpeechRequestSchema `voice`).
/// [sim] MiniMax's "7 days without use" window is not reset by use.
actor ClonedVoices {
    static let retentionMilliseconds: Int64 = 7 * 24 * 3_600_000
    private var handles: [String: (model: String, createdAt: Int64)] = [:]

    func add(_ handle: String, model: String, nowMilliseconds: Int64) {
        handles[handle] = (model, nowMilliseconds)
    }

    /// Whether `handle` was minted for `model` and has not expired.
    func accepts(_ handle: String, model: String, nowMilliseconds: Int64) -> Bool {
        guard let entry = handles[handle], entry.model == model else { return false }
        return nowMilliseconds - entry.createdAt < Self.retentionMilliseconds
    }
}
