import X402Protocol
import Foundation
import Hummingbird
import NIOCore
import WalletCrypto

extension RouteServices {
    static let speechFields: Set<String> = ["input", "model", "voice", "response_format", "speed", "streaming", "language", "prompt", "temperature", "top_p"]
    /// `Content-Type` per format, "depending on the format actually produced" (skills
    /// `venice-audio-speech`: audio/mpeg, audio/opus, audio/aac, audio/flac, audio/wav, audio/pcm).
    static let audioContentTypes = ["mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"]

    func registerSpeech(_ api: RouterGroup<Context>) {
        api.post("audio/speech") { request, context -> Response in
            try await inference(request, context, path: "/audio/speech", flavor: .speech) { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.speechFields)
                let model = try self.model(try body.string("model"), type: "tts")
                try checkPrivacy(caller, model: model)
                let rules = SpeechRules(model: model)
                guard let input = try body.string("input"), !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw SimulatorError.invalidParameters(field: "input", message: "Input is required")
                }
                guard input.count <= 4_096 else { throw SimulatorError.invalidParameters(field: "input", message: "String must contain at most 4096 character(s)") }
                guard input.unicodeScalars.contains(where: { $0.properties.isAlphabetic || $0.properties.numericType != nil }) else {
                    throw SimulatorError.standard(.badRequest, "Input must contain speakable text")
                }
                let voice = try body.string("voice") ?? rules.defaultVoice
                // A cloned-voice handle works with the model that minted it (RouteServices+VoiceClone.swift).
                let cloned = voice.hasPrefix("vv_") ? await clonedVoices.accepts(voice, model: model.id, nowMilliseconds: await state.nowMilliseconds()) : false
                guard voice.count <= 512, cloned || rules.accepts(voice: voice) else {
                    throw SimulatorError.standard(.badRequest, "Voice \(voice) is not available for model \(model.id)")
                }
                // Omitted → the model's `default_format`; outside the schema enum → 400 DetailedError;
                // outside the model's `supported_formats` → 400 (openapi.yaml CreateSpeechRequestSchema
                // `response_format`; skills `venice-audio-speech`). The 400 wording is not documented:
                // [sim] ours names the model and its supported formats, in Venice's StandardError shape.
                let format = try body.string("response_format") ?? rules.defaultFormat
                guard Self.audioContentTypes[format] != nil else {
                    throw SimulatorError.invalidParameters(field: "response_format", message: "Invalid enum value. Expected 'mp3' | 'opus' | 'aac' | 'flac' | 'wav' | 'pcm', received '\(format)'")
                }
                guard rules.formats.contains(format) else {
                    throw SimulatorError.standard(.badRequest, "Response format \(format) is not supported by \(model.id). Supported formats: \(rules.formats.joined(separator: ", "))")
                }
                guard ["wav", "pcm", "flac", "mp3"].contains(format) else {
                    // [sim] Venice serves these; the simulator has no opus or aac encoder.
                    throw SimulatorError.standard(.badRequest, "venice-sim cannot encode \(format) audio; request response_format \"wav\", \"pcm\", \"flac\" or \"mp3\"")
                }
                let speed = try body.double("speed") ?? 1.0
                guard (0.25...4).contains(speed) else { throw SimulatorError.invalidParameters(field: "speed", message: "Number must be between 0.25 and 4") }
                if let language = try body.string("language"), !(2...32).contains(language.count) {
                    throw SimulatorError.invalidParameters(field: "language", message: "Invalid language")
                }
                if let prompt = try body.string("prompt"), prompt.count > 500 {
                    throw SimulatorError.invalidParameters(field: "prompt", message: "String must contain at most 500 character(s)")
                }
                if let temperature = try body.double("temperature"), !(0...2).contains(temperature) {
                    throw SimulatorError.invalidParameters(field: "temperature", message: "Number must be between 0 and 2")
                }
                if let topP = try body.double("top_p"), !(0...1).contains(topP) {
                    throw SimulatorError.invalidParameters(field: "top_p", message: "Number must be between 0 and 1")
                }
                let streaming = try body.bool("streaming") ?? false
                let pcm = WAVCodec.synthesizePCM(text: input, speed: speed)
                let audio: [UInt8]
                switch format {
                case "wav": audio = WAVCodec.wav(pcm: pcm)
                case "flac": audio = FLACEncoder.encode(pcm: pcm, sampleRate: WAVCodec.sampleRate)
                case "mp3":
                    do {
                        audio = try await MP3Encoder(configuration: .init(executable: configuration.mp3Encoder, timeout: configuration.mp3EncoderTimeout))
                            .encode(pcm: pcm, sampleRate: WAVCodec.sampleRate)
                    } catch {
                        // Before any charge: Venice's 500 shape (StandardError), our wording.
                        throw SimulatorError.standard(.internalServerError, String(describing: error))
                    }
                default: audio = pcm
                }
                let requestId = await requestID("speech-")
                let price = try rules.priceMicro(characters: input.count)
                await state.charge(caller, requestId: requestId,
                                   items: [.init(modelId: model.id, micro: price, sku: "\(model.id)-input-mchar",
                                                 units: Double(input.count) / 1_000_000,
                                                 pricePerUnit: model.pricing["input"]?["usd"]?.doubleValue ?? 0)])
                let contentType = Self.audioContentTypes[format] ?? "application/octet-stream"
                if streaming {
                    // Chunked: no Content-Length, several writes.
                    let chunks = stride(from: 0, to: audio.count, by: 16_384).map { ByteBuffer(bytes: audio[$0..<min($0 + 16_384, audio.count)]) }
                    return Response(status: .ok, headers: [.contentType: contentType],
                                    body: ResponseBody { writer in
                                        for chunk in chunks { try await writer.write(chunk) }
                                        try await writer.finish(nil)
                                    })
                }
                return .bytes(audio, contentType: contentType)
            }
        }

        api.post("audio/transcriptions") { request, context -> Response in
            try await inference(request, context, path: "/audio/transcriptions", flavor: .transcription) { caller, request in
                let contentType = request.headers[.contentType] ?? ""
                var request = request
                let buffer = try await request.collectBody(upTo: 36 * 1024 * 1024)
                guard contentType.lowercased().hasPrefix("multipart/form-data") else {
                    if contentType.lowercased().hasPrefix("application/json") { throw SimulatorError.standard(.badRequest, "No audio file provided") }
                    throw SimulatorError.standard(.badRequest, "'Content-Type' must be 'application/json'")
                }
                let parts = try MultipartForm.parse(body: Array(buffer.readableBytesView), contentType: contentType)
                guard let file = parts.first(where: { $0.name == "file" && $0.filename != nil }) else {
                    throw SimulatorError.standard(.badRequest, "No audio file provided")
                }
                if file.data.count > 25 * 1024 * 1024 { throw SimulatorError.payloadTooLarge("File exceeds the maximum allowed size of 25 MB.") }
                let modelID = parts.first { $0.name == "model" }.map { String(decoding: $0.data, as: UTF8.self) }
                let model = try self.model(modelID, type: "asr")
                try checkPrivacy(caller, model: model)
                let responseFormat = parts.first { $0.name == "response_format" }.map { String(decoding: $0.data, as: UTF8.self) } ?? "json"
                guard ["json", "text"].contains(responseFormat) else {
                    throw SimulatorError.invalidParameters(field: "response_format", message: "Invalid enum value. Expected 'json' | 'text'")
                }
                let timestamps = parts.first { $0.name == "timestamps" }.map { String(decoding: $0.data, as: UTF8.self) } == "true"
                let filename = (file.filename ?? "").lowercased()
                let extensionOK = ["wav", "wave", "flac", "m4a", "aac", "mp4", "mp3", "ogg", "oga", "webm"].contains { filename.hasSuffix("." + $0) }
                guard extensionOK else { throw SimulatorError.standard(.badRequest, "Unsupported audio file type") }
                guard let duration = AudioSniffer.duration(of: file.data) else {
                    throw SimulatorError.standard(.badRequest, "Invalid audio file: the content does not match a supported audio format")
                }
                let text = "This is simulated transcription of \(String(format: "%.1f", duration)) seconds of audio."
                let perSecond = model.pricing["per_audio_second"]?["usd"]?.doubleValue ?? 0.0001
                let requestId = await requestID("transcription-")
                await state.charge(caller, requestId: requestId,
                                   items: [.init(modelId: model.id, micro: try Money.micro(perSecond * duration, field: "file"), sku: "\(model.id)-audio-second",
                                                 units: duration, pricePerUnit: perSecond)])
                if responseFormat == "text" { return .bytes(Array(text.utf8), contentType: "text/plain; charset=utf-8") }
                var answer = JSONObject([("text", .string(text)), ("duration", .decimal((duration * 1000).rounded() / 1000))])
                if timestamps {
                    answer["timestamps"] = Self.timestamps(text: text, duration: duration, model: model.id)
                }
                return .json(.object(answer))
            }
        }
    }
}

