import MCP

/// models_list and voices (openapi.yaml `/models`; a tts model's `model_spec.voices`).
extension ToolCatalogue {
    static var modelTools: [AgentTool] { [modelsList, voices] }

    static let modelTypes = ["text", "image", "video", "music", "tts", "asr", "embedding", "upscale", "inpaint", "code", "all"]

    static let modelsList = AgentTool(
        name: "models_list", title: "List Venice models",
        description: "Lists Venice's models of a type (GET /models): one line per model with its id and name.",
        inputSchema: Schema.object(["type": Schema.string("The kind of model.", oneOf: modelTypes, defaultValue: "text")]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let type = try arguments.string("type") ?? "text"
        guard modelTypes.contains(type) else { throw .badArgument(name: "type", reason: "must be one of \(modelTypes.joined(separator: ", "))") }
        let rows = try await models(caller, type: type)
        let lines = rows.map { row -> String in
            let spec = row["model_spec"]?.objectValue
            let name = spec?["name"]?.stringValue.map { " — \($0)" } ?? ""
            let kind = type == "all" ? " [\(row["type"]?.stringValue ?? "?")]" : ""
            return "\(row["id"]?.stringValue ?? "?")\(kind)\(name)"
        }
        return ToolResults.text(lines.isEmpty ? "no \(type) models" : lines.joined(separator: "\n"))
    }

    static let voices = AgentTool(
        name: "voices", title: "Speech voices",
        description: "Lists the voices of each speech (tts) model, for speech's `voice` (voice_clone makes a new one for tts-chatterbox-hd).",
        inputSchema: Schema.object(["model": Schema.string("Only this speech model's voices.")]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let only = try arguments.string("model")
        let table = try await voiceTable(caller).filter { only == nil || $0.model == only }
        guard !table.isEmpty else { return ToolResults.text(only.map { "no speech model \($0) with voices" } ?? "no voices") }
        return ToolResults.text(table.map { "\($0.model): \($0.voices.joined(separator: ", "))" }.joined(separator: "\n"))
    }

    static func models(_ caller: any AgentCaller, type: String) async throws(ToolFailure) -> [[String: Value]] {
        let reply = try await send(caller, .get("/api/v1/models", query: [("type", type)]))
        return (try JSONCoding.object(reply)["data"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    static func voiceTable(_ caller: any AgentCaller) async throws(ToolFailure) -> [(model: String, voices: [String])] {
        try await models(caller, type: "tts").compactMap { row in
            guard let id = row["id"]?.stringValue,
                  let voices = row["model_spec"]?.objectValue?["voices"]?.arrayValue?.compactMap(\.stringValue), !voices.isEmpty else { return nil }
            return (id, voices)
        }
    }
}
