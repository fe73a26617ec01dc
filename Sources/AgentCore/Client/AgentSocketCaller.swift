import AgentMCP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The agent's MCP endpoint calling the agent's own routes on its Unix socket, with the
/// token of the MCP request: every policy, budget and lock applies unchanged.
struct AgentSocketCaller: AgentCaller {
    let socketPath: String
    let token: String?

    func send(_ request: AgentRequest) async throws(AgentCallFailure) -> AgentReply {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let contentType = request.contentType { headers.append(("Content-Type", contentType)) }
        let exchange = UnixSocketExchange(path: socketPath, expectedUID: UInt32(getuid()), timeoutSeconds: request.timeoutSeconds,
                                          maxResponseBytes: 256 << 20)
        let response: UnixSocketExchange.Response
        do {
            response = try await exchange.send(method: request.method.rawValue, target: request.path, headers: headers, body: request.body ?? [])
        } catch {
            throw AgentCallFailure(code: "AGENT_UNREACHABLE", message: "the agent could not reach its own socket at \(socketPath) (\(error)); the agent may be shutting down")
        }
        func header(_ name: String) -> String? { response.headers.first { $0.name.lowercased() == name }?.value }
        guard (200..<300).contains(response.status) else {
            let refusal = AgentRefusal.parse(status: response.status, body: response.body)
            throw AgentCallFailure(code: refusal.code(status: response.status), message: refusal.line(status: response.status))
        }
        return AgentReply(status: response.status, contentType: header("content-type") ?? "", body: response.body,
                          budgetWarning: header("x-agent-budget-warning"))
    }
}
