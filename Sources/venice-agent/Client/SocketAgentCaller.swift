import AgentMCP

/// The MCP server's way to the agent: `AgentClient` over the Unix socket, with the client's
/// token (if any) inside. Refusals keep the CLI's wording (`AgentClientError.description`).
struct SocketAgentCaller: AgentCaller {
    let client: AgentClient
    /// `venice-agent mcp` runs as the host's user, a child of the host: files are the host's to name.
    var localFiles: Bool { true }

    func send(_ request: AgentRequest) async throws(AgentCallFailure) -> AgentReply {
        let method: AgentClient.Method = request.method == .GET ? .GET : .POST
        do {
            let response = try await client.call(method, request.path, body: request.body, contentType: request.contentType,
                                                 timeoutSeconds: Int64(request.timeoutSeconds))
            return AgentReply(status: response.status, contentType: response.contentType, body: response.body,
                              budgetWarning: response.header("x-agent-budget-warning"))
        } catch {
            throw AgentCallFailure(code: Self.code(error), message: error.description)
        }
    }

    static func code(_ error: AgentClientError) -> String {
        switch error {
        case .notRunning, .notASocket, .transport: "AGENT_UNREACHABLE"
        case .agent(_, let code, _, _): code
        case .upstream(let status, _, _): "HTTP_\(status)"
        case .usage: "AGENT_CLIENT"
        }
    }
}
