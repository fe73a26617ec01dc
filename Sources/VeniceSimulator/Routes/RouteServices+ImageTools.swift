import Foundation
import HTTPTypes
import Hummingbird
import WalletCrypto
import X402Protocol

/// `/image/edit`, `/image/upscale` and `/image/background-remove`: an input image (JSON base64 or a
/// multipart file) in, one image out. Source: openapi.yaml (veniceai/api-docs `swagger.yaml`) paths
/// `/image/edit`, `/image/upscale`, `/image/background-remove` and their request schemas
/// EditImageRequest, UpscaleImageRequest, BackgroundRemoveImageRequest.
extension RouteServices {
    static let editFields: Set<String> = ["aspect_ratio", "disable_prompt_optimization_thinking", "enhance_prompt", "resolution",
                                          "image", "model", "modelId", "output_format", "prompt", "safe_mode"]
    static let upscaleFields: Set<String> = ["creativity", "image", "scale"]
    static let backgroundRemoveFields: Set<String> = ["image", "image_url"]
    /// EditImageRequest `aspect_ratio` enum.
    static let editAspectRatios: Set<String> = ["auto", "1:1", "3:2", "16:9", "21:9", "9:16", "2:3", "3:4", "4:5"]
    /// "File size must be less than 25MB" (all three request schemas, `image`).
    static let maxImageBytes = 25 * 1024 * 1024
    /// "Image dimensions must be at least 65536 pixels" (EditImageRequest, UpscaleImageRequest `image`).
    static let minImagePixels = 65_536
    /// EditImageRequest `image`: "must not exceed 33177600 pixels".
    static let maxEditPixels = 33_177_600
    /// UpscaleImageRequest `image`: "final dimensions after scaling must not exceed 16777216 pixels".
    static let maxUpscaledPixels = 16_777_216
    /// [sim] The longest side read from a header before any pixel count is taken (an image of
    /// 65536 × 506 is already over every route's pixel cap).
    static let maxSide = 65_536
    /// `/image/upscale` and `/image/background-remove` name no model; Venice's `/models` lists their
    /// prices as `upscaler` (type upscale, `pricing.upscale.2x|4x`) and `bria-bg-remover`
    /// (type image, `pricing.generation`), as our catalog does.
    static let upscalerModel = "upscaler"
    static let backgroundRemoverModel = "bria-bg-remover"

    /// A request of these routes, JSON or multipart, as fields plus the uploaded image file (if any).
    struct ImageToolInput: Sendable {
        let body: StrictBody
        let file: [UInt8]?
    }

