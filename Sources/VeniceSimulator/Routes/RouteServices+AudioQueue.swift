import X402Protocol
import HTTPTypes
import Foundation
import Hummingbird
import WalletCrypto

extension RouteServices {
    static let quoteFields: Set<String> = ["model", "duration_seconds", "character_count"]
    static let queueFields: Set<String> = ["model", "prompt", "lyrics_prompt", "duration_seconds", "force_instrumental", "lyrics_optimizer",
                                           "loop", "voice", "language_code", "speed"]
    static let retrieveFields: Set<String> = ["model", "queue_id", "delete_media_on_completion"]
    static let completeFields: Set<String> = ["model", "queue_id"]

    /// `duration_seconds` as int or digit string.
    static func duration(_ body: StrictBody) throws -> Int? {
        guard let value = body["duration_seconds"] else { return nil }
        if let literal = value.numberLiteral, let seconds = Int(literal) { return seconds }
        if let text = value.stringValue, !text.isEmpty, text.allSatisfy(\.isNumber), let seconds = Int(text) { return seconds }
        throw SimulatorError.invalidParameters(field: "duration_seconds", message: "Expected integer")
    }

    func quote(_ body: StrictBody) throws -> (ModelCatalog.Model, MusicRules, Int64, Int?) {
        let model = try self.model(try body.string("model"), type: "music")
        let rules = MusicRules(model: model)
        let duration = try Self.duration(body)
        if duration != nil, !rules.takesDuration {
            throw SimulatorError.standard(.badRequest, "duration_seconds is not supported by \(model.id)")
        }
        let characters = try body.int("character_count")
        if let characters, characters > rules.promptCharacterLimit {
            throw SimulatorError.invalidParameters(field: "character_count", message: "Number must be at most \(rules.promptCharacterLimit)")
        }
        return (model, rules, try rules.quoteMicro(duration: duration, characters: characters), duration)
    }

