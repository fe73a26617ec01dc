import HTTPTypes
import Hummingbird
import Synchronization

/// The TCP listener's bound address, once it is bound (the port is the kernel's pick for `:0`).
/// A listener the agent started only for its dashboard (no `listen` configured) serves the
/// dashboard and nothing else.
public final class ListenerAddress: Sendable {
    private let bound = Mutex<(address: LoopbackAddress, dashboardOnly: Bool)?>(nil)

    public init() {}

    public var value: LoopbackAddress? { bound.withLock { $0?.address } }

    /// True for the listener started on demand by `venice-agent dashboard`.
    public var isDashboardOnly: Bool { bound.withLock { $0?.dashboardOnly ?? false } }

    func set(_ address: LoopbackAddress, dashboardOnly: Bool = false) { bound.withLock { $0 = (address, dashboardOnly) } }
}

/// What a request over the loopback TCP listener must look like before anyone reads its token.
/// A web page can make a browser send requests to 127.0.0.1, and a DNS-rebinding page can even
/// do it under its own host name, so:
/// - `Host` must be the listener's own loopback name or address with its port (421 otherwise
///   would also do; 403 names the problem);
/// - a request carrying an `Origin` that is not a loopback page is refused (the agent never
///   sends CORS headers, so no other page can read an answer either);
/// - the owner's API and the metrics are served over the Unix socket only; over TCP only
///   `/api/v1/…`, `/mcp` (MCP as Streamable HTTP) and a client's own `/agent/v1/status`,
///   `balance`, `spend` and `budget`.
/// Unix-socket requests pass untouched.
struct LoopbackGuard: RouterMiddleware {
    typealias Context = AgentRequestContext

    let listener: ListenerAddress

    /// `/agent/v1/…` routes a token client may call over TCP (each answers about the client itself).
    static let tcpAgentRoutes: Set<String> = ["/agent/v1/status", "/agent/v1/balance", "/agent/v1/spend", "/agent/v1/budget",
                                              "/agent/v1/topup/request"]
    /// The read-only views a dashboard session may GET (`ReaderRequestContext` routes).
    static let dashboardViews: Set<String> = [
        "/agent/v1/status", "/agent/v1/balance", "/agent/v1/spend", "/agent/v1/budget",
        "/agent/v1/clients", "/agent/v1/audit", "/agent/v1/topups", "/agent/v1/requests", "/agent/v1/balance/history",
    ]

    /// Every answer over TCP says: no script or style from anywhere but the agent, no framing,
    /// no sniffing, no referrer, no caching. The dashboard needs nothing more; API clients
    /// ignore them.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-store"),
    ]

    static func isDashboardPath(_ path: String) -> Bool { path == "/dashboard" || path.hasPrefix("/dashboard/") }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.connection?.transport == .loopbackTCP else { return try await next(request, context) }
        guard let bound = listener.value else { throw AgentError.shuttingDown }
        let host = request.head.authority ?? ""
        guard Self.isOwnHost(host, listener: bound) else {
            throw AgentError.hostRefused(host: Self.shown(host.isEmpty ? "(none)" : host), listener: bound.description)
        }
        // A second Host header is refused like a wrong Host. (An absolute-form target's host has
        // already replaced `Host` in the channel: `AbsoluteFormHost`.)
        if let extra = request.headers[Self.hostField] {
            throw AgentError.hostRefused(host: Self.shown("second Host header " + extra), listener: bound.description)
        }
        if let origin = request.headers[.origin], !Self.isLoopbackOrigin(origin) {
            throw AgentError.originRefused(origin: Self.shown(origin))
        }
        // The router ignores empty segments (`//metrics` is `/metrics`): decide on the same path.
        let path = Self.collapsingSlashes(request.uri.path)
        // The owner's views pass without a token (a dashboard session is then needed, which the
        // caller's resolution checks); a token never reaches them.
        let view = request.method == .get && Self.dashboardViews.contains(path) && request.headers[.authorization] == nil
        // The dashboard is read by its own page only: an `Origin`, when a browser sends one,
        // must be the listener's own origin, not another loopback page.
        if view || Self.isDashboardPath(path), let origin = request.headers[.origin], origin.lowercased() != "http://" + host.lowercased() {
            throw AgentError.originRefused(origin: Self.shown(origin))
        }
        if listener.isDashboardOnly, !Self.isDashboardPath(path), !view {
            throw AgentError.dashboardOnly(path: Self.shown(path))
        }
        if path.hasPrefix("/agent/") || path == "/agent" || path.hasPrefix("/metrics"), !Self.tcpAgentRoutes.contains(path), !view {
            throw AgentError.socketOnly(path: Self.shown(path))
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Answered here, as `RequestLogMiddleware` would, so that errors carry the headers too.
            response = RequestLogMiddleware.agentError(error, request: request).response()
        }
        for (name, value) in Self.securityHeaders { response.headers[name] = value }
        return response
    }

    /// `localhost`, `127.0.0.1`, `[::1]` or the bound address, with the listener's port (the
    /// port may be left out only when it is 80, as clients do).
    static func isOwnHost(_ host: String, listener: LoopbackAddress) -> Bool {
        let lower = host.lowercased()
        let names = ["localhost", "127.0.0.1", "[::1]", listener.family == .ipv6 ? "[\(listener.host)]" : listener.host]
        for name in names {
            if lower == "\(name):\(listener.port)" { return true }
            if listener.port == 80, lower == name { return true }
        }
        return false
    }

    /// `http://localhost[:port]`, `http://127.x.y.z[:port]`, `http://[::1][:port]` (or https).
    static func isLoopbackOrigin(_ origin: String) -> Bool {
        let lower = origin.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            rest = lower.dropFirst("http://".count)
        } else if lower.hasPrefix("https://") {
            rest = lower.dropFirst("https://".count)
        } else {
            return false
        }
        var host = rest
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            guard after.isEmpty || Self.isPort(after) else { return false }
            return host[...close] == "[::1]"
        }
        if let colon = host.firstIndex(of: ":") {
            guard Self.isPort(host[colon...]) else { return false }
            host = host[..<colon]
        }
        if host == "localhost" { return true }
        return LoopbackAddress.ipv4(String(host)).map { $0[0] == 127 } ?? false
    }

    /// `:1234`.
    private static func isPort(_ text: Substring) -> Bool {
        let digits = text.dropFirst()
        return text.first == ":" && !digits.isEmpty && digits.count <= 5 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static let hostField = HTTPField.Name("Host")!

    /// `//a///b/` → `/a/b/`.
    static func collapsingSlashes(_ path: String) -> String {
        var result = ""
        result.reserveCapacity(path.utf8.count)
        var previousSlash = false
        for character in path {
            if character == "/" {
                if previousSlash { continue }
                previousSlash = true
            } else {
                previousSlash = false
            }
            result.append(character)
        }
        return result
    }

    /// At most 100 characters of a caller's text, for an error message.
    static func shown(_ text: String) -> String {
        text.count <= 100 ? text : String(text.prefix(100)) + "…"
    }
}
