import AsyncHTTPClient
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
    func send(_ method: Method, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
              contentType: String? = nil, accept: String? = nil, timeoutSeconds: Int64 = 900) async throws(AgentClientError) -> AgentResponse {
        try checkSocket()
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw .usage("cannot build a request URL for socket \(socketPath) and path \(path)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method.rawValue)
        request.headers.add(name: "Host", value: "agent")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serializedBytes()))
        } else if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            return AgentResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw .notRunning(socket: socketPath, detail: "connecting timed out")
        } catch let error as HTTPClientError where error == .remoteConnectionClosed {
            throw .transport(socket: socketPath, detail: "the agent closed the connection before answering; it may have stopped (check `venice-agent status`)")
        } catch let error as NIOTooManyBytesError {
            throw .transport(socket: socketPath, detail: "the answer is larger than \(Self.maxResponseBytes) bytes (\(error))")
        } catch {
            let detail = String(describing: error)
            if detail.contains("ECONNREFUSED") || detail.contains("Connection refused") || detail.contains("connectTimeout") {
                throw .notRunning(socket: socketPath, detail: "nothing answers on the socket; it may be left over from a stopped agent")
            }
            throw .transport(socket: socketPath, detail: detail)
        }
    }

    /// Fails early, with a precise line, when the socket is missing or is not a socket.
    func checkSocket() throws(AgentClientError) {
        var info = stat()
        guard stat(socketPath, &info) == 0 else {
            if errno == EACCES { throw .transport(socket: socketPath, detail: "permission denied; the socket belongs to another user") }
            throw .notRunning(socket: socketPath, detail: "no socket there")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(socketPath) }
    }
}