    func registerAudioQueue(_ api: RouterGroup<Context>) {
        api.post("audio/quote") { request, _ -> Response in
            try await faults.beforeHandling()
            let body = try await StrictBody.read(request, allowed: Self.quoteFields)
            let (_, _, micro, _) = try quote(body)
            return .json(["quote": .usd(micro)])
        }

        api.post("audio/queue") { request, context -> Response in
            try await inference(request, context, path: "/audio/queue") { caller, request in
                guard await state.allow("audio-queue:" + caller.account, limit: 40) else {
                    throw SimulatorError.standard(.tooManyRequests, "Rate limit exceeded")
                }
                let body = try await StrictBody.read(request, allowed: Self.queueFields)
                let model = try self.model(try body.string("model"), type: "music")
                try checkPrivacy(caller, model: model)
                let rules = MusicRules(model: model)
                let prompt = (try body.string("prompt") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                guard prompt.count >= rules.minPromptLength, prompt.count <= rules.promptCharacterLimit else {
                    throw SimulatorError.invalidParameters(field: "prompt", message: "Prompt must be between \(rules.minPromptLength) and \(rules.promptCharacterLimit) characters")
                }
                for field in ["loop", "voice", "language_code", "speed"] where body[field] != nil {
                    throw SimulatorError.standard(.badRequest, "\(field) is not supported by \(model.id)")
                }
                if body["lyrics_prompt"] != nil, !rules.supportsLyrics { throw SimulatorError.standard(.badRequest, "lyrics_prompt is not supported by \(model.id)") }
                if body["force_instrumental"] != nil, !rules.supportsForceInstrumental {
                    throw SimulatorError.standard(.badRequest, "force_instrumental is not supported by \(model.id)")
                }
                if body["lyrics_optimizer"] != nil, !model.id.hasPrefix("minimax-music") {
                    throw SimulatorError.standard(.badRequest, "lyrics_optimizer is not supported by \(model.id)")
                }
                let duration = try Self.duration(body)
                if duration != nil, !rules.takesDuration { throw SimulatorError.standard(.badRequest, "duration_seconds is not supported by \(model.id)") }
                let characters = rules.isPerCharacter ? prompt.count : nil
                let price = try rules.quoteMicro(duration: duration, characters: characters)
                // A wallet is checked against the quote; a key's account alike.
                if await state.balanceMicro(account: caller.account) < price { throw Self.insufficientFunds }
                let requestId = UUID().uuidString.lowercased()
                let charged = await state.charge(caller, requestId: requestId,
                                                 items: [.init(modelId: model.id, micro: price, sku: "\(model.id)-generation", units: 1,
                                                               pricePerUnit: Money.usd(price))])
                let fails = await state.faults.audioJobFailure
                await state.addAudioJob(.init(id: requestId, model: model.id, account: caller.account, requestId: requestId,
                                              createdAtMilliseconds: state.clock.nowMilliseconds(),
                                              durationSeconds: Double(duration ?? rules.defaultDuration), chargedMicro: charged, fails: fails))
                return .json(["model": .string(model.id), "queue_id": .string(requestId), "status": "QUEUED"])
            }
        }

        api.post("audio/retrieve") { request, context -> Response in
            try await inference(request, context, path: "/audio/retrieve") { caller, request in
                guard await state.allow("audio-retrieve:" + caller.account, limit: 120) else {
                    throw SimulatorError.standard(.tooManyRequests, "Rate limit exceeded")
                }
                let body = try await StrictBody.read(request, allowed: Self.retrieveFields)
                let job = try await ownedJob(body, caller: caller)
                if job.gone { throw SimulatorError.standard(.notFound, "Media not found. It may have expired or been deleted.") }
                let elapsed = state.clock.nowMilliseconds() - job.createdAtMilliseconds
                let processing = await state.audioProcessingMilliseconds
                if elapsed < processing {
                    return .json(["status": "PROCESSING", "average_execution_time": .number(String(processing)),
                                  "execution_duration": .number(String(elapsed))])
                }
                if job.fails {
                    await state.refund(account: job.account, requestId: job.requestId)
                    await state.markAudioJobGone(job.id)
                    throw SimulatorError.standard(.unprocessableContent, "Your prompt violates the content policy of Venice.ai or the model provider")
                }
                let audio = WAVCodec.wav(pcm: WAVCodec.synthesizeMusicPCM(seconds: job.durationSeconds, seed: UInt64(truncatingIfNeeded: job.id.hashValue)))
                if try body.bool("delete_media_on_completion") == true { await state.markAudioJobGone(job.id) }
                var headers = HTTPFields()
                headers[HTTPField.Name("x-venice-audio-format")!] = "wav"
                headers[HTTPField.Name("x-venice-inference-time")!] = String(format: "%.1f", Double(processing) / 1000)
                headers[HTTPField.Name("x-venice-model-id")!] = job.model
                headers[HTTPField.Name("x-venice-model-name")!] = catalog.model(job.model)?.name ?? job.model
                return .bytes(audio, contentType: "audio/wav", headers: headers)
            }
        }

        api.post("audio/complete") { request, context -> Response in
            try await inference(request, context, path: "/audio/complete") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.completeFields)
                let job = try await ownedJob(body, caller: caller)
                await state.markAudioJobGone(job.id)
                return .json(["success": true])
            }
        }
    }

    /// The caller's job for `queue_id` (+ `model`), else 400 `Request ID is invalid.`
    private func ownedJob(_ body: StrictBody, caller: Caller) async throws -> SimulatorState.AudioJob {
        guard let model = try body.string("model"), !model.isEmpty else { throw SimulatorError.standard(.badRequest, "model is required") }
        guard let id = try body.string("queue_id"), let job = await state.audioJob(id), job.account == caller.account, job.model == model else {
            throw SimulatorError.standard(.badRequest, "Request ID is invalid.")
        }
        return job
    }
}
