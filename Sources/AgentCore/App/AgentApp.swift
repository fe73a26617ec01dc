import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import VeniceClient
import X402Protocol

/// Everything a running agent is made of, wired in one place: the router (middlewares,
/// the agent's API, the Venice proxy, metrics) and the services that run beside it.
struct AgentApp {
    let router: Router<AgentRequestContext>
    let connections: ConnectionRegistry
    let inFlight: InFlightTracker
    let ledger: AgentLedger
    let topUps: TopUpService
    let apiKeys: ApiKeyService
    let reconciler: ChargeReconciler
    let requests: RequestLedger
    let prices: PriceBook
    let http: HTTPClient
    /// The loopback TCP listener's bound address (nil until bound, or without `listen`).
    let listener: ListenerAddress
    /// The dashboard's one-time codes and sessions.
    let dashboardSessions: DashboardSessions
}

/// Builds the agent for `configuration` around an (already unlocked or locked) key session.
func buildAgent(configuration: AgentConfiguration, session: KeySession, logger: Logger,
                crashHook: @escaping @Sendable (TopUpService.CrashPoint) -> Void,
                listener: ListenerAddress = ListenerAddress(),
                dashboardListener: DashboardListener? = nil) async throws -> AgentApp {
    let clock = SkewClock()
    let http = UpstreamClient.makeHTTPClient()
    // The sign-in payload carries `timestamp` (Unix ms of Issued At), as Venice's x402 guide,
    // its OpenAPI example and its SDK all send it.
    let signer = try SiwxSigner(signer: session, clock: clock, nonces: NonceSource(clock: clock),
                                configuration: .init(ttlSeconds: configuration.signInTTLSeconds, includeLegacyTimestamp: true))
    var retry = RetryPolicy()
    retry.maxAttempts = configuration.retry.maxAttempts
    retry.baseDelaySeconds = configuration.retry.baseDelaySeconds
    retry.maxDelaySeconds = configuration.retry.maxDelaySeconds
    // The upstream client asks for the Bearer key on each billing call; the key service is
    // built after it (it needs the client), so the closure looks it up when called.
    let keyBox = ApiKeyBox()
    let signAhead = configuration.signAhead ? SignInReserve.signingAhead(with: signer, session: session, clock: clock) : nil
    let upstream: UpstreamClient
    do {
        upstream = try UpstreamClient(configuration: .init(baseURL: configuration.upstream, retry: retry), httpClient: http,
                                      credentials: AgentCredentials(signer: signer, bearer: { keyBox.service?.activeAdminSecret() },
                                                                    signedAhead: signAhead),
                                      clock: clock, logger: logger)
    } catch {
        try? await http.shutdown()
        throw error
    }
    let scheduler = UpstreamScheduler(maxInFlight: configuration.maxInFlight, maxQueued: configuration.maxQueued)
    let venice = VeniceAPI(client: upstream, slots: scheduler, wallet: session.address)
    let stateDirectory = configuration.stateDirectory ?? AgentConfiguration.defaultStateDirectory(environment: ProcessInfo.processInfo.environment)
    let ledger = try AgentLedger(directory: stateDirectory, logger: logger)
    let funding = WalletFunding()
    let topUps = TopUpService(ledger: ledger, venice: venice, session: session, clock: clock,
                              caps: .init(perTopUpMicro: configuration.topUpCapMicro, dailyMicro: configuration.dailyTopUpCapMicro),
                              logger: logger, funding: funding, crashHook: crashHook)
    let apiKeys = try await ApiKeyService(ledger: ledger, venice: venice, session: session, logger: logger,
                                          renewalCheck: configuration.apiKeyRenewalCheck, renewFraction: configuration.apiKeyRenewFraction)
    keyBox.service = apiKeys
    let requests = try await RequestLedger(ledger: ledger)
    let reconciler = await ChargeReconciler(ledger: ledger, requests: requests, venice: venice, session: session, logger: logger,
                                            graceMilliseconds: configuration.unexplainedChargeGraceSeconds * 1000,
                                            upstreamClockOffset: { clock.offsetMilliseconds }, funding: funding)
    let clients = try await ClientStore(ledger: ledger)
    let metrics = AgentMetrics()
    let connections = ConnectionRegistry(limits: configuration.connectionLimits, ownerUID: configuration.ownerUID)
    let inFlight = InFlightTracker()

    // One bound for every body the agent holds whole: the proxy's and /mcp's.
    let bodyMemory = BodyMemory(limit: configuration.wholeBodyMemoryBytes)
    let dashboardSessions = DashboardSessions(epoch: { session.keyEpoch })
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: RequestLogMiddleware(connections: connections, inFlight: inFlight, metrics: metrics, logger: logger))
    router.add(middleware: LoopbackGuard(listener: listener))
    router.add(middleware: DashboardLogin(sessions: dashboardSessions, listener: listener, ownerUID: configuration.ownerUID))
    router.add(middleware: CallerMiddleware(resolver: CallerResolver(configuration: configuration, clients: clients,
                                                                     dashboard: dashboardSessions, listener: listener),
                                            metrics: metrics))
    router.get("/metrics") { _, _ in
        let snapshot = await scheduler.snapshot
        let text = metrics.render(inFlight: snapshot.inFlight, queued: snapshot.queued, signatures: session.signatureCount,
                                  signedAhead: signAhead?.handedOut ?? 0, unlocked: session.isUnlocked, connections: connections.snapshot.open)
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
    AgentAPI(configuration: configuration, session: session, scheduler: scheduler, clock: clock, logger: logger, ledger: ledger,
             requests: requests, clients: clients, topUps: topUps, apiKeys: apiKeys, reconciler: reconciler,
             inFlight: inFlight, connections: connections, listener: listener)
        .register(on: router)
    DashboardRoutes(sessions: dashboardSessions, listener: listener,
                    onDemand: dashboardListener ?? DashboardListener(listener: listener, logger: logger))
        .register(on: router)
    // The MCP server as Streamable HTTP on the loopback listener; it calls this agent's socket.
    MCPEndpoint(socketPath: configuration.socketPath, bodyMemory: bodyMemory).register(on: router)
    let prices = PriceBook(venice: venice, logger: logger)
    let budget = BudgetGate(prices: prices, requests: requests, ledger: ledger, metrics: metrics)
    let autoTopUp = configuration.autoTopUp
        ? AutoTopUp(topUps: topUps, amountMicro: configuration.autoTopUpMicro, upstream: upstream, scheduler: scheduler, ledger: ledger) : nil
    ProxyHandler(configuration: configuration, session: session, upstream: upstream, scheduler: scheduler, budget: budget,
                 autoTopUp: autoTopUp, relay: ResponseRelay(reconciler: reconciler, settler: UsageSettler(prices: prices, ledger: ledger)),
                 metrics: metrics, bodyMemory: bodyMemory, signAhead: signAhead)
        .register(on: router, lockGate: LockGate(session: session, apiKeys: apiKeys))
    return AgentApp(router: router, connections: connections, inFlight: inFlight, ledger: ledger, topUps: topUps,
                    apiKeys: apiKeys, reconciler: reconciler, requests: requests, prices: prices, http: http, listener: listener,
                    dashboardSessions: dashboardSessions)
}

/// Lets the upstream client reach the key service built after it (they refer to each other).
final class ApiKeyBox: @unchecked Sendable {
    // Written once during start-up, before the server accepts connections; read-only afterwards.
    var service: ApiKeyService?
}
