import X402Protocol
import HTTPTypes
import Foundation
import Hummingbird
import WalletCrypto

extension RouteServices {
    static let imageGenerateFields: Set<String> = [
        "model", "prompt", "negative_prompt", "width", "height", "aspect_ratio", "resolution", "quality", "cfg_scale", "steps",
        "seed", "variants", "style_preset", "style_references", "lora_strength", "enhance_prompt",
        "disable_prompt_optimization_thinking", "enable_web_search", "format", "return_binary", "embed_exif_metadata",
        "hide_watermark", "safe_mode", "anon_user_id", "inpaint",
    ]
    static let openAIImageFields: Set<String> = ["model", "prompt", "size", "output_format", "response_format", "moderation", "n",
                                                 "quality", "style", "background", "output_compression", "user", "anon_user_id"]

    /// What one generation produced.
    struct GeneratedImages: Sendable {
        let images: [[UInt8]]
        let contentType: String
        let violation: Bool
        let priceMicroEach: Int64
        let enhance: Bool
        let requestEcho: JSONObject
    }

    /// The simulator writes all three formats for real: lossless WebP, PNG and baseline JPEG.
    static func checkFormat(_ format: String) throws(SimulatorError) {
        guard ["webp", "png", "jpeg"].contains(format) else {
            throw SimulatorError.invalidParameters(field: "format", message: "Invalid enum value. Expected 'webp' | 'png' | 'jpeg', received '\(format)'")
        }
    }

