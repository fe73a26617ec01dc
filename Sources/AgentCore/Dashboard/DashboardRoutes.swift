import HTTPTypes
import Hummingbird
import NIOCore
import WalletCrypto

/// The dashboard's routes:
/// - `POST /agent/v1/dashboard` (the owner, over the socket): a one-time link on the loopback
///   listener, binding a dashboard-only listener first when none is configured;
/// - `GET /dashboard` and its script and style: for a live session (or the owner) only; the
///   page is a thin view over the read-only `/agent/v1` routes.
/// The code is traded for a session by `DashboardLogin`, before the caller is resolved.
struct DashboardRoutes: Sendable {
    let sessions: DashboardSessions
    let listener: ListenerAddress
    let onDemand: DashboardListener

    func register(on router: Router<AgentRequestContext>) {
        let owner = router.group("/agent/v1", context: OwnerRequestContext.self)
        owner.post("dashboard") { _, context in try await link(context.administrator) }

        let pages = router.group("/dashboard", context: ReaderRequestContext.self)
        pages.get { _, _ in Self.asset(PackageResources.index_html, type: "text/html; charset=utf-8") }
        pages.get("app.js") { _, _ in Self.asset(PackageResources.app_js, type: "text/javascript; charset=utf-8") }
        pages.get("app.css") { _, _ in Self.asset(PackageResources.app_css, type: "text/css; charset=utf-8") }
        pages.get("favicon.svg") { _, _ in Self.asset(PackageResources.favicon_svg, type: "image/svg+xml") }
    }

    /// A link with a fresh one-time code, on the configured listener or the dashboard's own.
    func link(_ admin: Administrator) async throws(AgentError) -> Response {
        let bound: LoopbackAddress
        if let configured = listener.value { bound = configured } else { bound = try await onDemand.address() }
        let code = sessions.issueCode(listenerPort: bound.port)
        return Response.json([
            "url": .string("\(bound.url)/dashboard/login?code=\(code.value)"),
            "listen": .string(bound.description),
            "dashboard_only": .bool(listener.isDashboardOnly),
            "code_expires_in_s": .number(String(code.expiresIn.components.seconds)),
            "session_hours": .number(String(DashboardSessions.sessionLifetime.components.seconds / 3600)),
        ])
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = type
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// `GET /dashboard/login?code=…` on the loopback listener: trades a one-time code for a session
/// cookie (`HttpOnly`, `SameSite=Strict`, named after the listener's port) and the page's secret
/// (`DashboardSessions`), and redirects to the page, so the code leaves the address bar. Only the owner's uid may trade a code; a code is
/// gone after its first presentation by the owner's uid, accepted or not.
struct DashboardLogin: RouterMiddleware {
    typealias Context = AgentRequestContext

    let sessions: DashboardSessions
    let listener: ListenerAddress
    let ownerUID: UInt32

    static let path = "/dashboard/login"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard LoopbackGuard.collapsingSlashes(request.uri.path) == Self.path else { return try await next(request, context) }
        guard context.connection?.transport == .loopbackTCP, let port = listener.value?.port else {
            throw AgentError.badRequest("open the dashboard link in a browser; it works on the agent's loopback listener only")
        }
        guard request.method == .get else { throw AgentError.unknownRoute(method: request.method.rawValue, path: Self.path) }
        guard let peer = context.connection?.peer else {
            throw AgentError.peerUnknown("the kernel does not list this TCP connection's socket, so its user is unknown; reload the page")
        }
        guard peer.uid == ownerUID else { throw AgentError.notAdministrator(.otherUID(peer.uid), client: "uid-\(peer.uid)") }
        let codes = request.uri.queryParameters.getAll("code")
        guard codes.count == 1, let code = codes.first, code.count == 64 else { throw AgentError.dashboardCodeRefused }
        let session: DashboardSessions.Session
        do { session = try sessions.redeem(code: String(code), listenerPort: port) } catch {
            throw AgentError.dashboardCodeRefused
        }
        var fields = HTTPFields()
        // The page's secret rides in the fragment, which the browser keeps across the redirect
        // and never sends to any server; the page moves it into its tab's sessionStorage.
        fields[.location] = "/dashboard#" + session.secret
        fields[.setCookie] = "\(DashboardSessions.cookieName(port: port))=\(session.cookie); Path=/; HttpOnly; SameSite=Strict; "
            + "Max-Age=\(session.lifetime.components.seconds)"
        return Response(status: .seeOther, headers: fields)
    }
}
