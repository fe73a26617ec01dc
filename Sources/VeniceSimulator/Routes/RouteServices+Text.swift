import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WalletCrypto
import X402Protocol

/// Text routes: `/chat/completions`, `/embeddings`, `/responses` (veniceai/api-docs `swagger.yaml` paths of the
/// same names; `api-reference/endpoint/chat/completions.mdx`, `embeddings/generate.mdx`, `responses/create.mdx`).
///
/// They run through the same pipeline as the image routes (``RouteServices/inference(_:_:path:flavor:_:)``: SIWX or
/// Bearer, the $0.10 wallet admission minimum, concurrency, faults, error budget) and charge one CHARGE row per
/// served request whose `requestId` is the id the client reads in the body (`chatcmpl-…`, `resp_…`).
/// The reply text comes from ``TextSynthesizer``; token counts from ``TokenEstimate`` (our approximation).
extension RouteServices {
    /// `ChatCompletionRequest` properties (swagger.yaml `components.schemas.ChatCompletionRequest`,
    /// `additionalProperties: false`: any other key is a 400).
    static let chatFields: Set<String> = [
        "fallbacks", "frequency_penalty", "include", "logprobs", "max_completion_tokens", "max_temp", "max_tokens", "messages",
        "metadata", "min_p", "min_temp", "model", "n", "parallel_tool_calls", "presence_penalty", "prompt_cache_key",
        "prompt_cache_retention", "reasoning", "reasoning_effort", "repetition_penalty", "response_format", "seed", "stop",
        "stop_token_ids", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_k",
        "top_logprobs", "top_p", "user", "venice_parameters", "verbosity",
    ]
    /// swagger.yaml `/embeddings` request body (`additionalProperties: false`).
    static let embeddingFields: Set<String> = ["dimensions", "encoding_format", "input", "model", "user"]
    /// swagger.yaml `/responses` request body. Its schema does not forbid other keys, so unknown ones are ignored.
    static let responsesFields: Set<String> = ["fallbacks", "include", "input", "max_output_tokens", "model", "reasoning", "stream",
                                               "temperature", "tool_choice", "tools", "top_p", "venice_parameters", "web_search",
                                               "instructions"]

    /// Chat message roles the simulator reads (OpenAI's set; swagger.yaml `ChatCompletionRequest.messages`).
    static let chatRoles: Set<String> = ["system", "developer", "user", "assistant", "tool"]

