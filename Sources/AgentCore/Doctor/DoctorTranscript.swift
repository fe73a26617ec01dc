import Synchronization
public import WalletCrypto

/// Every HTTP exchange `venice-agent doctor` made, redacted as it is recorded (nothing
/// secret is ever held here), bodies cut to `maxBodyBytes`. Written once, 0600, atomically.
public final class DoctorTranscript: Sendable {
    public struct Exchange: Sendable {
        public var method: String
        /// `agent:/api/v1/models` (through the socket) or the upstream URL (direct).
        public var target: String
        public var status: Int?
        public var requestHeaders: [(String, String)]
        public var requestBody: [UInt8]
        public var responseHeaders: [(String, String)]
        public var responseBody: [UInt8]
        public var error: String?

        public init(method: String, target: String, status: Int? = nil, requestHeaders: [(String, String)] = [], requestBody: [UInt8] = [],
                    responseHeaders: [(String, String)] = [], responseBody: [UInt8] = [], error: String? = nil) {
            self.method = method
            self.target = target
            self.status = status
            self.requestHeaders = requestHeaders
            self.requestBody = requestBody
            self.responseHeaders = responseHeaders
            self.responseBody = responseBody
            self.error = error
        }
    }

    public static let maxBodyBytes = 4096
    private let redactor = TranscriptRedactor()
    private let exchanges = Mutex<[JSONValue]>([])

    public init() {}

    public func record(_ exchange: Exchange) {
        let entry = render(exchange)
        exchanges.withLock { $0.append(entry) }
    }

    func render(_ e: Exchange) -> JSONValue {
        func headers(_ list: [(String, String)]) -> JSONValue {
            .array(list.map { name, value in .array([.string(name), .string(redactor.header(name: name, value: value))]) })
        }
        var pairs: [(String, JSONValue)] = [
            ("method", .string(e.method)), ("target", .string(redactor.text(e.target))),
            ("status", e.status.map { .number(String($0)) } ?? .null),
            ("request_headers", headers(e.requestHeaders)), ("request_body", body(e.requestBody, headers: e.requestHeaders)),
            ("response_headers", headers(e.responseHeaders)), ("response_body", body(e.responseBody, headers: e.responseHeaders)),
        ]
        if let error = e.error { pairs.append(("error", .string(redactor.text(error)))) }
        return .object(JSONObject(pairs))
    }

    /// Text bodies (redacted, cut); binary ones (images, audio) only by size.
    func body(_ bytes: [UInt8], headers: [(String, String)]) -> JSONValue {
        guard !bytes.isEmpty else { return .null }
        let type = headers.first { $0.0.lowercased() == "content-type" }?.1.lowercased() ?? ""
        let isText = type.isEmpty || type.hasPrefix("text/") || type.contains("json") || type.contains("x-www-form-urlencoded")
        guard isText else { return .string("[\(bytes.count) bytes of \(type)]") }
        // Redacted whole, then cut: a cut could otherwise split a secret below what the redactor recognises.
        let redacted = redactor.text(String(decoding: bytes, as: UTF8.self))
        guard redacted.utf8.count > Self.maxBodyBytes else { return .string(redacted) }
        let kept = String(decoding: Array(redacted.utf8.prefix(Self.maxBodyBytes)), as: UTF8.self)
        return .string(kept + " …[\(redacted.utf8.count - Self.maxBodyBytes) more bytes cut]")
    }

    /// The transcript as JSON lines, one exchange each.
    public func rendered() -> [UInt8] {
        let lines = exchanges.withLock { $0 }.map { $0.serialized() }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Writes it to `path`: 0600, atomically (a temporary file renamed into place).
    public func write(to path: String) throws(WalletCryptoError) {
        try SecureFile.write(rendered(), to: path, overwrite: true)
    }
}
