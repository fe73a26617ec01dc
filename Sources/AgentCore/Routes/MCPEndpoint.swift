import AgentMCP
import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore

/// `/mcp` on the loopback TCP listener: the MCP server as Streamable HTTP (stateless, JSON
/// answers). The listener's checks run first (`LoopbackGuard`: Host, Origin) and a client
/// token is required there (`CallerResolver`: 401 without one). Each HTTP request gets an MCP
/// server of its own whose tool calls go to the agent's own Unix socket with that request's
/// token, so the client's routes, models and budgets apply exactly as to its other requests,
/// and no answer can reach another client (JSON-RPC ids are only unique per client). Over the
/// Unix socket `/mcp` does not exist: there, hosts run `venice-agent mcp`.
struct MCPEndpoint: Sendable {
    /// The agent's own socket, which the tools call.
    let socketPath: String
    /// The agent-wide bound on bodies held whole (shared with the proxy): a client sending many
    /// large MCP requests at once gets 503 `AGENT_BUSY` instead of the machine's memory.
    let bodyMemory: BodyMemory
    /// The largest MCP request body (a transcription carries its audio in base64).
    static let maxBodyBytes = 40 << 20

    func register(on router: Router<AgentRequestContext>) {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, context in try await handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: AgentRequestContext) async throws -> Response {
        guard context.connection?.transport == .loopbackTCP else {
            throw AgentError.unknownRoute(method: request.method.rawValue, path: "/mcp (served on the loopback listener; over the socket run `venice-agent mcp`)")
        }
        // The caller middleware has already required the token and found its client.
        guard case .present(let token) = ClientToken.find(in: request.headers, target: request.uri.description) else { throw AgentError.tokenRequired }
        _ = try context.requireCaller()
        let held = BodyMemory.Reservation(bodyMemory)
        let buffer = try await ProxyBody.collect(request.body, upTo: Self.maxBodyBytes, memory: bodyMemory, reservation: held)
        let body: Data? = buffer.readableBytes > 0 ? Data(buffer.readableBytesView) : nil
        // What the MCP transport validates (Accept, Content-Type, protocol version); never the token.
        var headers: [String: String] = [:]
        for field in request.headers where field.name != .authorization { headers[field.name.canonicalName] = field.value }

        let transport = StatelessHTTPServerTransport(validationPipeline: StandardValidationPipeline(validators: [
            AcceptHeaderValidator(mode: .jsonOnly), ContentTypeValidator(), ProtocolVersionValidator(),
        ]))
        let server = await AgentMCPServer(caller: AgentSocketCaller(socketPath: socketPath, token: token), version: AgentConfiguration.version)
            .makeServer()
        try await server.start(transport: transport)
        let answer = await transport.handleRequest(MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: "/mcp"))
        await server.stop()

        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        withExtendedLifetime(held) {}
        let bytes = answer.bodyData.map { ByteBuffer(bytes: $0) } ?? ByteBuffer()
        return Response(status: HTTPResponse.Status(code: answer.statusCode), headers: fields, body: ResponseBody(byteBuffer: bytes))
    }
}