    func registerText(_ api: RouterGroup<Context>) {
        api.post("chat/completions") { request, context -> Response in
            try await inference(request, context, path: "/chat/completions") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.chatFields)
                let chat = try ChatRequest(body)
                let turn = try await generate(caller, modelID: chat.modelID, prompt: chat.promptText, promptTokens: chat.promptTokens,
                                              cap: chat.maxTokens, param: "messages", idPrefix: "chatcmpl-")
                let (model, reply, requestId, micro, headers) = (turn.model, turn.reply, turn.requestId, turn.micro, turn.headers)
                let usage: JSONValue = ["prompt_tokens": .number(String(chat.promptTokens)),
                                        "completion_tokens": .number(String(reply.tokens)),
                                        "total_tokens": .number(String(chat.promptTokens + reply.tokens))]
                let created = JSONValue.number(String(await state.nowMilliseconds() / 1000))
                let finish: JSONValue = reply.truncated ? "length" : "stop"
                if chat.stream {
                    return Self.chatStream(id: requestId, model: model.id, created: created, text: reply.text, finish: finish,
                                           usage: chat.includeUsage ? Optional(usage) : Optional.none, headers: headers,
                                           pacing: StreamPacing(configuration))
                }
                let answer: JSONValue = [
                    "id": .string(requestId), "object": "chat.completion", "created": created, "model": .string(model.id),
                    "choices": [["index": 0, "message": ["role": "assistant", "content": .string(reply.text), "reasoning_content": nil],
                                 "logprobs": nil, "finish_reason": finish, "stop_reason": nil]],
                    "usage": usage, "cost": ["usd": .usd(micro), "diem": 0]]
                return .json(answer, headers: headers)
            }
        }

        api.post("embeddings") { request, context -> Response in
            try await inference(request, context, path: "/embeddings") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.embeddingFields)
                let inputs = try Self.embeddingInputs(body["input"])
                let model = try self.model(try body.string("model"), type: "embedding")
                try checkPrivacy(caller, model: model)
                let dimensions = try body.int("dimensions") ?? EmbeddingVectors.defaultDimensions
                guard (1...EmbeddingVectors.maxDimensions).contains(dimensions) else {
                    throw SimulatorError.invalidParameters(field: "dimensions", message: "Number must be between 1 and \(EmbeddingVectors.maxDimensions)")
                }
                // [sim] bound on the answer's size (2,048 inputs of 1,024 values): more is a 400, never a huge body.
                guard inputs.count * dimensions <= EmbeddingVectors.maxValuesPerRequest else {
                    throw SimulatorError.invalidParameters(field: "input",
                        message: "The simulator answers at most \(EmbeddingVectors.maxValuesPerRequest) values per request (inputs × dimensions)")
                }
                let format = try body.string("encoding_format") ?? "float"
                guard ["float", "base64"].contains(format) else {
                    throw SimulatorError.invalidParameters(field: "encoding_format", message: "Invalid enum value. Expected 'float' | 'base64', received '\(format)'")
                }
                _ = try body.string("user")
                let tokens = TokenEstimate.count(inputs)
                // The embeddings answer has no id (swagger.yaml `/embeddings` 200): the charge row's id is the simulator's own.
                let requestId = await requestID("embedding-")
                let micro = try TokenPricing(model: model).micro(inputTokens: tokens, outputTokens: 0, field: "input")
                let headers = await chargeText(caller, model: model, requestId: requestId, micro: micro,
                                               promptTokens: tokens, completionTokens: 0)
                let rows: [JSONValue] = inputs.enumerated().map { index, text in
                    let vector = EmbeddingVectors.vector(for: text, dimensions: dimensions)
                    let embedding: JSONValue = format == "base64" ? .string(EmbeddingVectors.base64(vector))
                        : .array(vector.map { .decimal(Double($0)) })
                    return ["object": "embedding", "index": .number(String(index)), "embedding": embedding]
                }
                let answer: JSONValue = ["object": "list", "model": .string(model.id), "data": .array(rows),
                                         "usage": ["prompt_tokens": .number(String(tokens)), "total_tokens": .number(String(tokens))]]
                return .json(answer, headers: headers)
            }
        }

        api.post("responses") { request, context -> Response in
            try await inference(request, context, path: "/responses") { caller, request in
                let body = try await StrictBody.read(request, allowed: Self.responsesFields, rejectsUnknownKeys: false)
                let input = try ResponsesRequest(body)
                let turn = try await generate(caller, modelID: input.modelID, prompt: input.promptText, promptTokens: input.inputTokens,
                                              cap: input.maxOutputTokens, param: "input", idPrefix: "resp_")
                let (model, reply, requestId, headers) = (turn.model, turn.reply, turn.requestId, turn.headers)
                let messageId = await requestID("msg_")
                let message: JSONValue = ["type": "message", "id": .string(messageId), "status": "completed", "role": "assistant",
                                          "content": [["type": "output_text", "text": .string(reply.text), "annotations": []]]]
                let answer: JSONValue = [
                    "id": .string(requestId), "object": "response", "created_at": .number(String(await state.nowMilliseconds() / 1000)),
                    "model": .string(model.id), "status": "completed", "output": [message],
                    "usage": ["input_tokens": .number(String(input.inputTokens)), "input_tokens_details": ["cached_tokens": 0],
                              "output_tokens": .number(String(reply.tokens)), "output_tokens_details": ["reasoning_tokens": 0],
                              "total_tokens": .number(String(input.inputTokens + reply.tokens))]]
                if input.stream {
                    return Self.responsesStream(answer: answer, messageId: messageId, text: reply.text, headers: headers,
                                                pacing: StreamPacing(configuration))
                }
                return .json(answer, headers: headers)
            }
        }
    }

    /// One generated turn of a text route, charged: the model, the reply, the id the body carries and what it cost.
    struct TextTurn {
        let model: ModelCatalog.Model
        let reply: (text: String, tokens: Int, truncated: Bool)
        let requestId: String
        let micro: Int64
        let headers: HTTPFields
    }

    /// The step `/chat/completions` and `/responses` share: resolve the text model, apply the caller's privacy rule
    /// and the context limit, synthesize the reply within `cap` tokens, and charge it by usage under a fresh
    /// `idPrefix` id. `param` names the body field a context or pricing error points at.
    func generate(_ caller: Caller, modelID: String?, prompt: String, promptTokens: Int, cap: Int?, param: String,
                  idPrefix: String) async throws -> TextTurn {
        let model = try self.model(modelID, type: "text")
        try checkPrivacy(caller, model: model)
        try Self.checkContext(model: model, promptTokens: promptTokens, cap: cap, param: param)
        let reply = TextSynthesizer.reply(to: prompt, maxTokens: cap)
        let requestId = await requestID(idPrefix)
        let micro = try TokenPricing(model: model).micro(inputTokens: promptTokens, outputTokens: reply.tokens, field: param)
        let headers = await chargeText(caller, model: model, requestId: requestId, micro: micro,
                                       promptTokens: promptTokens, completionTokens: reply.tokens)
        return TextTurn(model: model, reply: reply, requestId: requestId, micro: micro, headers: headers)
    }

    /// One CHARGE row under the body's id; the answer's headers name the model. (Wallets' `X-Balance-Remaining` is
    /// added by ``RouteServices/inference(_:_:path:flavor:_:)`` for every inference route.)
    func chargeText(_ caller: Caller, model: ModelCatalog.Model, requestId: String, micro: Int64,
                    promptTokens: Int, completionTokens: Int) async -> HTTPFields {
        let units = Double(promptTokens + completionTokens) / 1_000_000
        await state.charge(caller, requestId: requestId,
                           items: [.init(modelId: model.id, micro: micro, sku: "\(model.id)-llm-mtoken", units: units,
                                         pricePerUnit: units > 0 ? Money.usd(micro) / units : 0,
                                         promptTokens: promptTokens, completionTokens: completionTokens)],
                           executionMilliseconds: 80)
        var headers = HTTPFields()
        headers[HTTPField.Name("x-venice-model-id")!] = model.id
        return headers
    }

    /// `TOO_MANY_TOKENS`: prompt plus the requested cap beyond the model's `availableContextTokens` answers the
    /// OpenAI-style error veniceai/api-docs `api-reference/error-codes.mdx` shows for context length errors.
    static func checkContext(model: ModelCatalog.Model, promptTokens: Int, cap: Int?, param: String) throws {
        guard let context = model.spec["availableContextTokens"]?.intValue, context > 0 else { return }
        let (total, overflow) = promptTokens.addingReportingOverflow(cap ?? 0)
        guard overflow || total > context else { return }
        let message = "Your request exceeds the model's maximum context. Please reduce your prompt or completion length."
        throw SimulatorError.json(.badRequest, ["error": ["message": .string(message), "type": "invalid_request_error",
                                                          "param": .string(param), "code": "context_length_exceeded"]], headers: [])
    }

    /// `stream: true`: `text/event-stream` of `chat.completion.chunk` events, the role first, the text a few tokens per
    /// chunk, then one chunk with `finish_reason` and (unless `stream_options.include_usage` is false) `usage`, then `[DONE]`.
    /// swagger.yaml `ChatCompletionRequest.stream_options.include_usage`: "Whether to include usage information in the
    /// stream". Venice puts usage on the last chunk without being asked; when the flag is absent the simulator does the
    /// same (our reading), and only an explicit `false` leaves it out.
    /// `pacing` holds the test knobs that slow a stream down (`SimulatorConfiguration.streamEventDelayMilliseconds`,
    /// `beforeLastStreamEvent`); by default events are written back to back.
    static func chatStream(id: String, model: String, created: JSONValue, text: String, finish: JSONValue, usage: JSONValue?,
                           headers extra: HTTPFields, pacing: StreamPacing = StreamPacing()) -> Response {
        func chunk(_ delta: JSONValue, finish: JSONValue = nil, usage: JSONValue? = nil) -> ByteBuffer {
            var object = JSONObject([("id", .string(id)), ("object", "chat.completion.chunk"), ("created", created), ("model", .string(model)),
                                     ("choices", [["index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish]])])
            if let usage { object["usage"] = usage }
            return ByteBuffer(string: "data: " + JSONValue.object(object).serialized() + "\n\n")
        }
        let events = [chunk(["role": "assistant", "content": ""])]
            + TextSynthesizer.chunks(text).map { chunk(["content": .string($0)]) }
            + [chunk([:], finish: finish, usage: usage), ByteBuffer(string: "data: [DONE]\n\n")]
        // The finish chunk is the second-to-last event (`[DONE]` follows it).
        return eventStream(events, headers: extra, pacing: pacing, lastEventIndex: events.count - 2)
    }

    /// A `text/event-stream` answer of `events`, paced by the test knobs; `beforeLast` runs just
    /// before the event at `lastEventIndex` (the one that ends the answer) is written.
    static func eventStream(_ events: [ByteBuffer], headers extra: HTTPFields, pacing: StreamPacing, lastEventIndex: Int) -> Response {
        var headers = extra
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for (index, event) in events.enumerated() {
                if index > 0, pacing.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(pacing.delayMilliseconds)) }
                if index == lastEventIndex, let gate = pacing.beforeLast { await gate() }
                try await writer.write(event)
            }
            try await writer.finish(nil)
        })
    }

    /// `/responses` with `stream: true`. swagger.yaml `/responses`: "This endpoint supports streaming via Server-Sent
    /// Events when `stream: true` is set"; api-docs `responses/create.mdx`: models "behave like OpenAI's Responses API".
    /// The event names and shapes are OpenAI's (an **assumption** for the details Venice does not spell out):
    /// `response.created` (status in_progress, no output), `response.output_text.delta` per piece of text, then
    /// `response.completed` carrying the whole response with its `usage`.
    static func responsesStream(answer: JSONValue, messageId: String, text: String, headers extra: HTTPFields,
                                pacing: StreamPacing = StreamPacing()) -> Response {
        func event(_ type: String, _ fields: [(String, JSONValue)]) -> ByteBuffer {
            let object = JSONObject([("type", .string(type))] + fields)
            return ByteBuffer(string: "event: \(type)\ndata: " + JSONValue.object(object).serialized() + "\n\n")
        }
        var started = answer.objectValue ?? JSONObject([])
        started["status"] = "in_progress"
        started["output"] = []
        started["usage"] = nil
        let events = [event("response.created", [("response", .object(started))])]
            + TextSynthesizer.chunks(text).map {
                event("response.output_text.delta", [("item_id", .string(messageId)), ("output_index", 0), ("content_index", 0), ("delta", .string($0))])
            }
            + [event("response.completed", [("response", answer)])]
        return eventStream(events, headers: extra, pacing: pacing, lastEventIndex: events.count - 1)
    }

    /// Test knobs that slow a streamed answer down (see `SimulatorConfiguration`); none by default.
    struct StreamPacing: Sendable {
        var delayMilliseconds = 0
        var beforeLast: (@Sendable () async -> Void)?

        init() {}

        init(_ configuration: SimulatorConfiguration) {
            delayMilliseconds = max(0, configuration.streamEventDelayMilliseconds)
            beforeLast = configuration.beforeLastStreamEvent
        }
    }

    /// `/embeddings` `input`: a non-empty string or a non-empty array of non-empty strings (at most 2,048).
    static func embeddingInputs(_ value: JSONValue?) throws -> [String] {
        guard let value else { throw SimulatorError.invalidParameters(field: "input", message: "Required") }
        if let text = value.stringValue {
            guard !text.isEmpty else { throw SimulatorError.invalidParameters(field: "input", message: "String must contain at least 1 character(s)") }
            return [text]
        }
        guard let items = value.arrayValue else {
            throw SimulatorError.invalidParameters(field: "input", message: "Expected string or array of strings")
        }
        guard (1...2_048).contains(items.count) else {
            throw SimulatorError.invalidParameters(field: "input", message: "Array must contain between 1 and 2048 element(s)")
        }
        return try items.map { item in
            guard let text = item.stringValue, !text.isEmpty else {
                throw SimulatorError.invalidParameters(field: "input", message: "Each input must be a non-empty string")
            }
            return text
        }
    }
}

