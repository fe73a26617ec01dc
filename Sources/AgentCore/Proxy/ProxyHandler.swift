import AsyncHTTPClient
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
import VeniceClient
import WalletCrypto
import X402Protocol

/// `/api/v1/<route>`: one Venice route on the allow-list, forwarded. It reads top to bottom
/// like the request's life; each step is a small type that knows how it is done:
/// the body (`ProxyBody`) → the price and the ledger row held against the budget
/// (`BudgetGate`) → a fair upstream slot (`UpstreamScheduler.Lease`) → the signed call
/// (`UpstreamClient`) → on an insufficient-balance 402, one top-up and one retry
/// (`AutoTopUp`) → the answer streamed back, the slot and the row settled when its body ends
/// (`ResponseRelay`).
struct ProxyHandler: Sendable {
    let configuration: AgentConfiguration
    let session: KeySession
    let upstream: UpstreamClient
    let scheduler: UpstreamScheduler
    let budget: BudgetGate
    let autoTopUp: AutoTopUp?
    let relay: ResponseRelay
    let metrics: AgentMetrics
    /// Whole-read request bodies, across all requests (four of the largest allowed body by default).
    var bodyMemory: BodyMemory? = nil
    /// Signs the next proxied request's header while this one's answer is relayed.
    var signAhead: SignInReserve? = nil

    /// Registers one responder per allowed route (so metrics and logs carry the route's
    /// template) and a refusal for the routes the agent keeps for itself.
    func register(on router: Router<AgentRequestContext>, lockGate: LockGate) {
        let api = router.group("/api/v1").add(middleware: lockGate)
        for (method, template) in RouteTable.templates {
            api.on(RouterPath(String(template.dropFirst())), method: HTTPRequest.Method(rawValue: method) ?? .get) { request, context in
                try await respond(to: request, context: context, method: method, template: template)
            }
        }
        for path in RouteTable.agentOwned {
            for method in [HTTPRequest.Method.get, .post] {
                api.on(RouterPath(String(path.dropFirst())), method: method) { _, _ -> Response in throw AgentError.agentOwned(path: "/api/v1" + path) }
            }
        }
    }

    func respond(to request: Request, context: AgentRequestContext, method: String, template: String) async throws(AgentError) -> Response {
        let caller = try context.requireCaller()
        var parameters: [String: String] = [:]
        for (name, value) in context.parameters { parameters[String(name)] = String(value) }
        let resolved: VeniceRoute?
        do {
            resolved = try RouteTable.route(method: method, template: template, walletAddress: session.address.lowercasedHex, parameters: parameters)
        } catch {
            throw .badRequest("the path segment for {\(error.name)} must be 1–128 of A–Z a–z 0–9 . _ ~ - (not . or ..)")
        }
        guard let route = resolved else { throw .unknownRoute(method: method, path: request.uri.path) }
        let policy = caller.policy
        guard policy.allows(route.group) else {
            throw .routeNotAllowed(client: policy.name, group: route.group.rawValue, allowed: policy.routes?.sorted().joined(separator: ", ") ?? "all")
        }
        var clock = ProxyClock(started: context.started)

        // 4. The body: bounded; read whole when it must be priced or may be replayed.
        let body = try await ProxyBody.read(request, route: route, mustBePriced: route.isCharged && policy.mustInspectBody,
                                            limit: configuration.maxRequestBodyBytes, replayable: configuration.replayableBodyBytes,
                                            memory: bodyMemory)
        do {
            return try await forward(request, context: context, caller: caller, route: route, body: body, clock: &clock)
        } catch {
            // A streamed body is no longer read by anyone once the answer is given.
            await body.limited?.close()
            throw error
        }
    }

