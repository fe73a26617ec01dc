import AgentCore
import Foundation
import NIOCore
import NIOHTTP1
import WalletCrypto
#if canImport(Glibc)
import Glibc
#endif

/// One answer from the agent, body collected (bounded).
struct AgentResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: JSONValue? { try? JSONValue(parsing: body) }
    var text: String { String(decoding: body, as: UTF8.self) }
    var contentType: String { headers.first(name: "content-type")?.lowercased() ?? "" }
    var isJSON: Bool { contentType.hasPrefix("application/json") }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// HTTP/1.1 to the agent over its Unix socket (`http+unix`). Holds no secret; every
/// failure becomes an `AgentClientError` whose description says what to do next.
struct AgentClient: Sendable {
    let socketPath: String
    /// A named client's local token (`vat_…`), sent as `Authorization: Bearer`; the agent never forwards it.
    let token: String?
    /// Largest answer kept in memory (music files are the biggest).
    static let maxResponseBytes = 256 << 20

    /// The methods the agent's routes use.
    enum Method: String, Sendable { case GET, POST, DELETE }

    init(socketPath: String, token: String? = nil) {
        self.socketPath = socketPath
        self.token = token
    }

    /// Sends a request and returns the answer when it is 2xx; otherwise throws the agent's or Venice's error.
    func call(_ method: Method, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
              contentType: String? = nil, accept: String? = nil, timeoutSeconds: Int64 = 900) async throws(AgentClientError) -> AgentResponse {
        let response = try await send(method, path, json: json, body: body, contentType: contentType, accept: accept,
                                      timeoutSeconds: timeoutSeconds)
        guard (200..<300).contains(response.status) else { throw AgentClientError.from(response) }
        return response
    }

    /// Sends a request and returns any answer; throws only when the agent cannot be reached.
    /// Nothing is sent unless the process listening on the socket runs as the expected uid
    /// (the caller's own, or `VENICE_AGENT_UID`): a socket replaced by another user gets no
    /// password and no token.
    func send(_ method: Method, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
              contentType: String? = nil, accept: String? = nil, timeoutSeconds: Int64 = 900) async throws(AgentClientError) -> AgentResponse {
        try checkSocket()
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let accept { headers.append(("Accept", accept)) }
        var payload: [UInt8] = []
        if let json {
            headers.append(("Content-Type", "application/json"))
            payload = json.serializedBytes()
        } else if let body {
            headers.append(("Content-Type", contentType ?? "application/octet-stream"))
            payload = body
        }
        let exchange = UnixSocketExchange(path: socketPath, expectedUID: Self.expectedServerUID(),
                                          timeoutSeconds: Int(clamping: timeoutSeconds), maxResponseBytes: Self.maxResponseBytes)
        let response: UnixSocketExchange.Response
        do {
            response = try await exchange.send(method: method.rawValue, target: path, headers: headers, body: payload)
        } catch {
            switch error {
            case .notRunning(let detail):
                throw .notRunning(socket: socketPath, detail: "nothing answers on the socket (\(detail)); it may be left over from a stopped agent")
            case .foreignServer(let uid, let expected):
                throw .transport(socket: socketPath, detail: "the process listening there runs as uid \(uid), not uid \(expected); nothing was sent. "
                                 + "Someone may have replaced the socket: check the folder, or set VENICE_AGENT_UID if the agent really runs as another user")
            case .timedOut:
                throw .transport(socket: socketPath, detail: "no answer within \(timeoutSeconds) s")
            case .tooLarge(let limit):
                throw .transport(socket: socketPath, detail: "the answer is larger than \(limit) bytes")
            case .transport(let detail):
                throw .transport(socket: socketPath, detail: detail)
            }
        }
        var fields = HTTPHeaders()
        for (name, value) in response.headers { fields.add(name: name, value: value) }
        return AgentResponse(status: response.status, headers: fields, body: response.body)
    }

    /// The uid the agent must run as: `VENICE_AGENT_UID`, else our own.
    static func expectedServerUID() -> UInt32 {
        if let text = ProcessInfo.processInfo.environment["VENICE_AGENT_UID"], let uid = UInt32(text) { return uid }
        return UInt32(getuid())
    }

    /// Fails early, with a precise line, when the socket is missing or is not a socket.
    func checkSocket() throws(AgentClientError) {
        switch FileStatus.of(socketPath, followingLinks: true) {
        case .failure(let error) where error == .accessDenied:
            throw .transport(socket: socketPath, detail: "permission denied; the socket belongs to another user")
        case .failure:
            throw .notRunning(socket: socketPath, detail: "no socket there")
        case .success(let status):
            guard status.kind == .socket else { throw .notASocket(socketPath) }
        }
    }
}
