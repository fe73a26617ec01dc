public import MCP

/// The MCP server `venice-agent mcp` runs: the tool and resource catalogues over one agent
/// caller. It holds no key, signature or API key; the caller acts as one agent client.
public struct AgentMCPServer: Sendable {
    public let tools: ToolCatalogue
    public let resources: ResourceCatalogue
    public let caller: any AgentCaller
    public let version: String

    public init(caller: any AgentCaller, version: String, tools: ToolCatalogue = ToolCatalogue(), resources: ResourceCatalogue = ResourceCatalogue()) {
        self.caller = caller
        self.version = version
        self.tools = tools
        self.resources = resources
    }

    static let instructions = """
        Venice AI through the local venice-agent: each call is paid from the agent's wallet within this client's budget. \
        Use budget_left and spend to see what is left; when a tool says the wallet's credit is too low, use request_topup \
        (it never pays; the owner decides).
        """

    /// A server with every handler registered, not yet started.
    public func makeServer() async -> Server {
        let server = Server(name: "venice-agent", version: version, title: "Venice AI via venice-agent", instructions: Self.instructions,
                            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        let tools = self.tools, resources = self.resources, caller = self.caller
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools.definitions) }
        await server.withMethodHandler(CallTool.self) { params in
            try await tools.call(params.name, arguments: params.arguments, caller: caller)
        }
        await server.withMethodHandler(ListResources.self) { _ in ListResources.Result(resources: resources.resources) }
        await server.withMethodHandler(ReadResource.self) { params in
            try await resources.read(params.uri, caller: caller)
        }
        return server
    }

    /// Serves one host over `transport` until it hangs up.
    public func run(transport: any Transport) async throws {
        let server = await makeServer()
        try await server.start(transport: transport)
        await server.waitUntilCompleted()
        await server.stop()
    }
}
