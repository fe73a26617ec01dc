public import MCP

/// The resources `venice://models`, `venice://styles` and `venice://voices`, read through the
/// agent at the moment they are asked for.
public struct ResourceCatalogue: Sendable {
    public init() {}

    public var resources: [Resource] {
        [
            Resource(name: "models", uri: "venice://models", description: "Venice's models of every type: id, type and name, as JSON.", mimeType: "application/json"),
            Resource(name: "styles", uri: "venice://styles", description: "Image style presets for image_generate's style_preset, as JSON.", mimeType: "application/json"),
            Resource(name: "voices", uri: "venice://voices", description: "Each speech model's voices, as JSON.", mimeType: "application/json"),
        ]
    }

    /// Reads one resource; an unknown URI is a protocol error, a refusal of the agent too
    /// (resources have no `isError` result), with the refusal's text.
    public func read(_ uri: String, caller: any AgentCaller) async throws(MCPError) -> ReadResource.Result {
        do {
            let value: Value
            switch uri {
            case "venice://models":
                let rows = try await ToolCatalogue.models(caller, type: "all")
                value = .array(rows.map { row in
                    ["id": row["id"] ?? .null, "type": row["type"] ?? .null, "name": row["model_spec"]?.objectValue?["name"] ?? .null]
                })
            case "venice://styles":
                value = .array(try await ToolCatalogue.styleNames(caller).map { .string($0) })
            case "venice://voices":
                value = .object(Dictionary(try await ToolCatalogue.voiceTable(caller).map { ($0.model, .array($0.voices.map { .string($0) })) },
                                           uniquingKeysWith: { first, _ in first }))
            default:
                throw MCPError.invalidParams("Unknown resource: \(uri.prefix(100)); resources/list names the resources")
            }
            return ReadResource.Result(contents: [.text(JSONCoding.text(value, pretty: true), uri: uri, mimeType: "application/json")])
        } catch let error as MCPError {
            throw error
        } catch let error as ToolFailure {
            throw MCPError.internalError(error.description)
        } catch {
            throw MCPError.internalError("\(error)")
        }
    }
}
