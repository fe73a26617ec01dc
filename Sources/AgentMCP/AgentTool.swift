public import MCP

/// One MCP tool: its definition (name, description, input schema) and what it does with the
/// agent. Tools hold no state; the caller carries the client's identity.
public struct AgentTool: Sendable {
    public typealias Run = @Sendable (ToolArguments, any AgentCaller) async throws(ToolFailure) -> CallTool.Result

    public let definition: Tool
    let run: Run

    public init(name: String, title: String, description: String, inputSchema: Value, readOnly: Bool, spends: Bool, run: @escaping Run) {
        self.definition = Tool(name: name, title: title, description: description + (spends ? " Paid from the agent's wallet within this client's budget." : ""),
                               inputSchema: inputSchema,
                               annotations: .init(title: title, readOnlyHint: readOnly, destructiveHint: false, openWorldHint: true))
        self.run = run
    }

    public var name: String { definition.name }

    /// Runs the tool; every failure becomes an `isError` result whose text says what to do.
    public func call(_ arguments: [String: Value]?, caller: any AgentCaller) async -> CallTool.Result {
        do {
            return try await run(ToolArguments(arguments), caller)
        } catch {
            return ToolResults.failure(error)
        }
    }
}

/// The agent call every tool makes: a refusal becomes `ToolFailure.refused`.
func send(_ caller: any AgentCaller, _ request: AgentRequest) async throws(ToolFailure) -> AgentReply {
    do {
        return try await caller.send(request)
    } catch {
        throw .refused(error)
    }
}
