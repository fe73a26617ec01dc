import AgentCore
import Foundation
import WalletCrypto

/// Everything a client command can fail with, each rendered as one line that says what to do.
enum AgentClientError: Error, Sendable, CustomStringConvertible {
    /// Nothing listens at the socket.
    case notRunning(socket: String, detail: String)
    /// The path exists but is not a Unix socket.
    case notASocket(String)
    /// The connection broke in a way other than "not running".
    case transport(socket: String, detail: String)
    /// The agent refused (`{"error":{"code":"AGENT_…","message":"…"}}`).
    case agent(status: Int, code: String, message: String, details: JSONObject)
    /// Venice's answer, passed through the agent unchanged.
    case upstream(status: Int, message: String, code: String?)
    /// A problem on this side: a missing file, a needed confirmation, a bad answer.
    case usage(String)

    static let startHint = "start one with `eval \"$(venice-agent serve --keystore KEYSTORE.json --daemonize --print-env)\"` "
        + "and then `venice-agent unlock` (or pass --socket / set VENICE_AGENT_SOCK to a running agent's socket)"

    var description: String {
        switch self {
        case .notRunning(let socket, let detail):
            "no agent is listening at \(socket) (\(detail)); \(Self.startHint)"
        case .notASocket(let path):
            "\(path) is not a Unix socket; pass --socket with the path `venice-agent serve` printed (VENICE_AGENT_SOCK=…)"
        case .transport(let socket, let detail):
            "the connection to the agent at \(socket) failed: \(detail)"
        case .agent(_, let code, let message, let details):
            Self.agentLine(code: code, message: message, details: details)
        case .upstream(let status, let message, let code):
            Self.upstreamLine(status: status, message: message, code: code)
        case .usage(let message):
            message
        }
    }

    var agentCode: String? {
        if case .agent(_, let code, _, _) = self { code } else { nil }
    }

    static func agentLine(code: String, message: String, details: JSONObject) -> String {
        AgentRefusal.agentLine(code: code, message: message, details: details)
    }

    static func upstreamLine(status: Int, message: String, code: String?) -> String {
        AgentRefusal.upstreamLine(status: status, message: message, code: code)
    }

    /// Reads an error answer: the agent's own shape, or Venice's shapes (VENICE.md §9.1).
    static func from(_ response: AgentResponse) -> AgentClientError {
        switch AgentRefusal.parse(status: response.status, body: response.body) {
        case .agent(let code, let message, let details): .agent(status: response.status, code: code, message: message, details: details)
        case .upstream(let message, let code): .upstream(status: response.status, message: message, code: code)
        }
    }
}
