import AsyncHTTPClient
import Foundation
internal import CAgentSystem
#if canImport(Glibc)
import Glibc
#endif
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals
import VeniceClient
import X402Protocol

/// Assembles and runs the agent: key session, upstream client, scheduler, socket server.
public struct AgentServer: Sendable {
    public let configuration: AgentConfiguration
    public let session: KeySession
    let logger: Logger
    let crashHook: @Sendable (TopUpService.CrashPoint) -> Void

    public init(configuration: AgentConfiguration, session: KeySession, logger: Logger,
                crashHook: @escaping @Sendable (TopUpService.CrashPoint) -> Void = { _ in }) {
        self.configuration = configuration
        self.session = session
        self.logger = logger
        self.crashHook = crashHook
    }

    /// Process hardening ssh-agent does: no core dumps, no ptrace by same-uid processes.
    public static func hardenProcess() -> Bool {
        venice_harden_process() == 0
    }

    /// False once `hardenProcess()` ran: no core dumps, no same-uid ptrace.
    public static var isDumpable: Bool { venice_is_dumpable() == 1 }

    /// Runs until SIGTERM/SIGINT: stops accepting, lets in-flight requests finish (bounded),
    /// removes the socket and zeroes the key. `onReady` runs once the socket accepts connections.
    public func run(shutdown handle: ShutdownHandle? = nil, onReady: @escaping @Sendable () -> Void = {}) async throws {
        // Other allowed uids need to reach the socket; SO_PEERCRED still decides who is served.
        let sharedSocket = !configuration.allowedUIDs.isEmpty
        try SocketPreparation.prepare(path: configuration.socketPath, sharedWithOtherUsers: sharedSocket)
        OpenFileLimit.raise()
        let clock = SkewClock()
        let http = UpstreamClient.makeHTTPClient()
        let signer = try SiwxSigner(signer: session, clock: clock, nonces: NonceSource(clock: clock),
                                    configuration: .init(ttlSeconds: configuration.signInTTLSeconds))
        let metrics = AgentMetrics()
        var retry = RetryPolicy()
        retry.maxAttempts = configuration.retry.maxAttempts
        retry.baseDelaySeconds = configuration.retry.baseDelaySeconds
        retry.maxDelaySeconds = configuration.retry.maxDelaySeconds
        let keyBox = ApiKeyBox()
        let upstream = try UpstreamClient(
            configuration: .init(baseURL: configuration.upstream, retry: retry),
            httpClient: http, credentials: AgentCredentials(signer: signer, bearer: { keyBox.service?.activeAdminSecret() }),
            clock: clock, logger: logger)
        let scheduler = UpstreamScheduler(maxInFlight: configuration.maxInFlight, maxQueued: configuration.maxQueued)
        let agentUpstream = AgentUpstream(client: upstream, scheduler: scheduler)
        let stateDirectory = configuration.stateDirectory ?? AgentConfiguration.defaultStateDirectory(environment: ProcessInfo.processInfo.environment)
        let ledger = try AgentLedger(directory: stateDirectory, logger: logger)
        let topUps = try TopUpService(
            ledger: ledger, upstream: agentUpstream, upstreamURL: configuration.upstream, session: session, clock: clock,
            caps: .init(perTopUpMicro: configuration.topUpCapMicro, dailyMicro: configuration.dailyTopUpCapMicro),
            logger: logger, crashHook: crashHook)
        let apiKeys = ApiKeyService(ledger: ledger, upstream: agentUpstream, session: session, logger: logger,
                                    renewalCheck: configuration.apiKeyRenewalCheck, renewFraction: configuration.apiKeyRenewFraction)
        keyBox.service = apiKeys
        let inFlight = InFlightTracker()
        let reconciler = ChargeReconciler(ledger: ledger, upstream: agentUpstream, session: session, logger: logger,
                                          graceMilliseconds: configuration.unexplainedChargeGraceSeconds * 1000)
        let connections = ConnectionRegistry(limits: configuration.connectionLimits, ownerUID: configuration.ownerUID)
        let clients = ClientStore(ledger: ledger)
        let responder = AgentResponder(configuration: configuration, session: session, upstream: upstream,
                                       scheduler: scheduler, metrics: metrics, clock: clock, logger: logger,
                                       ledger: ledger, topUps: topUps, inFlight: inFlight,
                                       clients: clients, requests: RequestLedger(ledger: ledger),
                                       prices: PriceBook(upstream: agentUpstream, logger: logger), reconciler: reconciler, apiKeys: apiKeys,
                                       connections: connections, callers: CallerResolver(configuration: configuration, clients: clients))
        let timeouts = AgentHTTP1Channel.Timeouts(header: TimeAmount(configuration.headerTimeout), idle: TimeAmount(configuration.idleTimeout))
        let readsProcessIdentity = !configuration.bindings.isEmpty
        let server = HTTPServerBuilder { responder in
            AgentHTTP1Channel(responder: responder, registry: connections, timeouts: timeouts, readsProcessIdentity: readsProcessIdentity)
        }
        let socketPath = configuration.socketPath
        // The socket is created 0600 (umask), so no other user can even connect — unless other
        // uids are allowed, when it is 0666 and SO_PEERCRED alone decides.
        let previousMask = umask(0o177)
        let socketMode: mode_t = sharedSocket ? 0o666 : 0o600
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "venice-agent"),
            services: [LifetimeReaper(session: session, ledger: ledger, logger: logger), PendingPaymentResolver(topUps: topUps, session: session, logger: logger), reconciler, apiKeys],
            onServerRunning: { _ in
                umask(previousMask)
                chmod(socketPath, socketMode)
                onReady()
            },
            logger: logger
        )
        let drain = ShutdownDrain(tracker: inFlight, grace: .seconds(configuration.shutdownGraceSeconds), logger: logger)
        // Stopped in reverse order: the drain first (in-flight responses finish), then the server.
        var groupConfig = ServiceGroupConfiguration(services: [app, drain], logger: logger)
        groupConfig.gracefulShutdownSignals = [.sigterm, .sigint]
        groupConfig.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        let group = ServiceGroup(configuration: groupConfig)
        handle?.attach(group)
        if session.isUnlocked { ledger.audit("unlock", "unlocked at start-up") }
        defer {
            session.lock()
            ledger.audit("lock", "agent stopped")
            unlink(socketPath)
        }
        do {
            try await group.run()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        logger.notice("venice-agent stopped; key zeroed, socket removed")
    }
}

