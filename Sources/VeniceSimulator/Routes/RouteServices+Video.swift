import X402Protocol
import Foundation
import Hummingbird
import WalletCrypto

/// `/video/quote` and the admission half of `/video/queue`.
///
/// Sources: openapi.yaml `/video/quote` (QuoteVideoRequest; 200 `{"quote": <number>}` USD; 400
/// DetailedError) and `/video/queue` (QueueVideoRequest; 200 `{"model","queue_id"}`); veniceai/skills
/// `skills/venice-video/SKILL.md` ("`/video/quote` — Price in USD (no charge, no job)"; "`/video/queue`
/// — Enqueue generation. Returns `queue_id`, charges (reserves) funds"; quote requires `model` and
/// `duration`); api-docs `api-reference/endpoint/video/quote.mdx` ("uses the same parameters as the
/// queue API"). Prices: `VideoRules`.
/// [sim] `upscale_factor`, `video_url` and `reference_video_total_duration` are accepted and
/// ignored: no upscale or reference-to-video model is simulated.
/// [sim] Neither body is documented as strict (no `additionalProperties: false`): unknown keys pass.
/// [sim] The quote needs no credentials, like `/audio/quote` (VENICE.md §0.1).
/// [sim] `/video/retrieve` and `/video/complete` are not simulated: a queued job never finishes.
extension RouteServices {
    static let videoQuoteFields: Set<String> = ["model", "duration", "aspect_ratio", "resolution", "upscale_factor", "audio",
                                                "video_url", "reference_video_total_duration"]

    /// The model, its rules and the price of `body`'s pricing inputs.
    func videoPrice(_ body: StrictBody, resolutionRequired: Bool) throws -> (ModelCatalog.Model, VideoRules, Int64) {
        let model = try self.model(try body.string("model"), type: "video")
        guard let rules = VideoRules(model: model) else {
            throw SimulatorError.standard(.badRequest, "venice-sim has no price for \(model.id); simulated video models: \(VideoRules.table.keys.sorted().joined(separator: ", "))")
        }
        _ = try body.bool("audio")
        let price = try rules.priceMicro(duration: try body.string("duration"), resolution: try body.string("resolution"),
                                         aspectRatio: try body.string("aspect_ratio"), resolutionRequired: resolutionRequired)
        return (model, rules, price)
    }

    func registerVideo(_ api: RouterGroup<Context>) {
        api.post("video/quote") { request, _ -> Response in
            try await faults.beforeHandling()
            let body = try await StrictBody.read(request, allowed: Self.videoQuoteFields, rejectsUnknownKeys: false)
            let (_, _, micro) = try videoPrice(body, resolutionRequired: true)
            return .json(["quote": .usd(micro)])
        }

        api.post("video/queue") { request, context -> Response in
            try await inference(request, context, path: "/video/queue") { caller, request in
                let body = try await StrictBody.read(request, allowed: [], rejectsUnknownKeys: false)
                let (model, rules, price) = try videoPrice(body, resolutionRequired: false)
                try checkPrivacy(caller, model: model)
                // openapi.yaml QueueVideoRequest `prompt`: minLength 1; the model's limit (default 2500).
                guard let prompt = try body.string("prompt"), !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw SimulatorError.invalidParameters(field: "prompt", message: "Required")
                }
                guard prompt.count <= VideoRules.promptCharacterLimit else {
                    throw SimulatorError.invalidParameters(field: "prompt", message: "String must contain at most \(VideoRules.promptCharacterLimit) character(s)")
                }
                if rules.entry.needsImage, try body.string("image_url") == nil {
                    throw SimulatorError.invalidParameters(field: "image_url", message: "image_url is required for \(model.id)")
                }
                // Like `/audio/queue`: the caller's balance is checked against the quote, then charged at queue.
                if await state.balanceMicro(account: caller.account) < price { throw Self.insufficientFunds }
                let queueID = UUID().uuidString.lowercased()
                await state.charge(caller, requestId: queueID,
                                   items: [.init(modelId: model.id, micro: price, sku: "\(model.id)-generation", units: 1,
                                                 pricePerUnit: Money.usd(price))])
                return .json(["model": .string(model.id), "queue_id": .string(queueID)])
            }
        }
    }
}
