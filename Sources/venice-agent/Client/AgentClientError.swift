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
        switch code {
        case "AGENT_LOCKED":
            return "the agent is locked; run `venice-agent unlock` (AGENT_LOCKED)"
        case "AGENT_BUDGET_EXCEEDED":
            let limit = details["limit"]?.stringValue ?? "budget"
            let limitUSD = details["limit_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
            let spent = details["spent_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
            let estimate = details["estimate_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
            if limit == "max_request_usd" {
                return "this request (about \(estimate)) is over this client's max_request_usd limit of \(limitUSD); ask for less or raise the limit (AGENT_BUDGET_EXCEEDED)"
            }
            return "this client's \(limit) budget of \(limitUSD) would be exceeded (spent \(spent), this request about \(estimate)); wait for tomorrow or raise the limit (AGENT_BUDGET_EXCEEDED)"
        case "AGENT_PAYMENT_REFUSED":
            let reason = details["reason"]?.stringValue.map { " [\($0)]" } ?? ""
            return "top-up refused\(reason): \(message) (AGENT_PAYMENT_REFUSED)"
        default:
            return "\(code): \(message)"
        }
    }

    static func upstreamLine(status: Int, message: String, code: String?) -> String {
        let coded = code.map { " (\($0))" } ?? ""
        var line = "Venice answered \(status): \(message)\(coded)"
        if status == 402 { line += "; add credit with `venice-agent topup 10`" }
        if status == 429 { line += "; wait a moment and try again" }
        return line
    }

    /// Reads an error answer: the agent's own shape, or Venice's shapes (VENICE.md §9.1).
    static func from(_ response: AgentResponse) -> AgentClientError {
        guard let json = response.json, let error = json["error"] else {
            let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            return .upstream(status: response.status, message: text.isEmpty ? "no details" : String(text.prefix(300)), code: nil)
        }
        if let object = error.objectValue, let code = object["code"]?.stringValue, code.hasPrefix("AGENT_") {
            return .agent(status: response.status, code: code, message: object["message"]?.stringValue ?? "", details: object)
        }
        if let object = error.objectValue {  // OpenAI shape
            return .upstream(status: response.status, message: object["message"]?.stringValue ?? error.serialized(),
                             code: object["code"]?.stringValue)
        }
        var message = error.stringValue ?? error.serialized()
        if let detail = json["message"]?.stringValue { message += ": " + detail }
        if let issues = json["issues"]?.arrayValue, let first = issues.first?["message"]?.stringValue {
            let path = issues.first?["path"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ".") ?? ""
            message += path.isEmpty ? " — \(first)" : " — \(path): \(first)"
        }
        return .upstream(status: response.status, message: message, code: json["code"]?.stringValue)
    }
}