/// Drops the key after `lifetime` of idleness (monotonic clock).
struct LifetimeReaper: Service {
    let session: KeySession
    let ledger: AgentLedger
    let logger: Logger

    func run() async throws {
        guard session.lifetime != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            if session.lockIfIdle() {
                ledger.audit("lock", "idle lifetime elapsed")
                logger.notice("key locked after its idle lifetime")
            }
        }
    }
}

/// Resolves payment intents left unknown by a crash or a timeout, once the key is available.
struct PendingPaymentResolver: Service {
    let topUps: TopUpService
    let session: KeySession
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if session.isUnlocked {
                do {
                    try await topUps.resolvePending()
                    break
                } catch {
                    logger.warning("could not resolve pending top-ups yet", metadata: ["error": "\(error.code)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
        }
        try? await gracefulShutdown()
    }
}

/// Lets the upstream client reach the key service built after it (they refer to each other).
final class ApiKeyBox: @unchecked Sendable {
    // Written once during start-up, before the server accepts connections; read-only afterwards.
    var service: ApiKeyService?
}

/// Lets an embedding program (tests, the benchmark) stop a running agent the way SIGTERM does.
public final class ShutdownHandle: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let requested = Mutex(false)

    public init() {}

    func attach(_ serviceGroup: ServiceGroup) {
        group.withLock { $0 = serviceGroup }
        if requested.withLock({ $0 }) { Task { await serviceGroup.triggerGracefulShutdown() } }
    }

    /// Graceful shutdown: stop intake, drain in-flight responses, remove the socket, zero the key.
    public func shutdown() async {
        requested.withLock { $0 = true }
        if let serviceGroup = group.withLock({ $0 }) { await serviceGroup.triggerGracefulShutdown() }
    }
}