extension RouteServices {
    /// Timestamp arrays at each model's granularity (VENICE.md §7.2): whisper segment+word, wizper segment,
    /// scribe-v2 and stt-xai-v1 word, parakeet word+segment+char.
    static func timestamps(text: String, duration: Double, model: String) -> JSONValue {
        let words = text.split(separator: " ")
        let step = duration / Double(max(1, words.count))
        let wordRows: [JSONValue] = words.enumerated().map { index, word in
            ["word": .string(String(word)), "start": .decimal(Double(index) * step), "end": .decimal(Double(index + 1) * step)]
        }
        let segmentRows: JSONValue = [["text": .string(text), "start": 0, "end": .decimal(duration)]]
        let characters = Array(text)
        let charStep = duration / Double(max(1, characters.count))
        let charRows: [JSONValue] = characters.enumerated().map { index, character in
            ["char": .string(String(character)), "start": .decimal(Double(index) * charStep), "end": .decimal(Double(index + 1) * charStep)]
        }
        var object = JSONObject()
        switch model {
        case "openai/whisper-large-v3": object["segment"] = segmentRows; object["word"] = .array(wordRows)
        case "fal-ai/wizper": object["segment"] = segmentRows
        case "elevenlabs/scribe-v2", "stt-xai-v1": object["word"] = .array(wordRows)
        default: object["word"] = .array(wordRows); object["segment"] = segmentRows; object["char"] = .array(charRows)
        }
        return .object(object)
    }
}

/// Magic-byte check for uploads; duration from WAV headers or MP3 frames (other containers:
/// [sim] a size-based estimate).
enum AudioSniffer {
    static func duration(of bytes: [UInt8]) -> Double? {
        if let seconds = WAVCodec.duration(ofWAV: bytes) { return seconds }
        if let seconds = MP3Frames.duration(of: bytes) { return seconds }
        guard bytes.count >= 12 else { return nil }
        let head = Array(bytes.prefix(12))
        let isFLAC = head.starts(with: Array("fLaC".utf8))
        let isOgg = head.starts(with: Array("OggS".utf8))
        let isID3 = head.starts(with: Array("ID3".utf8)) || (head[0] == 0xFF && (head[1] & 0xE0) == 0xE0)
        let isMP4 = Array(head[4..<8]) == Array("ftyp".utf8)
        let isWebM = head.starts(with: [0x1A, 0x45, 0xDF, 0xA3])
        guard isFLAC || isOgg || isID3 || isMP4 || isWebM else { return nil }
        return max(1, Double(bytes.count) / 16_000)   // ~128 kbit/s
    }
}
