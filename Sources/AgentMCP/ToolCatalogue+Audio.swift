import Foundation
import MCP

/// speech and transcription (openapi.yaml `/audio/speech`, `/audio/transcriptions`).
extension ToolCatalogue {
    static var audioTools: [AgentTool] { [speech, transcription] }

    static let speechFormats = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
    /// The files `transcription` reads from a path (openapi.yaml `/audio/transcriptions`).
    static let audioExtensions: Set<String> = ["wav", "wave", "flac", "m4a", "aac", "mp4", "mp3", "ogg", "oga", "webm"]
    /// Venice's limit on an uploaded audio file (openapi.yaml `/audio/transcriptions`: 25 MB).
    static let maxUploadBytes = 25 << 20

    static let speech = AgentTool(
        name: "speech", title: "Text to speech",
        description: "Speaks a text (POST /audio/speech) and returns the audio as an embedded resource.",
        inputSchema: Schema.object([
            "input": Schema.string("The text to speak (up to 4096 characters)."),
            "model": Schema.string("The speech model (see voices for each model's voices).", defaultValue: "tts-kokoro"),
            "voice": Schema.string("A voice of the model (default: the model's)."),
            "response_format": Schema.string("Audio format (several models speak mp3 only; default: the model's).", oneOf: speechFormats),
            "speed": Schema.number("Speaking speed.", minimum: 0.25, maximum: 4),
            "save_to": Schema.saveTo,
        ], required: ["input"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let input = try arguments.requiredString("input")
        guard input.count <= 4096 else { throw .badArgument(name: "input", reason: "must be at most 4096 characters") }
        var body: [String: Value] = ["input": .string(input), "model": .string(try arguments.string("model") ?? "tts-kokoro")]
        if let format = try arguments.string("response_format") {
            guard speechFormats.contains(format) else { throw .badArgument(name: "response_format", reason: "must be one of \(speechFormats.joined(separator: ", "))") }
            body["response_format"] = .string(format)
        }
        if let voice = try arguments.string("voice") { body["voice"] = .string(voice) }
        if let speed = try arguments.double("speed", in: 0.25...4) { body["speed"] = .double(speed) }
        let folder = try arguments.string("save_to").map { path throws(ToolFailure) in try MediaFolder(path, localFiles: caller.localFiles) }
        let reply = try await send(caller, .post("/api/v1/audio/speech", json: body, timeoutSeconds: 600))
        guard !reply.isJSON, !reply.body.isEmpty else { throw .unexpectedAnswer("expected audio, got \(reply.contentType)") }
        let mimeType = MediaType.bare(reply.contentType)
        let fileExtension = MediaType.fileExtension(mimeType)
        let stem = "speech-\(UUID().uuidString.prefix(8).lowercased())"
        var content = [ToolResults.media(reply.body, mimeType: mimeType, uri: "venice://audio/\(stem).\(fileExtension)")]
        if let folder {
            let path = try folder.save(reply.body, stem: stem, fileExtension: fileExtension)
            content.append(.text(text: "saved: \(path)", annotations: nil, _meta: nil))
        }
        return CallTool.Result(content: ToolResults.withWarning(content, reply.budgetWarning), isError: false)
    }

    static let transcription = AgentTool(
        name: "transcription", title: "Speech to text",
        description: "Transcribes an audio file (POST /audio/transcriptions). Give `file_path` (a local file) or `audio_base64` with `file_name`.",
        inputSchema: Schema.object([
            "file_path": Schema.string("Absolute path of a wav, flac, m4a, aac, mp4, mp3, ogg or webm file (up to 25 MB)."),
            "audio_base64": Schema.string("The audio itself, base64 (instead of file_path)."),
            "file_name": Schema.string("The audio's file name, for its type (with audio_base64), e.g. clip.wav."),
            "model": Schema.string("The transcription model.", defaultValue: "nvidia/parakeet-tdt-0.6b-v3"),
            "response_format": Schema.string("json or text.", oneOf: ["json", "text"], defaultValue: "json"),
            "timestamps": Schema.boolean("Word and segment timestamps (json only)."),
            "language": Schema.string("ISO 639-1 language of the audio (optional)."),
        ]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let (audio, fileName) = try audioUpload(arguments, localFiles: caller.localFiles)
        let format = try arguments.string("response_format") ?? "json"
        guard ["json", "text"].contains(format) else { throw .badArgument(name: "response_format", reason: "must be json or text") }
        var form = MultipartBody()
        form.addFile(name: "file", fileName: fileName, contentType: MultipartBody.audioType(fileName), data: audio)
        form.addField(name: "model", value: try arguments.string("model") ?? "nvidia/parakeet-tdt-0.6b-v3")
        form.addField(name: "response_format", value: format)
        if try arguments.bool("timestamps") == true { form.addField(name: "timestamps", value: "true") }
        if let language = try arguments.string("language") {
            guard language.count <= 8, language.allSatisfy({ $0.isLetter || $0 == "-" }) else {
                throw .badArgument(name: "language", reason: "must be a language code such as en")
            }
            form.addField(name: "language", value: language)
        }
        let reply = try await send(caller, AgentRequest(.POST, "/api/v1/audio/transcriptions", body: form.bytes(),
                                                        contentType: form.contentType, timeoutSeconds: 600))
        guard reply.isJSON else { return ToolResults.text(String(decoding: reply.body, as: UTF8.self), warning: reply.budgetWarning) }
        let answer = try JSONCoding.object(reply)
        guard let text = answer["text"]?.stringValue else { throw .unexpectedAnswer("no text in the transcription answer") }
        if answer["timestamps"] != nil { return ToolResults.json(.object(answer), summary: text, warning: reply.budgetWarning) }
        return ToolResults.text(text, warning: reply.budgetWarning)
    }

    /// The audio bytes and a file name, from `file_path` or `audio_base64` + `file_name`.
    static func audioUpload(_ arguments: ToolArguments, localFiles: Bool) throws(ToolFailure) -> ([UInt8], String) {
        let upload = try FileUpload.read(arguments, localFiles: localFiles, pathArgument: "file_path", base64Argument: "audio_base64",
                                         extensions: audioExtensions, maxBytes: maxUploadBytes, kind: "an audio", sniff: MediaType.isAudio)
        if let fileName = upload.fileName { return (upload.bytes, fileName) }
        return (upload.bytes, try arguments.string("file_name") ?? "audio.wav")
    }
}