    /// Reads JSON (keys outside `allowed` → 400, the schemas set `additionalProperties: false`) or
    /// multipart/form-data (text parts become string fields, the `image` file part the file). Any other
    /// content type → 415 "Invalid request content-type" (the routes' documented 415).
    func readImageToolInput(_ request: Request, allowed: Set<String>) async throws -> ImageToolInput {
        let contentType = request.headers[.contentType] ?? ""
        if contentType.lowercased().hasPrefix("application/json") {
            return ImageToolInput(body: try await StrictBody.read(request, allowed: allowed), file: nil)
        }
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw SimulatorError.standard(.unsupportedMediaType, "Invalid request content-type: send application/json or multipart/form-data")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: StrictBody.maxJSONBytes + 1)
        guard buffer.readableBytes <= StrictBody.maxJSONBytes else {
            throw SimulatorError.standard(.contentTooLarge, "Request body exceeds the maximum allowed size.")
        }
        let parts = try MultipartForm.parse(body: Array(buffer.readableBytesView), contentType: contentType)
        var fields = JSONObject()
        var file: [UInt8]?
        for part in parts {
            guard allowed.contains(part.name) else {
                throw SimulatorError.invalidParameters(field: nil, message: "Unrecognized key(s) in object: '\(part.name)'")
            }
            if part.name == "image", part.filename != nil { file = part.data; continue }
            fields[part.name] = .string(String(decoding: part.data, as: UTF8.self))
        }
        return ImageToolInput(body: StrictBody(object: fields), file: file)
    }

    /// The input image's bytes and size: a file part, else `image` as base64 (a `data:` URL prefix is
    /// accepted). An http(s) URL is documented for `/image/edit`; [sim] the simulator fetches nothing
    /// and answers 400 naming the field.
    func inputImage(_ input: ImageToolInput, required: Bool = true) throws -> (bytes: [UInt8], width: Int, height: Int)? {
        var bytes = input.file
        if bytes == nil, let text = try input.body.string("image") {
            if text.hasPrefix("http://") || text.hasPrefix("https://") {
                throw SimulatorError.invalidParameters(field: "image", message: "venice-sim does not fetch image URLs; send the image as base64 or a file")
            }
            let payload = text.hasPrefix("data:") ? String(text.drop(while: { $0 != "," }).dropFirst()) : text
            guard let data = Data(base64Encoded: payload, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw SimulatorError.invalidParameters(field: "image", message: "Invalid image: expected a base64-encoded image")
            }
            bytes = [UInt8](data)
        }
        guard let bytes else {
            if !required { return nil }
            throw SimulatorError.invalidParameters(field: "image", message: "Image is required")
        }
        guard bytes.count < Self.maxImageBytes else { throw SimulatorError.payloadTooLarge("File size must be less than 25MB.") }
        guard let size = ImageSize.of(bytes) else {
            throw SimulatorError.invalidParameters(field: "image", message: "Invalid image: expected a PNG, JPEG or WebP image")
        }
        // A header may claim any size: bound each side before multiplying (no route takes more than 33177600 pixels).
        guard size.width <= Self.maxSide, size.height <= Self.maxSide else {
            throw SimulatorError.invalidParameters(field: "image", message: "Image dimensions must not exceed 33177600 pixels")
        }
        return (bytes, size.width, size.height)
    }

    /// Venice's image headers (openapi.yaml `/image/edit` 200 headers).
    static func imageHeaders(model: ModelCatalog.Model, violation: Bool) -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("x-venice-is-content-violation")!] = violation ? "true" : "false"
        headers[HTTPField.Name("x-venice-model-id")!] = model.id
        headers[HTTPField.Name("x-venice-model-name")!] = model.name
        return headers
    }

    /// A priced figure of the catalog (`{"usd": …}`) in micro-USD; a model without it → 500 before any charge.
    func catalogMicro(_ figure: JSONValue?, model: String) throws -> Int64 {
        guard let usd = figure?["usd"]?.doubleValue else {
            throw SimulatorError.standard(.internalServerError, "venice-sim has no price for \(model)")
        }
        return try Money.micro(usd, field: "price")
    }

    func registerImageTools(_ api: RouterGroup<Context>) {
        api.post("image/edit") { request, context -> Response in
            try await inference(request, context, path: "/image/edit") { caller, request in
                let input = try await readImageToolInput(request, allowed: Self.editFields)
                return try await editImage(caller, input)
            }
        }
        api.post("image/upscale") { request, context -> Response in
            try await inference(request, context, path: "/image/upscale") { caller, request in
                let input = try await readImageToolInput(request, allowed: Self.upscaleFields)
                return try await upscaleImage(caller, input)
            }
        }
        api.post("image/background-remove") { request, context -> Response in
            try await inference(request, context, path: "/image/background-remove") { caller, request in
                let input = try await readImageToolInput(request, allowed: Self.backgroundRemoveFields)
                return try await removeBackground(caller, input)
            }
        }
    }

    /// POST /image/edit (openapi.yaml EditImageRequest): `prompt` 1–32768 characters and `image`
    /// required; `model` (else deprecated `modelId`, else `firered-image-edit`) must be an edit
    /// (`inpaint`) model; `aspect_ratio` from its enum; `output_format` jpeg|jpg|png|webp, default PNG
    /// at 1K and JPEG at 2K/4K; `resolution` default "1K". Charge: the model's `pricing.resolutions[res]`
    /// when listed, else `pricing.inpaint` (our catalog, from Venice's `/models?type=inpaint`).
    /// [sim] The edited image keeps the input's dimensions; `resolution` outside a model's listed tiers → 400.
    func editImage(_ caller: Caller, _ input: ImageToolInput) async throws -> Response {
        let body = input.body
        guard let prompt = try body.string("prompt"), !prompt.isEmpty else {
            throw SimulatorError.invalidParameters(field: "prompt", message: "Prompt is required")
        }
        guard prompt.count <= 32_768 else {
            throw SimulatorError.invalidParameters(field: "prompt", message: "String must contain at most 32768 character(s)")
        }
        let model = try self.model(try body.string("model") ?? body.string("modelId") ?? "firered-image-edit", type: "inpaint")
        try checkPrivacy(caller, model: model)
        if let ratio = try body.string("aspect_ratio"), !Self.editAspectRatios.contains(ratio) {
            throw SimulatorError.invalidParameters(field: "aspect_ratio", message: "Invalid enum value. Expected 'auto' | '1:1' | '3:2' | '16:9' | '21:9' | '9:16' | '2:3' | '3:4' | '4:5', received '\(ratio)'")
        }
        let resolution = try body.string("resolution") ?? "1K"
        guard (1...10).contains(resolution.count) else {
            throw SimulatorError.invalidParameters(field: "resolution", message: "String must contain at most 10 character(s)")
        }
        let tiers = model.pricing["resolutions"]?.objectValue
        if let tiers, tiers[resolution] == nil {
            throw SimulatorError.standard(.badRequest, "Resolution \(resolution) is not supported by \(model.id)")
        }
        var format = try body.string("output_format") ?? (resolution == "1K" ? "png" : "jpeg")
        if format == "jpg" { format = "jpeg" }
        guard ["jpeg", "png", "webp"].contains(format) else {
            throw SimulatorError.invalidParameters(field: "output_format", message: "Invalid enum value. Expected 'jpeg' | 'png' | 'webp', received '\(format)'")
        }
        for flag in ["safe_mode", "enhance_prompt", "disable_prompt_optimization_thinking"] { _ = try Self.flag(body, flag) }
        guard let image = try inputImage(input) else { throw SimulatorError.invalidParameters(field: "image", message: "Image is required") }
        let pixels = image.width * image.height
        guard pixels >= Self.minImagePixels else {
            throw SimulatorError.invalidParameters(field: "image", message: "Image dimensions must be at least 65536 pixels")
        }
        guard pixels <= Self.maxEditPixels else {
            throw SimulatorError.invalidParameters(field: "image", message: "Image dimensions must not exceed 33177600 pixels")
        }
        let price = try catalogMicro(tiers?[resolution] ?? model.pricing["inpaint"], model: model.id)
        let violation = await state.faults.contentViolation
        let seed = Int64(Checksums.crc32(image.bytes) & 0x3FFF_FFFF)
        guard let edited = ImageRenderer.encoded(format: format, width: image.width, height: image.height, seed: seed,
                                                 prompt: prompt, blackedOut: violation) else {
            throw SimulatorError.standard(.internalServerError, "venice-sim cannot encode \(format)")
        }
        if !violation {
            await state.charge(caller, requestId: await requestID("edit-image-"),
                               items: [.init(modelId: model.id, micro: price, sku: "\(model.id)-inpaint-unit", units: 1, pricePerUnit: Money.usd(price))],
                               executionMilliseconds: 120)
        }
        return .bytes(edited, contentType: "image/\(format)", headers: Self.imageHeaders(model: model, violation: violation))
    }

    /// POST /image/upscale (openapi.yaml UpscaleImageRequest): `image` required, ≥ 65536 pixels;
    /// `scale` 2 or 4 (default 2; "Must be either 2 or 4"), reduced when the result would pass
    /// 16777216 pixels; `creativity` clamped to 0–0.02. Answers `image/png`. Charge: `upscaler`'s
    /// `pricing.upscale["<scale>x"]` for the requested scale. [sim] A result over the cap even at 2x → 400.
    func upscaleImage(_ caller: Caller, _ input: ImageToolInput) async throws -> Response {
        let body = input.body
        let scale: Int
        if let raw = body["scale"] {
            let number = raw.doubleValue ?? raw.stringValue.flatMap { Double($0) }
            guard let number, number == 2 || number == 4 else {
                throw SimulatorError.invalidParameters(field: "scale", message: "Scale must be either 2 or 4")
            }
            scale = Int(number)
        } else {
            scale = 2
        }
        if let raw = body["creativity"], raw.doubleValue ?? raw.stringValue.flatMap({ Double($0) }) == nil {
            throw SimulatorError.invalidParameters(field: "creativity", message: "Expected number")
        }
        guard let image = try inputImage(input) else { throw SimulatorError.invalidParameters(field: "image", message: "Image is required") }
        let pixels = image.width * image.height
        guard pixels >= Self.minImagePixels else {
            throw SimulatorError.invalidParameters(field: "image", message: "Image dimensions must be at least 65536 pixels")
        }
        var applied = scale
        while applied > 2, pixels * applied * applied > Self.maxUpscaledPixels { applied -= 1 }
        guard pixels * applied * applied <= Self.maxUpscaledPixels else {
            throw SimulatorError.invalidParameters(field: "image", message: "Final dimensions after scaling must not exceed 16777216 pixels")
        }
        guard let upscaler = catalog.model(Self.upscalerModel) else {
            throw SimulatorError.standard(.internalServerError, "venice-sim has no upscaler model")
        }
        let price = try catalogMicro(upscaler.pricing["upscale"]?["\(scale)x"], model: upscaler.id)
        let seed = Int64(Checksums.crc32(image.bytes) & 0x3FFF_FFFF)
        let result = ImageRenderer.png(width: image.width * applied, height: image.height * applied, seed: seed, prompt: "upscale")
        await state.charge(caller, requestId: await requestID("upscale-"),
                           items: [.init(modelId: upscaler.id, micro: price, sku: "\(upscaler.id)-upscale-\(scale)x", units: 1, pricePerUnit: Money.usd(price))],
                           executionMilliseconds: 120)
        return .bytes(result, contentType: "image/png")
    }

    /// POST /image/background-remove (openapi.yaml BackgroundRemoveImageRequest): `image` (file or
    /// base64) or `image_url`, one of them; answers a PNG ("Returns a PNG image with transparent
    /// background"). Charge: `bria-bg-remover`'s `pricing.generation`. [sim] Both or neither → 400;
    /// `image_url` is not fetched (400); the PNG is the input's size, opaque (our encoder writes RGB).
    func removeBackground(_ caller: Caller, _ input: ImageToolInput) async throws -> Response {
        let hasImage = input.file != nil || input.body["image"] != nil
        let url = try input.body.string("image_url")
        guard hasImage != (url != nil) else {
            throw SimulatorError.invalidParameters(field: "image", message: "Provide either image or image_url")
        }
        if url != nil {
            throw SimulatorError.invalidParameters(field: "image_url", message: "venice-sim does not fetch image URLs; send the image as base64 or a file")
        }
        guard let image = try inputImage(input) else { throw SimulatorError.invalidParameters(field: "image", message: "Image is required") }
        guard let remover = catalog.model(Self.backgroundRemoverModel) else {
            throw SimulatorError.standard(.internalServerError, "venice-sim has no background remover model")
        }
        let price = try catalogMicro(remover.pricing["generation"], model: remover.id)
        let seed = Int64(Checksums.crc32(image.bytes) & 0x3FFF_FFFF)
        let result = ImageRenderer.png(width: image.width, height: image.height, seed: seed, prompt: "background removed")
        await state.charge(caller, requestId: await requestID("bg-remove-"),
                           items: [.init(modelId: remover.id, micro: price, sku: "\(remover.id)-unit", units: 1, pricePerUnit: Money.usd(price))],
                           executionMilliseconds: 120)
        return .bytes(result, contentType: "image/png")
    }

    /// A boolean field, JSON `true`/`false` or the form strings "true"/"false".
    static func flag(_ body: StrictBody, _ key: String) throws -> Bool? {
        guard let value = body[key] else { return nil }
        if let flag = value.boolValue { return flag }
        switch value.stringValue {
        case "true": return true
        case "false": return false
        default: throw SimulatorError.invalidParameters(field: key, message: "Expected boolean")
        }
    }
}

