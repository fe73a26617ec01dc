import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import WalletCrypto

/// The outermost step of every request: gives it an id and its connection's accept-time
/// information, keeps it counted as in flight until its body is written (or dropped), turns
/// any error into the agent's JSON answer, and records one metric and one log line labelled
/// by route template — never by raw path.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext

    let connections: ConnectionRegistry
    let inFlight: InFlightTracker
    let metrics: AgentMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Hex.encode(SecureRandom.bytes(count: 8))
        context.connection = connections.info(for: context.channel)
        metrics.record(.peer, .now - context.started)
        let notes = RequestNotes()
        context.notes = notes
        guard let ticket = inFlight.enter() else {
            return finish(AgentError.shuttingDown.response(), request: request, context: context, route: "unmatched")
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.agentError(error, request: request).response()
        }
        // The request stays "in flight" until its body is completely handed to the connection;
        // when the connection is gone before the body is written, the ticket leaves on release.
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { ticket.leave() }
            try await body.write(writer)
        }
        let template = context.coreContext.endpointPath.value
        return finish(response, request: request, context: context, route: template == nil || template == "NotFound" ? "unmatched" : template ?? "unmatched")
    }

    private func finish(_ response: Response, request: Request, context: Context, route: String) -> Response {
        var response = response
        response.headers[.agentRequestID] = context.requestID
        metrics.recordRequest(route: route, status: Int(response.status.code))
        let notes = context.notes?.snapshot ?? RequestNotes.Snapshot()
        var metadata: Logger.Metadata = [
            "uid": "\(context.connection?.peer?.uid ?? 0)", "pid": "\(context.connection?.peer?.pid ?? 0)",
            "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(response.status.code)",
            "duration_ms": "\((ContinuousClock.now - context.started).milliseconds)", "request_id": "\(context.requestID)",
            "client": "\(context.caller?.policy.name ?? notes.client ?? "unknown")",
        ]
        if let upstream = notes.upstreamRequestID { metadata["upstream_request_id"] = "\(upstream)" }
        if let cfRay = notes.cfRay { metadata["cf_ray"] = "\(cfRay)" }
        if !notes.retries.isEmpty { metadata["retries"] = "\(notes.retries.joined(separator: ","))" }
        logger.info("request", metadata: metadata)
        return response
    }

    /// Any error as the agent's answer: its own errors as they are, the router's "no such
    /// route" as `AGENT_UNKNOWN_ROUTE`, anything else without its details.
    static func agentError(_ error: any Error, request: Request) -> AgentError {
        switch error {
        case let error as AgentError: return error
        case let error as HTTPError where error.status == .notFound:
            return .unknownRoute(method: request.method.rawValue, path: request.uri.path)
        case let error as HTTPError where error.status == .contentTooLarge:
            return .badRequest("the request body is too large")
        case let error as HTTPError:
            return .badRequest("the request could not be handled (\(error.status.code))")
        default:
            return .badRequest("the request could not be handled (\(type(of: error)))")
        }
    }
}

/// What later steps tell the log line (Venice's id for the request, retries), shared by
/// reference because the context is passed down by value.
final class RequestNotes: Sendable {
    struct Snapshot: Sendable {
        var upstreamRequestID: String?
        var cfRay: String?
        var retries: [String] = []
        /// The policy name `CallerMiddleware` resolved (its context is a copy this one never sees).
        var client: String?
    }

    private let state = Mutex(Snapshot())
    var snapshot: Snapshot { state.withLock { $0 } }
    func set(upstreamRequestID: String?, cfRay: String?, retries: [String]) {
        state.withLock { s in
            s.upstreamRequestID = upstreamRequestID
            s.cfRay = cfRay?.prefix(64).description
            s.retries = retries
        }
    }
    func set(client: String) { state.withLock { $0.client = client } }
}

extension HTTPField.Name {
    static let agentRequestID = Self("X-Agent-Request-Id")!
    static let agentOverhead = Self("X-Agent-Overhead-Ms")!
    static let agentAutoTopUp = Self("X-Agent-Auto-Topup")!
    /// Venice's own `Date` on a relayed answer (the agent's server stamps `Date` with its own clock).
    static let agentUpstreamDate = Self("X-Agent-Upstream-Date")!
    /// Set on answers once a client has spent past its policy's soft limit.
    static let agentBudgetWarning = Self("X-Agent-Budget-Warning")!
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
