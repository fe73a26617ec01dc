/// Why a tool call produced no answer. Every case becomes an MCP tool result with
/// `isError: true` whose text says what to do; none crashes the server.
public enum ToolFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument is missing or has the wrong shape.
    case badArgument(name: String, reason: String)
    /// The agent (or Venice behind it) refused, or could not be reached.
    case refused(AgentCallFailure)
    /// The agent answered 2xx with something this tool cannot read.
    case unexpectedAnswer(String)
    /// A file the tool was asked to read or write.
    case file(String)

    /// A stable code for logs and tests.
    public var code: String {
        switch self {
        case .badArgument: "MCP_BAD_ARGUMENT"
        case .refused(let failure): failure.code
        case .unexpectedAnswer: "MCP_UNEXPECTED_ANSWER"
        case .file: "MCP_FILE"
        }
    }

    public var description: String {
        switch self {
        case .badArgument(let name, let reason): "argument `\(name)` \(reason); fix it and call the tool again"
        case .refused(let failure): failure.message
        case .unexpectedAnswer(let detail): "the agent's answer could not be read: \(detail)"
        case .file(let detail): detail
        }
    }
}