/// Width and height from an image's header: PNG (IHDR), JPEG (SOFn) or WebP (VP8X, VP8L, VP8).
enum ImageSize {
    static func of(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        if bytes.count >= 24, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            return (be32(bytes, 16), be32(bytes, 20))
        }
        if bytes.starts(with: [0xFF, 0xD8]) { return jpeg(bytes) }
        if bytes.count >= 30, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return webp(bytes) }
        return nil
    }

    private static func be32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    private static func jpeg(_ b: [UInt8]) -> (width: Int, height: Int)? {
        var i = 2
        while i + 9 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                let height = Int(b[i + 5]) << 8 | Int(b[i + 6])
                let width = Int(b[i + 7]) << 8 | Int(b[i + 8])
                return width > 0 && height > 0 ? (width, height) : nil
            }
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }

    private static func webp(_ b: [UInt8]) -> (width: Int, height: Int)? {
        let chunk = String(decoding: b[12..<16], as: UTF8.self)
        switch chunk {
        case "VP8X":
            let width = 1 + (Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16)
            let height = 1 + (Int(b[27]) | Int(b[28]) << 8 | Int(b[29]) << 16)
            return (width, height)
        case "VP8L":
            guard b[20] == 0x2F else { return nil }
            let bits = Int(b[21]) | Int(b[22]) << 8 | Int(b[23]) << 16 | Int(b[24]) << 24
            return (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
        case "VP8 ":
            return ((Int(b[26]) | Int(b[27]) << 8) & 0x3FFF, (Int(b[28]) | Int(b[29]) << 8) & 0x3FFF)
        default:
            return nil
        }
    }
}
