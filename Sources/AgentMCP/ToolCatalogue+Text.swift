import MCP

/// chat, responses, embeddings (openapi.yaml ChatCompletionRequest, ResponsesRequest, `/embeddings`).
extension ToolCatalogue {
    static let defaultTextModel = "llama-3.3-70b"

    static var textTools: [AgentTool] { [chat, responses, embeddings] }

    static let chat = AgentTool(
        name: "chat", title: "Chat with a Venice model",
        description: "Sends a conversation to POST /chat/completions and returns the assistant's reply. Give `prompt` for one user message, or `messages` for a whole conversation.",
        inputSchema: Schema.object([
            "model": Schema.string("The text model (see models_list or venice://models).", defaultValue: defaultTextModel),
            "prompt": Schema.string("One user message (shorthand for messages).") ,
            "system": Schema.string("A system message put before the conversation."),
            "messages": Schema.array("The conversation: objects with `role` (system, user, assistant) and `content`.",
                                     items: Schema.object(["role": Schema.string("Who speaks.", oneOf: ["system", "user", "assistant", "tool"]),
                                                           "content": Schema.string("What they say.")], required: ["role", "content"])),
            "max_completion_tokens": Schema.integer("Upper bound on generated tokens.", minimum: 1),
            "temperature": Schema.number("Sampling temperature.", minimum: 0, maximum: 2),
            "top_p": Schema.number("Nucleus sampling.", minimum: 0, maximum: 1),
        ]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        var messages: [Value] = []
        if let system = try arguments.string("system") { messages.append(["role": "system", "content": .string(system)]) }
        if let given = try arguments.array("messages") {
            for (index, message) in given.enumerated() {
                guard let object = message.objectValue, object["role"]?.stringValue != nil, object["content"] != nil else {
                    throw .badArgument(name: "messages[\(index)]", reason: "must be an object with `role` and `content`")
                }
                messages.append(message)
            }
        }
        if let prompt = try arguments.string("prompt") { messages.append(["role": "user", "content": .string(prompt)]) }
        guard messages.contains(where: { $0.objectValue?["role"]?.stringValue != "system" }) else {
            throw .badArgument(name: "prompt", reason: "or `messages` is required")
        }
        var body: [String: Value] = ["model": .string(try arguments.string("model") ?? defaultTextModel),
                                     "messages": .array(messages), "stream": false]
        _ = try arguments.int("max_completion_tokens", in: 1...1_000_000)
        _ = try arguments.double("temperature", in: 0...2)
        _ = try arguments.double("top_p", in: 0...1)
        arguments.copy(["max_completion_tokens", "temperature", "top_p"], into: &body)
        let reply = try await send(caller, .post("/api/v1/chat/completions", json: body))
        let answer = try JSONCoding.object(reply)
        let message = answer["choices"]?.arrayValue?.first?.objectValue?["message"]?.objectValue
        guard let content = message?["content"]?.stringValue else {
            throw .unexpectedAnswer("no choices[0].message.content in the chat answer")
        }
        return ToolResults.text(content + usageLine(answer["usage"]), warning: reply.budgetWarning)
    }

    static let responses = AgentTool(
        name: "responses", title: "Venice Responses API",
        description: "Sends `input` to POST /responses and returns the output text.",
        inputSchema: Schema.object([
            "model": Schema.string("The text model.", defaultValue: defaultTextModel),
            "input": Schema.string("The input text."),
            "instructions": Schema.string("System instructions."),
            "max_output_tokens": Schema.integer("Upper bound on generated tokens.", minimum: 1),
            "temperature": Schema.number("Sampling temperature.", minimum: 0, maximum: 2),
        ], required: ["input"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["model": .string(try arguments.string("model") ?? defaultTextModel),
                                     "input": .string(try arguments.requiredString("input")), "stream": false]
        _ = try arguments.string("instructions")
        _ = try arguments.int("max_output_tokens", in: 1...1_000_000)
        _ = try arguments.double("temperature", in: 0...2)
        arguments.copy(["instructions", "max_output_tokens", "temperature"], into: &body)
        let reply = try await send(caller, .post("/api/v1/responses", json: body))
        let answer = try JSONCoding.object(reply)
        var texts: [String] = []
        for item in answer["output"]?.arrayValue ?? [] {
            for part in item.objectValue?["content"]?.arrayValue ?? [] where part.objectValue?["type"]?.stringValue == "output_text" {
                if let text = part.objectValue?["text"]?.stringValue { texts.append(text) }
            }
        }
        if texts.isEmpty, let text = answer["output_text"]?.stringValue { texts.append(text) }
        guard !texts.isEmpty else { throw .unexpectedAnswer("no output_text in the responses answer") }
        return ToolResults.text(texts.joined(separator: "\n") + usageLine(answer["usage"]), warning: reply.budgetWarning)
    }

    static let embeddings = AgentTool(
        name: "embeddings", title: "Embed text",
        description: "Returns embedding vectors for the input text(s) from POST /embeddings.",
        inputSchema: Schema.object([
            "model": Schema.string("The embedding model.", defaultValue: "text-embedding-bge-m3"),
            "input": Schema.stringOrStrings("A text, or an array of texts, to embed."),
            "dimensions": Schema.integer("Vector length (models that support it).", minimum: 1),
        ], required: ["input"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        guard let input = arguments.present("input"), input.stringValue != nil || input.arrayValue?.allSatisfy({ $0.stringValue != nil }) == true else {
            throw .badArgument(name: "input", reason: "must be a string or an array of strings")
        }
        var body: [String: Value] = ["model": .string(try arguments.string("model") ?? "text-embedding-bge-m3"), "input": input,
                                     "encoding_format": "float"]
        if let dimensions = try arguments.int("dimensions", in: 1...100_000) { body["dimensions"] = .int(dimensions) }
        let reply = try await send(caller, .post("/api/v1/embeddings", json: body))
        let answer = try JSONCoding.object(reply)
        let vectors = (answer["data"]?.arrayValue ?? []).compactMap { $0.objectValue?["embedding"] }
        guard !vectors.isEmpty else { throw .unexpectedAnswer("no data[].embedding in the embeddings answer") }
        let summary = "\(vectors.count) embedding(s) of \(vectors.first?.arrayValue?.count ?? 0) dimensions" + usageLine(answer["usage"])
        return ToolResults.json(["model": answer["model"] ?? .null, "embeddings": .array(vectors)], summary: summary,
                                warning: reply.budgetWarning)
    }

    /// "\n\n(usage: 12 prompt + 30 completion tokens)" when the answer has usage.
    static func usageLine(_ usage: Value?) -> String {
        guard let usage = usage?.objectValue else { return "" }
        let input = usage["prompt_tokens"]?.intValue ?? usage["input_tokens"]?.intValue
        let output = usage["completion_tokens"]?.intValue ?? usage["output_tokens"]?.intValue
        switch (input, output) {
        case (let i?, let o?): return "\n\n(usage: \(i) prompt + \(o) completion tokens)"
        case (let i?, nil): return "\n\n(usage: \(i) tokens)"
        default: return ""
        }
    }
}
