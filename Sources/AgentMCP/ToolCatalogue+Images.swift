import Foundation
import MCP

/// image_generate and image_styles (openapi.yaml GenerateImageRequest, `/image/styles`).
extension ToolCatalogue {
    static var imageTools: [AgentTool] { [imageGenerate, imageStyles] }

    static let imageGenerate = AgentTool(
        name: "image_generate", title: "Generate images",
        description: "Generates 1–4 images from a prompt (POST /image/generate) and returns them as image content (base64).",
        inputSchema: Schema.object([
            "prompt": Schema.string("What to draw (model-specific character limit)."),
            "model": Schema.string("The image model (see models_list type=image).", defaultValue: "z-image-turbo"),
            "width": Schema.integer("Width in pixels (pixel models).", minimum: 1, maximum: 1280, defaultValue: 1024),
            "height": Schema.integer("Height in pixels (pixel models).", minimum: 1, maximum: 1280, defaultValue: 1024),
            "aspect_ratio": Schema.string("Aspect ratio such as 16:9 (aspect-ratio models)."),
            "resolution": Schema.string("1K, 2K or 4K (resolution models)."),
            "variants": Schema.integer("How many images.", minimum: 1, maximum: 4, defaultValue: 1),
            "seed": Schema.integer("Seed for reproducible images.", minimum: -999_999_999, maximum: 999_999_999),
            "cfg_scale": Schema.number("How closely to follow the prompt.", minimum: 0, maximum: 20),
            "steps": Schema.integer("Inference steps (models that take them).", minimum: 1),
            "negative_prompt": Schema.string("What the image should not show."),
            "style_preset": Schema.string("A style from image_styles or venice://styles."),
            "format": Schema.string("Image format.", oneOf: ["png", "jpeg", "webp"], defaultValue: "png"),
            "safe_mode": Schema.boolean("Blur adult content (Venice's default: true)."),
            "save_to": Schema.saveTo,
        ], required: ["prompt"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["prompt": .string(try arguments.requiredString("prompt")),
                                     "model": .string(try arguments.string("model") ?? "z-image-turbo"),
                                     "format": .string(try arguments.string("format") ?? "png")]
        guard ["png", "jpeg", "webp"].contains(body["format"]?.stringValue ?? "") else {
            throw .badArgument(name: "format", reason: "must be png, jpeg or webp")
        }
        if let v = try arguments.int("width", in: 1...1280) { body["width"] = .int(v) }
        if let v = try arguments.int("height", in: 1...1280) { body["height"] = .int(v) }
        if let v = try arguments.int("variants", in: 1...4) { body["variants"] = .int(v) }
        if let v = try arguments.int("seed", in: -999_999_999...999_999_999) { body["seed"] = .int(v) }
        if let v = try arguments.int("steps", in: 1...1000) { body["steps"] = .int(v) }
        if let v = try arguments.double("cfg_scale", in: 0...20) { body["cfg_scale"] = .double(v) }
        if let v = try arguments.bool("safe_mode") { body["safe_mode"] = .bool(v) }
        for name in ["aspect_ratio", "resolution", "negative_prompt", "style_preset"] {
            if let v = try arguments.string(name) { body[name] = .string(v) }
        }
        let folder = try arguments.string("save_to").map { path throws(ToolFailure) in try MediaFolder(path, localFiles: caller.localFiles) }
        let reply = try await send(caller, .post("/api/v1/image/generate", json: body, timeoutSeconds: 600))
        let answer = try JSONCoding.object(reply)
        let encoded = answer["images"]?.arrayValue ?? []
        guard !encoded.isEmpty else { throw .unexpectedAnswer("the image answer held no images") }
        var content: [Tool.Content] = []
        var saved: [String] = []
        for (index, item) in encoded.enumerated() {
            guard let text = item.stringValue, let data = Data(base64Encoded: text) else {
                throw .unexpectedAnswer("image \(index + 1) is not base64")
            }
            let bytes = [UInt8](data)
            content.append(ToolResults.image(bytes))
            if let folder {
                let stem = "\(answer["id"]?.stringValue ?? "image")-\(index + 1)"
                saved.append(try folder.save(bytes, stem: stem, fileExtension: MediaType.fileExtension(MediaType.image(bytes))))
            }
        }
        if !saved.isEmpty { content.append(.text(text: "saved: " + saved.joined(separator: ", "), annotations: nil, _meta: nil)) }
        return CallTool.Result(content: ToolResults.withWarning(content, reply.budgetWarning), isError: false)
    }

    static let imageStyles = AgentTool(
        name: "image_styles", title: "Image style presets",
        description: "Lists the style presets image_generate takes as style_preset (GET /image/styles).",
        inputSchema: Schema.object([:]), readOnly: true, spends: false
    ) { _, caller throws(ToolFailure) in
        let styles = try await styleNames(caller)
        return ToolResults.text(styles.joined(separator: "\n"))
    }

    static func styleNames(_ caller: any AgentCaller) async throws(ToolFailure) -> [String] {
        let reply = try await send(caller, .get("/api/v1/image/styles"))
        let answer = try JSONCoding.object(reply)
        return (answer["data"]?.arrayValue ?? []).compactMap(\.stringValue)
    }
}
