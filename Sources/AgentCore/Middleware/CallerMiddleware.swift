import Hummingbird
import VeniceClient

/// Who is calling and with which policy: the connection's peer (read once, at accept), its
/// client token or binding, or the uid's base policy (`CallerResolver`). Nothing is routed
/// for a caller that is refused here.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext

    let resolver: CallerResolver
    let metrics: AgentMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.caller = try resolver.resolve(headers: request.headers, target: request.uri.description, connection: context.connection)
        if let name = context.caller?.policy.name { context.notes?.set(client: name) }
        metrics.record(.policy, .now - started)
        return try await next(request, context)
    }
}

/// The Venice routes need the key: a signed-in route while the agent is locked is refused
/// before anything else happens, and a Bearer-only route also needs a minted ADMIN key.
struct LockGate: RouterMiddleware {
    typealias Context = AgentRequestContext

    let session: KeySession
    let apiKeys: ApiKeyService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let template = context.coreContext.endpointPath.value.map { String($0.dropFirst("/api/v1".count)) } ?? ""
        guard let route = RouteTable.kind(method: request.method.rawValue, template: template) else {
            return try await next(request, context)
        }
        switch route.auth {
        case .signIn:
            guard session.isUnlocked else { throw AgentError.locked }
        case .bearer:
            guard session.isUnlocked else { throw AgentError.locked }
            guard apiKeys.hasActiveAdminKey else { throw AgentError.noKeyMinted }
        case .bearerIfAvailable, .none:
            break
        }
        return try await next(request, context)
    }
}
