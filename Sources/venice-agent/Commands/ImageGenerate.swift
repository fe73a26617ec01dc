import ArgumentParser
import Foundation
import WalletCrypto

/// `venice-agent image generate PROMPT`: writes the images to files and prints their paths.
struct ImageGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a prompt; writes them under --out and prints their paths."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "What to draw.") var prompt: String
    @Option(help: "Image model.") var model = "z-image-turbo"
    @Option(help: "Width x height in pixels, e.g. 1024x1024 (pixel models).") var size: String?
    @Option(help: "Aspect ratio, e.g. 16:9 (aspect-ratio models).") var aspectRatio: String?
    @Option(help: "Resolution 1K, 2K or 4K (resolution models).") var resolution: String?
    @Option(help: "Number of images, 1–4.") var variants: Int?
    @Option(help: "Seed for reproducible images.") var seed: Int?
    @Option(help: "How closely to follow the prompt (0–20].") var cfgScale: Double?
    @Option(help: "Inference steps (models that take them).") var steps: Int?
    @Option(help: "What the image should not show.") var negativePrompt: String?
    @Option(help: "A style preset from `venice-agent image styles`.") var style: String?
    @Option(help: "png, jpeg or webp.") var format = "png"
    @Option(help: "Blur adult content: true or false.") var safeMode: Bool?
    @Option(help: "Folder for the images.") var out = "."

    func validate() throws {
        if let size, ImageGenerateCommand.parseSize(size) == nil {
            throw ValidationError("--size takes WIDTHxHEIGHT in pixels, e.g. 1024x1024")
        }
        if let variants, !(1...4).contains(variants) { throw ValidationError("--variants must be between 1 and 4") }
        guard ["png", "jpeg", "webp"].contains(format) else { throw ValidationError("--format must be png, jpeg or webp") }
    }

    func run() async throws {
        try await ClientCommands.run { try await ImageGenerateCommand.run(self) }
    }
}

enum ImageGenerateCommand {
    static func parseSize(_ text: String) -> (Int, Int)? {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    static func body(_ c: ImageGenerate) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("model", .string(c.model)), ("prompt", .string(c.prompt)), ("format", .string(c.format))]
        if let size = c.size, let (w, h) = parseSize(size) {
            pairs += [("width", .number(String(w))), ("height", .number(String(h)))]
        }
        if let v = c.aspectRatio { pairs.append(("aspect_ratio", .string(v))) }
        if let v = c.resolution { pairs.append(("resolution", .string(v))) }
        if let v = c.variants { pairs.append(("variants", .number(String(v)))) }
        if let v = c.seed { pairs.append(("seed", .number(String(v)))) }
        if let v = c.cfgScale { pairs.append(("cfg_scale", .number(String(v)))) }
        if let v = c.steps { pairs.append(("steps", .number(String(v)))) }
        if let v = c.negativePrompt { pairs.append(("negative_prompt", .string(v))) }
        if let v = c.style { pairs.append(("style_preset", .string(v))) }
        if let v = c.safeMode { pairs.append(("safe_mode", .bool(v))) }
        return .object(JSONObject(pairs))
    }

    static func run(_ c: ImageGenerate) async throws {
        let response = try await ProgressIndicator.run("generating \(c.variants ?? 1) image(s) with \(c.model)") { _ in
            try await c.options.client.call(.POST, "/api/v1/image/generate", json: body(c))
        }
        let r = try ClientCommands.object(response)
        let id = r["id"]?.stringValue ?? "image"
        var paths: [String] = []
        for (i, encoded) in (r["images"]?.arrayValue ?? []).enumerated() {
            guard let text = encoded.stringValue, let data = Data(base64Encoded: text) else {
                throw AgentClientError.usage("image \(i + 1) in the answer is not base64")
            }
            let bytes = [UInt8](data)
            let name = "\(safeFileName(id))-\(i + 1).\(fileExtension(bytes, fallback: c.format))"
            let path = (c.out as NSString).appendingPathComponent(name)
            try ClientCommands.write(bytes, to: path)
            paths.append(path)
        }
        guard !paths.isEmpty else { throw AgentClientError.usage("the answer held no images") }
        if response.header("x-venice-is-content-violation") == "true" {
            KeyCommands.printError("the prompt was refused by the content policy; the image is a placeholder (not charged)")
        }
        if c.options.json {
            let out: JSONValue = ["id": .string(id), "files": .array(paths.map { .string($0) })]
            print(out.serialized())
        } else {
            paths.forEach { print($0) }
        }
    }

    /// The extension the bytes really have (magic numbers), since some models ignore `format`.
    static func fileExtension(_ bytes: [UInt8], fallback: String) -> String {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpg" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "webp" }
        return fallback == "jpeg" ? "jpg" : fallback
    }

    static func safeFileName(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
    }
}