/// A validated `/chat/completions` body.
struct ChatRequest: Sendable {
    let modelID: String?
    let promptText: String
    let promptTokens: Int
    /// `max_completion_tokens`, else `max_tokens` when above 0 (swagger.yaml: "Values of 0 or less are ignored").
    let maxTokens: Int?
    let stream: Bool
    let includeUsage: Bool

    init(_ body: StrictBody) throws {
        modelID = try body.string("model")
        guard let messages = body["messages"] else { throw SimulatorError.invalidParameters(field: "messages", message: "Required") }
        guard let rows = messages.arrayValue else { throw SimulatorError.invalidParameters(field: "messages", message: "Expected array") }
        guard !rows.isEmpty else { throw SimulatorError.invalidParameters(field: "messages", message: "Array must contain at least 1 element(s)") }
        var texts: [String] = []
        for (index, row) in rows.enumerated() {
            guard let role = row["role"]?.stringValue, RouteServices.chatRoles.contains(role) else {
                throw SimulatorError.invalidParameters(field: "messages",
                    message: "messages[\(index)].role must be one of " + RouteServices.chatRoles.sorted().joined(separator: ", "))
            }
            let content = row["content"]
            if content == nil || content?.isNull == true {
                guard role == "assistant" else {
                    throw SimulatorError.invalidParameters(field: "messages", message: "messages[\(index)].content is required")
                }
                continue
            }
            texts.append(try Self.text(of: content, at: "messages[\(index)].content"))
        }
        promptText = texts.joined(separator: "\n")
        promptTokens = TokenEstimate.count(texts.isEmpty ? [""] : texts)
        if let cap = try body.int("max_completion_tokens") {
            guard cap >= 1 else { throw SimulatorError.invalidParameters(field: "max_completion_tokens", message: "Number must be at least 1") }
            maxTokens = cap
        } else if let cap = try body.int("max_tokens"), cap > 0 {
            maxTokens = cap
        } else {
            maxTokens = nil
        }
        if let n = try body.int("n"), n != 1 {
            throw SimulatorError.invalidParameters(field: "n", message: "The simulator generates one choice: n must be 1")
        }
        if let temperature = try body.double("temperature"), !(0...2).contains(temperature) {
            throw SimulatorError.invalidParameters(field: "temperature", message: "Number must be between 0 and 2")
        }
        if let topP = try body.double("top_p"), !(0...1).contains(topP) {
            throw SimulatorError.invalidParameters(field: "top_p", message: "Number must be between 0 and 1")
        }
        stream = try body.bool("stream") ?? false
        if let options = body["stream_options"] {
            guard let object = options.objectValue else {
                throw SimulatorError.invalidParameters(field: "stream_options", message: "Expected object")
            }
            let flag = object["include_usage"]
            guard flag == nil || flag?.isNull == true || flag?.boolValue != nil else {
                throw SimulatorError.invalidParameters(field: "stream_options", message: "include_usage: Expected boolean")
            }
            includeUsage = flag?.boolValue ?? true
        } else {
            includeUsage = true
        }
    }

