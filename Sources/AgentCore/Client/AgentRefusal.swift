import Foundation
public import WalletCrypto

/// A non-2xx answer of the agent read as one line that says what to do: the agent's own
/// refusals (`{"error":{"code":"AGENT_…","message":"…"}}`) and Venice's error shapes passed
/// through (VENICE.md §9.1). The CLI and the agent's MCP endpoint word failures the same way.
public enum AgentRefusal: Sendable, Equatable {
    /// The agent refused.
    case agent(code: String, message: String, details: JSONObject)
    /// Venice's answer, passed through the agent unchanged.
    case upstream(message: String, code: String?)

    /// Reads an error answer's body.
    public static func parse(status: Int, body: [UInt8]) -> AgentRefusal {
        guard let json = try? JSONValue(parsing: body), let error = json["error"] else {
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .upstream(message: text.isEmpty ? "no details" : String(text.prefix(300)), code: nil)
        }
        if let object = error.objectValue, let code = object["code"]?.stringValue, code.hasPrefix("AGENT_") {
            return .agent(code: code, message: object["message"]?.stringValue ?? "", details: object)
        }
        if let object = error.objectValue {  // OpenAI shape
            return .upstream(message: object["message"]?.stringValue ?? error.serialized(), code: object["code"]?.stringValue)
        }
        var message = error.stringValue ?? error.serialized()
        if let detail = json["message"]?.stringValue { message += ": " + detail }
        if let issues = json["issues"]?.arrayValue, let first = issues.first?["message"]?.stringValue {
            let path = issues.first?["path"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ".") ?? ""
            message += path.isEmpty ? " — \(first)" : " — \(path): \(first)"
        }
        return .upstream(message: message, code: json["code"]?.stringValue)
    }

    /// The line for this refusal of an answer with `status`.
    public func line(status: Int) -> String {
        switch self {
        case .agent(let code, let message, let details): Self.agentLine(code: code, message: message, details: details)
        case .upstream(let message, let code): Self.upstreamLine(status: status, message: message, code: code)
        }
    }

    /// The agent's code, or `HTTP_<status>` for Venice's answers.
    public func code(status: Int) -> String {
        switch self {
        case .agent(let code, _, _): code
        case .upstream: "HTTP_\(status)"
        }
    }

    public static func agentLine(code: String, message: String, details: JSONObject) -> String {
        switch code {
        case "AGENT_LOCKED":
            return "the agent is locked; run `venice-agent unlock` (AGENT_LOCKED)"
        case "AGENT_BUDGET_EXCEEDED":
            let limit = details["limit"]?.stringValue ?? "budget"
            let limitUSD = details["limit_usd"]?.doubleValue.map(usd) ?? "?"
            let spent = details["spent_usd"]?.doubleValue.map(usd) ?? "?"
            let estimate = details["estimate_usd"]?.doubleValue.map(usd) ?? "?"
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

    public static func upstreamLine(status: Int, message: String, code: String?) -> String {
        let coded = code.map { " (\($0))" } ?? ""
        var line = "Venice answered \(status): \(message)\(coded)"
        if status == 402 { line += "; add credit with `venice-agent topup 10`" }
        if status == 429 { line += "; wait a moment and try again" }
        return line
    }

    /// USD amounts as people read them: two decimals, more only when a charge is smaller than a cent.
    public static func usd(_ value: Double) -> String {
        let sign = value < 0 ? "-" : ""
        let magnitude = abs(value)
        var text = String(format: "%.6f", magnitude)
        while text.hasSuffix("0"), let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) > 3 {
            text.removeLast()
        }
        return "\(sign)$\(text)"
    }
}
