import Foundation

/// One request to the agent, with a path under the agent's socket (`/api/v1/…` for Venice
/// routes, `/agent/v1/…` for the agent's own).
public struct AgentRequest: Sendable, Equatable {
    public enum Method: String, Sendable { case GET, POST }

    public let method: Method
    public let path: String
    public let body: [UInt8]?
    public let contentType: String?
    public let timeoutSeconds: Int

    public init(_ method: Method, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, timeoutSeconds: Int = 300) {
        self.method = method
        self.path = path
        self.body = body
        self.contentType = contentType
        self.timeoutSeconds = timeoutSeconds
    }
}

/// A successful (2xx) answer of the agent.
public struct AgentReply: Sendable {
    public let status: Int
    /// Lower-cased, parameters kept (`audio/mpeg`, `application/json; charset=utf-8`).
    public let contentType: String
    public let body: [UInt8]
    /// `X-Agent-Budget-Warning`, when the client has passed its soft limit.
    public let budgetWarning: String?

    public init(status: Int = 200, contentType: String, body: [UInt8], budgetWarning: String? = nil) {
        self.status = status
        self.contentType = contentType.lowercased()
        self.body = body
        self.budgetWarning = budgetWarning
    }

    public var isJSON: Bool { contentType.hasPrefix("application/json") }
}

/// Why the agent gave no successful answer. `message` is one line that says what to do
/// (the CLI's own wording for the same failure); it never holds the token.
public struct AgentCallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The agent's stable code (`AGENT_BUDGET_EXCEEDED`, `AGENT_LOCKED`, …), Venice's status as
    /// `HTTP_402`…, or `AGENT_UNREACHABLE` when nothing answered.
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// How the MCP server reaches the agent: the CLI's socket client, the agent's own socket for
/// `/mcp`, or a fake in tests. It carries the caller's token itself, so the MCP layer never
/// sees one.
public protocol AgentCaller: Sendable {
    /// Sends `request`; returns a 2xx answer or throws what the agent or Venice refused.
    func send(_ request: AgentRequest) async throws(AgentCallFailure) -> AgentReply

    /// Whether tools may read and write local files (`file_path`, `save_to`). Only
    /// `venice-agent mcp` on stdio may: it runs as the host's own user, at the host's bidding.
    /// Inside the agent (`/mcp`) a client must never reach the owner's files.
    var localFiles: Bool { get }
}

extension AgentCaller {
    public var localFiles: Bool { false }
}
