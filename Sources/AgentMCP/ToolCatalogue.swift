public import MCP

/// Every tool `venice-agent mcp` offers, by name. Tools for Venice routes the local simulator
/// does not implement (`GET /audio/voices`, `/image/multi-edit`) are not offered yet.
public struct ToolCatalogue: Sendable {
    public let tools: [AgentTool]
    private let byName: [String: AgentTool]

    public init(tools: [AgentTool] = ToolCatalogue.standard) {
        self.tools = tools
        self.byName = Dictionary(tools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public static var standard: [AgentTool] {
        textTools + imageTools + imageToolTools + audioTools + queueTools + videoTools + augmentTools + modelTools + walletTools
    }

    public var definitions: [Tool] { tools.map(\.definition) }

    public func tool(named name: String) -> AgentTool? { byName[name] }

    /// Calls a tool; an unknown name is a protocol error (`invalidParams`), as MCP says.
    public func call(_ name: String, arguments: [String: Value]?, caller: any AgentCaller) async throws(MCPError) -> CallTool.Result {
        guard let tool = byName[name] else {
            throw MCPError.invalidParams("Unknown tool: \(name.prefix(100)); tools/list names the tools")
        }
        return await tool.call(arguments, caller: caller)
    }
}
