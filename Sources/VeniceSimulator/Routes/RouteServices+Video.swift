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
/// `/video/retrieve` and `/video/complete`: see `registerVideoJobs`.
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
                let charged = await state.charge(caller, requestId: queueID,
                                                 items: [.init(modelId: model.id, micro: price, sku: "\(model.id)-generation", units: 1,
                                                               pricePerUnit: Money.usd(price))])
                let seconds = Double((try body.string("duration") ?? "5s").dropLast()) ?? 5
                await state.addVideoJob(.init(id: queueID, model: model.id, account: caller.account, requestId: queueID,
                                              createdAtMilliseconds: state.clock.nowMilliseconds(), durationSeconds: seconds,
                                              chargedMicro: charged, fails: false))
                return .json(["model": .string(model.id), "queue_id": .string(queueID)])
            }
        }
        registerVideoJobs(api)
    }

    static let videoRetrieveFields: Set<String> = ["model", "queue_id", "delete_media_on_completion"]
    static let videoCompleteFields: Set<String> = ["model", "queue_id"]

    /// `/video/retrieve` and `/video/complete`.
    ///
    /// Sources: openapi.yaml `/video/retrieve` (RetrieveVideoRequest: `model`, `queue_id` required,
    /// `delete_media_on_completion` default false, `additionalProperties: false`; 200 JSON
    /// `{"status": "PROCESSING", "average_execution_time", "execution_duration"}` (milliseconds) or
    /// the `video/mp4` file; 404 "Media could not be found. Request may may be invalid, expired, or
    /// deleted.") and `/video/complete` (CompleteVideoRequest, same strictness; 200 `{"success": true}`);
    /// veniceai/skills `skills/venice-video/SKILL.md` (queue charges; retrieve polls, complete cleans up).
    /// [sim] Like `/audio/retrieve`: neither retrieve nor complete charges; a job is ready after the
    /// simulator's queue processing time (`audioProcessingMilliseconds`, shared with music); an
    /// unknown, foreign or other-model `queue_id` is 400 `Request ID is invalid.` (the music wording);
    /// a completed or deleted job's media is 404.
    func registerVideoJobs(_ api: RouterGroup<Context>) {
        api.post("video/retrieve") { request, context -> Response in
            try await inference(request, context, path: "/video/retrieve") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.videoRetrieveFields)
                let job = try await ownedVideoJob(body, caller: caller)
                if job.gone { throw SimulatorError.standard(.notFound, "Media not found. It may have expired or been deleted.") }
                let elapsed = state.clock.nowMilliseconds() - job.createdAtMilliseconds
                let processing = await state.audioProcessingMilliseconds
                if elapsed < processing {
                    return .json(["status": "PROCESSING", "average_execution_time": .number(String(processing)),
                                  "execution_duration": .number(String(elapsed))])
                }
                let video = MP4Encoder.mp4(seconds: job.durationSeconds, seed: UInt64(truncatingIfNeeded: job.id.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
                if try body.bool("delete_media_on_completion") == true { await state.markVideoJobGone(job.id) }
                return .bytes(video, contentType: "video/mp4")
            }
        }

        api.post("video/complete") { request, context -> Response in
            try await inference(request, context, path: "/video/complete") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.videoCompleteFields)
                let job = try await ownedVideoJob(body, caller: caller)
                await state.markVideoJobGone(job.id)
                return .json(["success": true])
            }
        }
    }

    /// The caller's video job for `queue_id` (+ `model`), else 400 `Request ID is invalid.`
    private func ownedVideoJob(_ body: StrictBody, caller: Caller) async throws -> SimulatorState.AudioJob {
        guard let model = try body.string("model"), !model.isEmpty else { throw SimulatorError.standard(.badRequest, "model is required") }
        guard let id = try body.string("queue_id"), let job = await state.videoJob(id), job.account == caller.account, job.model == model else {
            throw SimulatorError.standard(.badRequest, "Request ID is invalid.")
        }
        return job
    }
}