    private func forward(_ request: Request, context: AgentRequestContext, caller: Caller, route: VeniceRoute, body: ProxyBody,
                         clock: inout ProxyClock) async throws(AgentError) -> Response {
        let method = route.method
        // 5. Its price against the caller's budget, held in the ledger before anything is signed.
        let hold = try await budget.admit(route: route, body: body, caller: caller, requestID: context.requestID, method: method)

        // 6. A fair upstream slot (Venice admits 5 signed-in requests per wallet at once).
        let lease: UpstreamScheduler.Lease?
        do {
            lease = try await clock.queueing { () async throws(AgentError) -> UpstreamScheduler.Lease? in
                guard route.auth == .signIn else { return nil }
                do throws(UpstreamScheduler.Refusal) {
                    return try await scheduler.lease(.client(caller.fairnessKey))
                } catch {
                    throw error == .full ? .queueFull(retryAfterSeconds: 2) : .cancelled
                }
            }
        } catch {
            // Nothing was sent: the hold goes back.
            hold?.finish(status: 503)
            throw error
        }

        // 7. Forward, signed per attempt.
        var headers = HTTPHeaders()
        for field in request.headers where HeaderFilter.mayForward(field.name.canonicalName, connectionNamed: request.headers[.connection]) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        let upstreamRequest = UpstreamRequest(route: route, query: request.uri.query, headers: headers, body: body.upstream)
        let settledBefore = await autoTopUp?.settledCount() ?? 0
        var answer: UpstreamResponse
        do {
            answer = try await clock.upstream { () async throws(VeniceClientError) in
                // The request's sign-ins may take a header signed ahead (SignInReserve).
                let result = await SignInReserve.$eligible.withValue(true) { () async -> Result<UpstreamResponse, VeniceClientError> in
                    do throws(VeniceClientError) { return .success(try await upstream.execute(upstreamRequest)) } catch { return .failure(error) }
                }
                return try result.get()
            }
            // Venice has answered: the next request's header is signed while this answer is relayed.
            if route.auth == .signIn { signAhead?.refill() }
            clock.excludeFromUpstream(answer.signing)
            metrics.record(.signing, answer.signing)
        } catch {
            // A request that may have reached Venice keeps its hold (it may be charged); one that
            // never left is released.
            let tooLarge = body.limited?.exceeded == true
            hold?.finish(status: tooLarge ? 413 : error.mayHaveReachedVenice ? RequestLedger.outcomeUnknown : 502)
            if tooLarge { throw .bodyTooLarge(limit: configuration.maxRequestBodyBytes) }
            throw AgentError(error)
        }

        // 8. An insufficient-balance 402: one top-up within the caps, one re-signed retry.
        var lease2 = lease
        var autoTopUpNote: String?
        if let autoTopUp, answer.status == 402, route.auth == .signIn, upstreamRequest.isReplayable, case .buffered(let buffer) = answer.body {
            // The slot goes back while paying; the retry queues again.
            await lease2?.release()
            lease2 = nil
            let outcome = await clock.upstream { () async in
                await autoTopUp.fix(answerBody: buffer, retrying: upstreamRequest, observedSettled: settledBefore,
                                    client: caller.fairnessKey)
            }
            autoTopUpNote = outcome.note
            if let retried = outcome.retried {
                answer = retried.answer
                lease2 = retried.lease
                clock.excludeFromUpstream(answer.signing)
            }
        }
        if hold?.model == nil, let streamed = body.limited,
           let sniffed = MultipartField.value(named: "model", in: streamed.head, contentType: request.headers[.contentType]) {
            hold?.setModel(sniffed)
        }
        metrics.recordUpstreamLatency(clock.upstreamTime)
        for reason in answer.retries { metrics.recordRetry(reason: reason.rawValue) }

        // 9. Stream the answer back; the slot and the ledger row are settled when the body ends.
        let started = ContinuousClock.now
        var response = relay.response(answer, lease: lease2, hold: hold, streamedBody: body.limited, signedIn: route.auth == .signIn,
                                      notes: context.notes, settlesUsage: UsageSettler.routes.contains(route.template))
        if let autoTopUpNote { response.headers[.agentAutoTopUp] = autoTopUpNote }
        metrics.record(.response, .now - started)
        let overhead = clock.overhead
        metrics.recordOverhead(overhead)
        response.headers[.agentOverhead] = Self.milliseconds(overhead)
        return response
    }

    /// `0.123` (three decimals).
    static func milliseconds(_ duration: Duration) -> String {
        let micro = max(0, AgentMetrics.nanoseconds(duration) / 1000)
        let fraction = String(micro % 1000)
        return "\(micro / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// Where a proxied request's time goes: waiting for a slot, at Venice (and the top-up), or in
/// the agent — the last is `X-Agent-Overhead-Ms`.
struct ProxyClock {
    let started: ContinuousClock.Instant
    private(set) var queueTime: Duration = .zero
    private(set) var upstreamTime: Duration = .zero

    init(started: ContinuousClock.Instant) { self.started = started }

    mutating func queueing<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        let start = ContinuousClock.now
        defer { queueTime += .now - start }
        return try await body()
    }

    /// Time at Venice (and paying it).
    mutating func upstream<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        let start = ContinuousClock.now
        defer { upstreamTime += .now - start }
        return try await body()
    }

    /// The signatures made during an upstream call are the agent's own work: they stay in the overhead.
    mutating func excludeFromUpstream(_ signing: Duration) { upstreamTime -= signing }

    var overhead: Duration { .now - started - queueTime - upstreamTime }
}
