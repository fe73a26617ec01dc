import Foundation
import MCP

/// image_edit, image_upscale, image_background_remove (openapi.yaml EditImageRequest,
/// UpscaleImageRequest, BackgroundRemoveImageRequest) and voice_clone (CreateClonedVoiceRequestSchema).
/// Images go to Venice as base64 JSON; the answer is one image, returned as image content.
extension ToolCatalogue {
    static var imageToolTools: [AgentTool] { [imageEdit, imageUpscale, imageBackgroundRemove, voiceClone] }

    /// The image files `image_path` may name: a host must not be able to send any readable file to Venice.
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "webp"]
    /// "File size must be less than 25MB" (the three request schemas, `image`).
    static let maxImageBytes = 25 << 20
    static let editAspectRatios = ["auto", "1:1", "3:2", "16:9", "21:9", "9:16", "2:3", "3:4", "4:5"]

    static let imageInput: [String: Value] = [
        "image_base64": Schema.string("The input image (PNG, JPEG or WebP), base64."),
        "image_path": Schema.string("Absolute path of a png, jpg or webp file (only with `venice-agent mcp` on stdio), instead of image_base64."),
    ]

    static let imageEdit = AgentTool(
        name: "image_edit", title: "Edit an image",
        description: "Edits an image as a prompt says (POST /image/edit) and returns the result as image content.",
        inputSchema: Schema.object(imageInput.merging([
            "prompt": Schema.string("What to change, e.g. \"change the sky to a sunrise\" (up to 32768 characters)."),
            "model": Schema.string("The edit model (see models_list type=inpaint).", defaultValue: "firered-image-edit"),
            "aspect_ratio": Schema.string("Output aspect ratio (model-specific; auto infers it from the image).", oneOf: editAspectRatios),
            "resolution": Schema.string("Resolution tier such as 1K, 2K or 4K (model-specific).", defaultValue: "1K"),
            "output_format": Schema.string("Output format (default: png at 1K, jpeg at 2K/4K).", oneOf: ["png", "jpeg", "webp"]),
            "safe_mode": Schema.boolean("Blur adult content (Venice's default: true)."),
            "save_to": Schema.saveTo,
        ]) { first, _ in first }, required: ["prompt"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let prompt = try arguments.requiredString("prompt")
        guard prompt.count <= 32_768 else { throw .badArgument(name: "prompt", reason: "must be at most 32768 characters") }
        let image = try imageUpload(arguments, localFiles: caller.localFiles)
        var body: [String: Value] = ["prompt": .string(prompt), "image": .string(Data(image).base64EncodedString()),
                                     "model": .string(try arguments.string("model") ?? "firered-image-edit")]
        if let ratio = try arguments.string("aspect_ratio") {
            guard editAspectRatios.contains(ratio) else { throw .badArgument(name: "aspect_ratio", reason: "must be one of \(editAspectRatios.joined(separator: ", "))") }
            body["aspect_ratio"] = .string(ratio)
        }
        if let format = try arguments.string("output_format") {
            guard ["png", "jpeg", "webp"].contains(format) else { throw .badArgument(name: "output_format", reason: "must be png, jpeg or webp") }
            body["output_format"] = .string(format)
        }
        if let resolution = try arguments.string("resolution") {
            guard (1...10).contains(resolution.count) else { throw .badArgument(name: "resolution", reason: "must be a tier such as 1K, 2K or 4K") }
            body["resolution"] = .string(resolution)
        }
        if let safe = try arguments.bool("safe_mode") { body["safe_mode"] = .bool(safe) }
        return try await imageReply(caller, arguments, path: "/api/v1/image/edit", body: body, stem: "edit")
    }

    static let imageUpscale = AgentTool(
        name: "image_upscale", title: "Upscale an image",
        description: "Upscales an image 2x or 4x (POST /image/upscale; at least 65536 pixels in, at most 16777216 out) and returns it as image content.",
        inputSchema: Schema.object(imageInput.merging([
            "scale": Schema.integer("Scale factor: 2 or 4 (4 shrinks for large images).", minimum: 2, maximum: 4, defaultValue: 2),
            "creativity": Schema.number("How much detail the upscaler adds (0–0.02).", minimum: 0, maximum: 0.02),
            "save_to": Schema.saveTo,
        ]) { first, _ in first }),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let image = try imageUpload(arguments, localFiles: caller.localFiles)
        var body: [String: Value] = ["image": .string(Data(image).base64EncodedString())]
        if let scale = try arguments.int("scale", in: 2...4) {
            guard scale == 2 || scale == 4 else { throw .badArgument(name: "scale", reason: "must be 2 or 4") }
            body["scale"] = .int(scale)
        }
        if let creativity = try arguments.double("creativity", in: 0...0.02) { body["creativity"] = .double(creativity) }
        return try await imageReply(caller, arguments, path: "/api/v1/image/upscale", body: body, stem: "upscale")
    }

    static let imageBackgroundRemove = AgentTool(
        name: "image_background_remove", title: "Remove an image's background",
        description: "Removes the background of an image (POST /image/background-remove) and returns a PNG as image content.",
        inputSchema: Schema.object(imageInput.merging(["save_to": Schema.saveTo]) { first, _ in first }),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let image = try imageUpload(arguments, localFiles: caller.localFiles)
        let body: [String: Value] = ["image": .string(Data(image).base64EncodedString())]
        return try await imageReply(caller, arguments, path: "/api/v1/image/background-remove", body: body, stem: "no-background")
    }

    static let voiceClone = AgentTool(
        name: "voice_clone", title: "Clone a voice",
        description: "Clones a voice from an audio sample (POST /audio/voices) and answers its `vv_…` handle: pass it as speech's `voice` with the same `model`. Give `file_path` (a local file) or `audio_base64` with `file_name`.",
        inputSchema: Schema.object([
            "file_path": Schema.string("Absolute path of the sample: mp3, wav, flac or m4a (tts-minimax-speech-02-hd: mp3 or wav), 5–10 s of clear speech, up to 25 MB."),
            "audio_base64": Schema.string("The sample itself, base64 (instead of file_path)."),
            "file_name": Schema.string("The sample's file name, for its type (with audio_base64), e.g. sample.wav."),
            "model": Schema.string("The speech model the voice is for.", oneOf: ["tts-chatterbox-hd", "tts-minimax-speech-02-hd"], defaultValue: "tts-chatterbox-hd"),
        ]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let (audio, fileName) = try audioUpload(arguments, localFiles: caller.localFiles)
        let model = try arguments.string("model") ?? "tts-chatterbox-hd"
        guard ["tts-chatterbox-hd", "tts-minimax-speech-02-hd"].contains(model) else {
            throw .badArgument(name: "model", reason: "must be tts-chatterbox-hd or tts-minimax-speech-02-hd")
        }
        var form = MultipartBody()
        form.addFile(name: "file", fileName: fileName, contentType: MultipartBody.audioType(fileName), data: audio)
        form.addField(name: "model", value: model)
        let reply = try await send(caller, AgentRequest(.POST, "/api/v1/audio/voices", body: form.bytes(),
                                                        contentType: form.contentType, timeoutSeconds: 600))
        let answer = try JSONCoding.object(reply)
        guard let handle = answer["id"]?.stringValue else { throw .unexpectedAnswer("no voice id in the answer") }
        let summary = "voice \(handle) for \(answer["model"]?.stringValue ?? model): call speech with voice=\(handle) and model=\(answer["model"]?.stringValue ?? model)"
        return ToolResults.json(.object(answer), summary: summary, warning: reply.budgetWarning)
    }

    /// Posts `body` and returns the one image of the answer (binary `image/*`), saved when asked.
    static func imageReply(_ caller: any AgentCaller, _ arguments: ToolArguments, path: String,
                           body: [String: Value], stem: String) async throws(ToolFailure) -> CallTool.Result {
        let folder = try arguments.string("save_to").map { path throws(ToolFailure) in try MediaFolder(path, localFiles: caller.localFiles) }
        let reply = try await send(caller, .post(path, json: body, timeoutSeconds: 600))
        let mimeType = MediaType.image(reply.body)
        guard !reply.isJSON, mimeType.hasPrefix("image/") else { throw .unexpectedAnswer("expected an image, got \(reply.contentType)") }
        var content = [ToolResults.image(reply.body)]
        if let folder {
            let saved = try folder.save(reply.body, stem: "\(stem)-\(UUID().uuidString.prefix(8).lowercased())",
                                        fileExtension: MediaType.fileExtension(mimeType))
            content.append(.text(text: "saved: \(saved)", annotations: nil, _meta: nil))
        }
        return CallTool.Result(content: ToolResults.withWarning(content, reply.budgetWarning), isError: false)
    }

    /// The input image's bytes, from `image_path` (stdio only) or `image_base64`.
    static func imageUpload(_ arguments: ToolArguments, localFiles: Bool) throws(ToolFailure) -> [UInt8] {
        if let path = try arguments.string("image_path") {
            // Inside the agent (`/mcp`) a client must never read the owner's files.
            guard localFiles else {
                throw .badArgument(name: "image_path", reason: "is available only with `venice-agent mcp` on stdio; over /mcp send image_base64")
            }
            return try LocalFile.read(path, argument: "image_path", extensions: imageExtensions, maxBytes: maxImageBytes - 1,
                                      kind: "a PNG, JPEG or WebP image", sniff: { MediaType.image($0).hasPrefix("image/") })
        }
        guard let encoded = try arguments.string("image_base64") else {
            throw .badArgument(name: "image_base64", reason: localFiles ? "or `image_path` is required" : "is required")
        }
        guard encoded.count <= (maxImageBytes / 3 + 1) * 4 else { throw .badArgument(name: "image_base64", reason: "is larger than Venice's 25 MB limit") }
        guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw .badArgument(name: "image_base64", reason: "must be base64")
        }
        let bytes = [UInt8](data)
        guard MediaType.image(bytes).hasPrefix("image/") else { throw .badArgument(name: "image_base64", reason: "must be a PNG, JPEG or WebP image") }
        return bytes
    }
}