    func generateImages(_ body: StrictBody, openAI: Bool = false) async throws -> (ModelCatalog.Model, GeneratedImages) {
        if body["inpaint"] != nil { throw SimulatorError.standard(.badRequest, "Inpainting is no longer supported on this endpoint") }
        guard let prompt = try body.string("prompt"), !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SimulatorError.invalidParameters(field: "prompt", message: "Prompt is required")
        }
        var modelID = try body.string("model")
        if openAI, let id = modelID, !id.isEmpty, catalog.model(id)?.type != "image" { modelID = "z-image-turbo" }
        let model = try self.model(modelID, type: "image")
        let rules = ImageRules(model: model)
        if prompt.count > (openAI ? 1_500 : rules.promptLimit) {
            throw SimulatorError.invalidParameters(field: "prompt", message: "Prompt must be at most \(openAI ? 1_500 : rules.promptLimit) characters")
        }
        if let negative = try body.string("negative_prompt"), negative.count > rules.promptLimit {
            throw SimulatorError.invalidParameters(field: "negative_prompt", message: "Negative prompt must be at most \(rules.promptLimit) characters")
        }
        var echo = JSONObject([("model", .string(model.id)), ("prompt", .string(prompt))])
        // Size.
        var width = try body.int("width") ?? 1024
        var height = try body.int("height") ?? 1024
        if rules.rejectsWidthHeight, body["width"] != nil || body["height"] != nil {
            throw SimulatorError.standard(.badRequest, "\(model.id) does not support width and height; use aspect_ratio and resolution")
        }
        for (name, value) in [("width", width), ("height", height)] where !(1...1280).contains(value) {
            throw SimulatorError.invalidParameters(field: name, message: "Number must be between 1 and 1280")
        }
        var resolution: String?
        if let requested = try body.string("resolution") {
            guard ["1K", "2K", "4K"].contains(requested) else {
                throw SimulatorError.invalidParameters(field: "resolution", message: "Invalid enum value. Expected '1K' | '2K' | '4K', received '\(requested)'")
            }
            if let allowed = rules.resolutions {
                guard allowed.contains(requested) else { throw SimulatorError.standard(.badRequest, "Resolution \(requested) is not supported by \(model.id)") }
                resolution = requested
            }
        }
        var quality: String?
        if let requested = try body.string("quality") {
            guard ["low", "medium", "high"].contains(requested) else {
                throw SimulatorError.invalidParameters(field: "quality", message: "Invalid enum value. Expected 'low' | 'medium' | 'high', received '\(requested)'")
            }
            if let allowed = rules.qualities {
                guard allowed.contains(requested) else { throw SimulatorError.standard(.badRequest, "Quality \(requested) is not supported by \(model.id)") }
                quality = requested
            }
        }
        if rules.isAspectModel {
            var ratio = try body.string("aspect_ratio") ?? "1:1"
            if !ImageRules.aspectRatios.contains(ratio) { ratio = "1:1" }   // not validated: falls back
            (width, height) = rules.aspectSize(ratio: ratio, resolution: resolution ?? rules.defaultResolution ?? "1K")
            echo["aspect_ratio"] = .string(ratio)
            echo["resolution"] = .optional(resolution ?? rules.defaultResolution)
            if rules.qualities != nil { echo["quality"] = .optional(quality ?? rules.defaultQuality) }
        } else {
            echo["width"] = .number(String(width))
            echo["height"] = .number(String(height))
        }
        if let cfg = try body.double("cfg_scale"), !(cfg > 0 && cfg <= 20) {
            throw SimulatorError.invalidParameters(field: "cfg_scale", message: "Number must be greater than 0 and at most 20")
        }
        if let steps = try body.int("steps") {
            guard steps >= 1 else { throw SimulatorError.invalidParameters(field: "steps", message: "Number must be at least 1") }
            if rules.takesSteps, steps > rules.stepsMax {
                throw SimulatorError.standard(.badRequest, "steps must be at most \(rules.stepsMax) for \(model.id)")
            }
            if rules.takesSteps { echo["steps"] = .number(String(steps)) }
        } else if rules.takesSteps {
            echo["steps"] = .number(String(min(rules.stepsMax, 20)))
        }
        let seed: Int64
        if let requested = try body.int("seed") {
            guard abs(requested) <= 999_999_999 else { throw SimulatorError.invalidParameters(field: "seed", message: "Number must be between -999999999 and 999999999") }
            seed = Int64(requested)
        } else {
            seed = Int64(await state.draw() * 999_999_999)
        }
        echo["seed"] = .number(String(seed))
        let returnBinary = try body.bool("return_binary") ?? false
        let variants = try body.int("variants") ?? 1
        guard (1...4).contains(variants) else { throw SimulatorError.invalidParameters(field: "variants", message: "Number must be between 1 and 4") }
        if returnBinary, variants > 1 { throw SimulatorError.standard(.badRequest, "variants greater than 1 requires return_binary to be false") }
        if let style = try body.string("style_preset") {
            guard Self.imageStyles.contains(style) else { throw SimulatorError.standard(.badRequest, "Invalid style_preset: \(style)") }
            echo["style_preset"] = .string(style)
        }
        if body["style_references"] != nil {
            throw SimulatorError.standard(.badRequest, "\(model.id) does not support style references")
        }
        if let strength = try body.int("lora_strength"), !(0...100).contains(strength) {
            throw SimulatorError.invalidParameters(field: "lora_strength", message: "Number must be between 0 and 100")
        }
        if try body.bool("enable_web_search") == true { throw SimulatorError.standard(.badRequest, "\(model.id) does not support web search") }
        if let anon = try body.string("anon_user_id"), anon.count > 128 || anon.contains("||") {
            throw SimulatorError.invalidParameters(field: "anon_user_id", message: "Invalid anon_user_id")
        }
        for flag in ["embed_exif_metadata", "hide_watermark", "safe_mode", "disable_prompt_optimization_thinking"] { _ = try body.bool(flag) }
        let enhance = try body.bool("enhance_prompt") ?? false
        let format = try body.string("format") ?? "webp"
        try Self.checkFormat(format)
        echo["format"] = .string(format)
        echo["variants"] = .number(String(variants))
        echo["return_binary"] = .bool(returnBinary)
        let violation = await state.faults.contentViolation
        var images: [[UInt8]] = []
        for index in 0..<variants {
            images.append(ImageRenderer.encoded(format: format, width: width, height: height, seed: seed &+ Int64(index), prompt: prompt,
                                                blackedOut: violation) ?? [])
        }
        return (model, GeneratedImages(images: images, contentType: "image/\(format)", violation: violation,
                                       priceMicroEach: try rules.priceMicro(resolution: resolution, quality: quality), enhance: enhance,
                                       requestEcho: echo))
    }

    /// Charges a generation: one CHARGE per image batch, plus the prompt enhancer as its own row.
    func chargeImages(_ caller: Caller, model: ModelCatalog.Model, generated: GeneratedImages, requestId: String) async {
        guard !generated.violation else { return }
        let count = generated.images.count
        var items = [SimulatorState.ChargeItem(modelId: model.id, micro: Money.product(generated.priceMicroEach, Int64(count)) ?? Money.maxMicro,
                                               sku: "\(model.id)-image-unit", units: Double(count), pricePerUnit: Money.usd(generated.priceMicroEach))]
        if generated.enhance {
            items.append(.init(modelId: "prompt-enhancer", micro: 40_000, sku: "prompt-enhancer-unit", units: 1, pricePerUnit: 0.04))
        }
        await state.charge(caller, requestId: requestId, items: items, executionMilliseconds: 120)
    }

    func registerImages(_ api: RouterGroup<Context>) {
        api.post("image/generate") { request, context -> Response in
            try await inference(request, context, path: "/image/generate") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.imageGenerateFields)
                let (model, generated) = try await generateImages(body)
                try checkPrivacy(caller, model: model)
                let requestId = await requestID("generate-image-")
                await chargeImages(caller, model: model, generated: generated, requestId: requestId)
                var headers = HTTPFields()
                headers[HTTPField.Name("x-venice-is-content-violation")!] = generated.violation ? "true" : "false"
                headers[HTTPField.Name("x-venice-is-blurred")!] = "false"
                headers[HTTPField.Name("x-venice-model-id")!] = model.id
                if generated.enhance, let prompt = try body.string("prompt") {
                    headers[HTTPField.Name("x-venice-enhanced-prompt")!] = prompt.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                }
                if try body.bool("return_binary") == true, let first = generated.images.first {
                    return .bytes(first, contentType: generated.contentType, headers: headers)
                }
                let answer: JSONValue = [
                    "id": .string(requestId),
                    "images": .array(generated.images.map { .string(Data($0).base64EncodedString()) }),
                    "timing": ["inferenceDuration": 100, "inferencePreprocessingTime": 5, "inferenceQueueTime": 10, "total": 120],
                    "request": ["success": true, "data": .object(generated.requestEcho)]]
                return .json(answer, headers: headers)
            }
        }
        api.post("images/generations") { request, context -> Response in
            try await inference(request, context, path: "/images/generations") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.openAIImageFields)
                guard let modelID = try body.string("model"), !modelID.isEmpty else {
                    throw SimulatorError.standard(.badRequest, "model is required")
                }
                if let n = try body.int("n"), n != 1 { throw SimulatorError.invalidParameters(field: "n", message: "Number must be equal to 1") }
                let sizes = ["auto": (1024, 1024), "256x256": (256, 256), "512x512": (512, 512), "1024x1024": (1024, 1024),
                             "1536x1024": (1536, 1024), "1024x1536": (1024, 1536), "1792x1024": (1792, 1024), "1024x1792": (1024, 1792)]
                let sizeName = try body.string("size") ?? "auto"
                guard let size = sizes[sizeName] else {
                    throw SimulatorError.invalidParameters(field: "size", message: "Invalid enum value, received '\(sizeName)'")
                }
                let format = try body.string("output_format") ?? "png"
                let responseFormat = try body.string("response_format") ?? "b64_json"
                guard ["b64_json", "url"].contains(responseFormat) else {
                    throw SimulatorError.invalidParameters(field: "response_format", message: "Invalid enum value. Expected 'b64_json' | 'url'")
                }
                if let moderation = try body.string("moderation"), !["auto", "low"].contains(moderation) {
                    throw SimulatorError.invalidParameters(field: "moderation", message: "Invalid enum value. Expected 'auto' | 'low'")
                }
                if let quality = try body.string("quality"), !["auto", "high", "medium", "low", "hd", "standard"].contains(quality) {
                    throw SimulatorError.invalidParameters(field: "quality", message: "Invalid enum value")
                }
                if let style = try body.string("style"), !["vivid", "natural"].contains(style) {
                    throw SimulatorError.invalidParameters(field: "style", message: "Invalid enum value")
                }
                if let background = try body.string("background"), !["transparent", "opaque", "auto"].contains(background) {
                    throw SimulatorError.invalidParameters(field: "background", message: "Invalid enum value")
                }
                if let compression = try body.int("output_compression"), !(0...100).contains(compression) {
                    throw SimulatorError.invalidParameters(field: "output_compression", message: "Number must be between 0 and 100")
                }
                // Map to the native request (width/height clamp to 1280 like Venice's own limit).
                var native = JSONObject([("model", .string(modelID)), ("prompt", body["prompt"] ?? .null), ("format", .string(format))])
                if catalog.model(modelID).map({ !ImageRules(model: $0).rejectsWidthHeight }) ?? true {
                    native["width"] = .number(String(min(size.0, 1280)))
                    native["height"] = .number(String(min(size.1, 1280)))
                }
                let (model, generated) = try await generateImages(StrictBody(object: native), openAI: true)
                try checkPrivacy(caller, model: model)
                let requestId = await requestID("generate-image-")
                await chargeImages(caller, model: model, generated: generated, requestId: requestId)
                let b64 = Data(generated.images[0]).base64EncodedString()
                let item: JSONValue = responseFormat == "url" ? ["url": .string("data:image/\(format);base64," + b64)] : ["b64_json": .string(b64)]
                return .json(["created": .number(String(await state.nowMilliseconds() / 1000)), "data": .array([item])])
            }
        }
    }
}