    /// A content value: a string, or an array of parts whose `text` is read (`text`, `input_text`, `output_text`);
    /// other parts (images, audio, files) add no text.
    static func text(of content: JSONValue?, at path: String) throws -> String {
        if let text = content?.stringValue { return text }
        guard let parts = content?.arrayValue else {
            throw SimulatorError.invalidParameters(field: "messages", message: "\(path) must be a string or an array of content parts")
        }
        var texts: [String] = []
        for (index, part) in parts.enumerated() {
            guard part.objectValue != nil, let type = part["type"]?.stringValue else {
                throw SimulatorError.invalidParameters(field: "messages", message: "\(path)[\(index)].type is required")
            }
            guard ["text", "input_text", "output_text"].contains(type) else { continue }
            guard let text = part["text"]?.stringValue else {
                throw SimulatorError.invalidParameters(field: "messages", message: "\(path)[\(index)].text must be a string")
            }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }
}

/// A validated `/responses` body.
struct ResponsesRequest: Sendable {
    let modelID: String?
    let promptText: String
    let inputTokens: Int
    let maxOutputTokens: Int?
    let stream: Bool

    init(_ body: StrictBody) throws {
        modelID = try body.string("model")
        var texts: [String] = []
        if let instructions = try body.string("instructions") { texts.append(instructions) }
        guard let input = body["input"] else { throw SimulatorError.invalidParameters(field: "input", message: "Required") }
        if let text = input.stringValue {
            guard !text.isEmpty else { throw SimulatorError.invalidParameters(field: "input", message: "String must contain at least 1 character(s)") }
            texts.append(text)
        } else if let items = input.arrayValue, !items.isEmpty {
            for (index, item) in items.enumerated() {
                guard item.objectValue != nil else {
                    throw SimulatorError.invalidParameters(field: "input", message: "input[\(index)] must be an object")
                }
                guard let content = item["content"], !content.isNull else { continue }   // tool outputs, reasoning items
                do {
                    texts.append(try ChatRequest.text(of: content, at: "input[\(index)].content"))
                } catch {
                    throw SimulatorError.invalidParameters(field: "input", message: "input[\(index)].content must be a string or an array of content parts")
                }
            }
        } else {
            throw SimulatorError.invalidParameters(field: "input", message: "Expected string or a non-empty array of input items")
        }
        promptText = texts.joined(separator: "\n")
        inputTokens = TokenEstimate.count(texts.isEmpty ? [""] : texts)
        if let cap = try body.int("max_output_tokens") {
            guard cap >= 1 else { throw SimulatorError.invalidParameters(field: "max_output_tokens", message: "Number must be at least 1") }
            maxOutputTokens = cap
        } else {
            maxOutputTokens = nil
        }
        if let temperature = try body.double("temperature"), !(0...2).contains(temperature) {
            throw SimulatorError.invalidParameters(field: "temperature", message: "Number must be between 0 and 2")
        }
        if let topP = try body.double("top_p"), !(0...1).contains(topP) {
            throw SimulatorError.invalidParameters(field: "top_p", message: "Number must be between 0 and 1")
        }
        stream = try body.bool("stream") ?? false
    }
}
