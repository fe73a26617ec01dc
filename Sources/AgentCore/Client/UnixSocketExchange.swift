internal import CAgentSystem
import Foundation
import WalletCrypto
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange with the agent over its Unix socket, for the CLI. Before a byte of
/// the request (which may carry a password or a client token) is written, the kernel is asked
/// who is listening (SO_PEERCRED on the very connection the request then uses): a server
/// running as another uid — someone who replaced the socket in a folder they could write —
/// gets nothing.
public struct UnixSocketExchange: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(name: String, value: String)]
        public let body: [UInt8]
    }

    public enum Failure: Error, Sendable, Equatable {
        /// Nothing accepts connections there (ECONNREFUSED, ENOENT).
        case notRunning(String)
        /// The server is not the expected uid; nothing was sent.
        case foreignServer(uid: UInt32, expected: UInt32)
        case timedOut
        case tooLarge(limit: Int)
        case transport(String)
    }

    public let path: String
    /// The uid the agent must run as (normally the caller's own).
    public let expectedUID: UInt32
    public let timeoutSeconds: Int
    public let maxResponseBytes: Int

    public init(path: String, expectedUID: UInt32, timeoutSeconds: Int, maxResponseBytes: Int) {
        self.path = path
        self.expectedUID = expectedUID
        self.timeoutSeconds = max(1, timeoutSeconds)
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends `head` + `body` and reads the whole answer, on a thread of its own (blocking I/O).
    public func send(method: String, target: String, headers: [(String, String)], body: [UInt8]) async throws(Failure) -> Response {
        // The request may hold a password or a token: one copy, wiped when the exchange is done.
        let request = WipedOnRelease(Self.render(method: method, target: target, headers: headers, body: body))
        let result: Result<Response, Failure> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: Result { () throws(Failure) in try exchange(request) }) }
            thread.name = "venice-agent-client"
            thread.start()
        }
        return try result.get()
    }

    static func render(method: String, target: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    func exchange(_ request: WipedOnRelease) throws(Failure) -> Response {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .transport("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .transport("the socket path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            if code == ECONNREFUSED || code == ENOENT { throw .notRunning(String(cString: strerror(code))) }
            throw .transport("connect: \(String(cString: strerror(code)))")
        }
        var uid: UInt32 = 0, gid: UInt32 = 0, pid: Int32 = 0
        guard venice_peer_credentials(fd, &uid, &gid, &pid) == 0 else { throw .transport("cannot read the server's credentials (SO_PEERCRED)") }
        guard uid == expectedUID else { throw .foreignServer(uid: uid, expected: expectedUID) }

        var sent = 0
        while sent < request.bytes.count {
            let n = request.bytes.withUnsafeBytes { raw in Glibc.send(fd, raw.baseAddress.map { $0 + sent }, raw.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw .timedOut }
                throw .transport("send: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw .timedOut }
                throw .transport("recv: \(String(cString: strerror(errno)))")
            }
            guard received.count + n <= maxResponseBytes + 64 * 1024 else { throw .tooLarge(limit: maxResponseBytes) }
            received.append(contentsOf: chunk[0..<n])
        }
        // The request said `Connection: close`: the answer ends where the stream does.
        return try Self.parse(received, limit: maxResponseBytes)
    }

    /// Parses a complete response (status line, headers, a body framed by length, chunks or close).
    static func parse(_ bytes: [UInt8], limit: Int) throws(Failure) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = bytes.firstRange(of: separator) else { throw .transport("the agent's answer ended before its headers did") }
        let headText = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]), (100...599).contains(status) else {
            throw .transport("the answer is not HTTP")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
        let payload = Array(bytes[headEnd.upperBound...])
        let body: [UInt8]
        if header("transfer-encoding")?.lowercased().contains("chunked") == true {
            body = try dechunk(payload, limit: limit)
        } else if let text = header("content-length") {
            guard let length = Int(text), length >= 0 else { throw .transport("the answer's Content-Length is not a length: \(text.prefix(32))") }
            guard length <= limit else { throw .tooLarge(limit: limit) }
            guard payload.count >= length else { throw .transport("the answer ended after \(payload.count) of \(length) bytes") }
            body = Array(payload[0..<length])
        } else {
            body = payload
        }
        guard body.count <= limit else { throw .tooLarge(limit: limit) }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { throw .transport("a chunk was cut short") }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw .transport("a chunk size is malformed")
            }
            index = lineEnd.upperBound
            if size == 0 { return out }
            guard size <= limit - out.count else { throw .tooLarge(limit: limit) }
            guard bytes.count - index >= size + 2 else { throw .transport("a chunk was cut short") }
            out.append(contentsOf: bytes[index..<(index + size)])
            index += size + 2
        }
    }
}

/// Bytes that are overwritten with zeros when released (the array is never copied elsewhere).
final class WipedOnRelease: @unchecked Sendable {
    // Invariant: written only in init and deinit; read while the exchange runs.
    private(set) var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    deinit { bytes.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
}
