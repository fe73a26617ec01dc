#if canImport(Glibc)
import Glibc
#endif

/// Where the TCP listener binds: a loopback address and a port, nothing else. Parsed from
/// `--listen` / `listen`: `127.0.0.1:PORT` (any 127.0.0.0/8 address), `[::1]:PORT` or
/// `localhost:PORT` (127.0.0.1). Port 0 lets the kernel pick a free one. Anything that is not
/// loopback — `0.0.0.0`, a LAN address, another host name — is refused, because over TCP the
/// agent would be serving the wallet to the network.
public struct LoopbackAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    /// The numeric host (`127.0.0.1`, `::1`), never a name.
    public let host: String
    public let port: Int
    public let family: Family

    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// `127.0.0.1:8080`, `[::1]:8080`.
    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The base URL of the listener.
    public var url: String { "http://\(description)" }

    public init(host: String, port: Int, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    public init(parsing text: String) throws(Invalid) {
        let hostPart: Substring
        let portPart: Substring
        var bracketed = false
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw Invalid(description: "listen address \(text) has an unclosed [; write [::1]:PORT")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw Invalid(description: "listen address \(text) needs a port after ]; write [::1]:PORT") }
            portPart = rest.dropFirst()
            bracketed = true
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw Invalid(description: "listen address \(text) has no port; write 127.0.0.1:PORT (0 picks a free port)")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            guard !hostPart.contains(":") else {
                throw Invalid(description: "listen address \(text): an IPv6 address must be in brackets, e.g. [::1]:PORT")
            }
        }
        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portPart), port <= 65_535 else {
            throw Invalid(description: "listen address \(text): the port must be a number from 0 to 65535")
        }
        let host = String(hostPart)
        if !bracketed, host.lowercased() == "localhost" {
            self.init(host: "127.0.0.1", port: port, family: .ipv4)
            return
        }
        if !bracketed, let octets = Self.ipv4(host) {
            guard octets[0] == 127 else {
                throw Invalid(description: "listen address \(text) is not loopback; the agent listens on 127.0.0.1 or [::1] only, never on the network")
            }
            self.init(host: host, port: port, family: .ipv4)
            return
        }
        if bracketed, let bytes = Self.ipv6(host) {
            guard bytes == Array(repeating: 0, count: 15) + [1] else {
                throw Invalid(description: "listen address \(text) is not loopback; the agent listens on 127.0.0.1 or [::1] only, never on the network")
            }
            self.init(host: "::1", port: port, family: .ipv6)
            return
        }
        throw Invalid(description: "listen address \(text): the host must be 127.0.0.1, [::1] or localhost (never a network address or another name)")
    }

    /// Dotted-quad IPv4 (four decimal octets, no leading zeros beyond "0").
    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(part.count > 1 && part.first == "0"), let value = UInt8(part) else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// An IPv6 literal's 16 bytes (inet_pton), nil when it is not one.
    static func ipv6(_ text: String) -> [UInt8]? {
        guard text.count <= 45, !text.contains("%") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
