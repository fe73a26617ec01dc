import Foundation

/// `scheme://host[:port]` of an upstream, normalised (lower case, default port dropped).
/// Requirements remember the origin they were fetched from; the payment policy compares it.
public struct UpstreamOrigin: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int?

    public static let venice = UpstreamOrigin(validatedScheme: "https", host: "api.venice.ai", port: nil)

    init(validatedScheme scheme: String, host: String, port: Int?) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// From any URL on that upstream (`https://api.venice.ai/api/v1/x402/top-up`).
    public init(url: String) throws(X402Error) {
        guard let sep = url.range(of: "://") else { throw .invalidUpstream("\(url) has no scheme") }
        let scheme = url[url.startIndex..<sep.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { throw .invalidUpstream("scheme \(scheme) is not http(s)") }
        var rest = url[sep.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[rest.startIndex..<end] }
        guard !rest.contains("@") else { throw .invalidUpstream("userinfo is not allowed in \(url)") }
        var host = rest
        var port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[rest.startIndex..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw .invalidUpstream("bad port in \(url)")
            }
            port = p
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ RFC3986.isUnreserved($0) || $0 == 91 || $0 == 93 || $0 == 58 }) else {
            throw .invalidUpstream("bad host in \(url)")
        }
        if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) { port = nil }
        self.init(validatedScheme: scheme, host: host.lowercased(), port: port)
    }

    public var description: String { scheme + "://" + host + (port.map { ":\($0)" } ?? "") }
}

/// The configured upstream: its origin and the path prefix of the API (`/api/v1`). The one
/// place an upstream URL is parsed: the HTTP client builds request URLs from it, the payment
/// policy compares its origin, and "is this the real Venice" is a question about its origin.
public struct UpstreamBaseURL: Sendable, Hashable, CustomStringConvertible {
    public let origin: UpstreamOrigin
    /// The path prefix, without a trailing slash (empty for the root).
    public let path: String

    public static let venice = UpstreamBaseURL(origin: .venice, path: "/api/v1")

    private init(origin: UpstreamOrigin, path: String) {
        self.origin = origin
        self.path = path
    }

    /// `https://api.venice.ai/api/v1` (a query or fragment is refused).
    public init(_ url: String) throws(X402Error) {
        let origin = try UpstreamOrigin(url: url)
        guard let sep = url.range(of: "://") else { throw .invalidUpstream("\(url) has no scheme") }
        let rest = url[sep.upperBound...]
        var path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? ""
        guard !path.contains("?"), !path.contains("#") else { throw .invalidUpstream("\(url) must not carry a query or fragment") }
        guard path.utf8.allSatisfy({ RFC3986.isUnreserved($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "%") }) else {
            throw .invalidUpstream("bad path in \(url)")
        }
        while path.hasSuffix("/") { path.removeLast() }
        self.init(origin: origin, path: path)
    }

    /// True for Venice's own API (where public test keys are refused).
    public var isVenice: Bool { origin == .venice }

    /// `origin + path + route`, e.g. for `/image/generate`.
    public func url(for route: String) -> String { origin.description + path + route }

    public var description: String { origin.description + path }
}
