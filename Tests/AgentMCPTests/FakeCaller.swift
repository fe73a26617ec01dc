import AgentMCP
import Foundation
import MCP
import Synchronization

/// An agent that answers from a table of paths and records every request.
final class FakeCaller: AgentCaller {
    typealias Answer = @Sendable (AgentRequest) throws(AgentCallFailure) -> AgentReply
    private let answers: [String: Answer]
    private let seen = Mutex<[AgentRequest]>([])

    /// Like `venice-agent mcp` on stdio unless told otherwise (`/mcp` inside the agent has none).
    let localFiles: Bool

    init(_ answers: [String: Answer], localFiles: Bool = true) {
        self.answers = answers
        self.localFiles = localFiles
    }

    var requests: [AgentRequest] { seen.withLock { $0 } }

    func send(_ request: AgentRequest) async throws(AgentCallFailure) -> AgentReply {
        seen.withLock { $0.append(request) }
        let path = String(request.path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let answer = answers[path] else {
            throw AgentCallFailure(code: "AGENT_UNKNOWN_ROUTE", message: "no such route in the fake: \(path)")
        }
        return try answer(request)
    }

    static func json(_ value: Value, warning: String? = nil) -> Answer {
        { _ in AgentReply(contentType: "application/json", body: JSONCoding.bytes(value), budgetWarning: warning) }
    }

    static func refuse(_ code: String, _ message: String) -> Answer {
        { _ throws(AgentCallFailure) in throw AgentCallFailure(code: code, message: message) }
    }

    /// The JSON body of a recorded request.
    static func body(_ request: AgentRequest?) -> [String: Value] {
        request?.body.flatMap { JSONCoding.value($0)?.objectValue } ?? [:]
    }
}

enum Fixtures {
    /// A valid 1×1 PNG header's first bytes (enough for the magic-number check).
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + [0, 0, 0, 1, 0, 0, 0, 1]
    static let wav: [UInt8] = Array("RIFF".utf8) + [36, 0, 0, 0] + Array("WAVE".utf8)

    static func text(_ content: [Tool.Content]) -> String {
        content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined(separator: "\n")
    }
}
