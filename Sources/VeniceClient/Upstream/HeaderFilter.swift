import Foundation
public import NIOHTTP1

/// Which headers may cross the agent. Client credentials never reach Venice; hop-by-hop
/// headers are per-connection and are never forwarded in either direction.
public enum HeaderFilter {
    static let clientCredentials: Set<String> = [
        "authorization", "sign-in-with-x", "x-sign-in-with-x", "payment-signature", "x-payment",
        "x-402-payment", "cookie", "proxy-authorization",
    ]
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "expect",
    ]

    /// Whether a client request header (lower-case name) may go upstream; `connection` is the
    /// request's Connection header, whose listed names are hop-by-hop too.
    public static func mayForward(_ lowercasedName: String, connectionNamed connection: String?) -> Bool {
        if clientCredentials.contains(lowercasedName) || hopByHop.contains(lowercasedName) { return false }
        guard let connection else { return true }
        return !connection.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == lowercasedName }
    }

    /// Headers of a client request that may go upstream.
    public static func forwardable(_ headers: HTTPHeaders) -> HTTPHeaders {
        let named = connectionNamed(headers)
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if clientCredentials.contains(lower) || hopByHop.contains(lower) || named.contains(lower) { continue }
            out.add(name: name, value: value)
        }
        return out
    }

    /// Headers of an upstream response that may go back to the client.
    public static func returnable(_ headers: HTTPHeaders) -> HTTPHeaders {
        let named = connectionNamed(headers)
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower == "set-cookie" { continue }
            out.add(name: name, value: value)
        }
        return out
    }

    static func connectionNamed(_ headers: HTTPHeaders) -> Set<String> {
        Set(headers["connection"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    }
}

