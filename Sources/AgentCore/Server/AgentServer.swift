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
    /// The loopback TCP listener's address once bound (the kernel's port for `:0`).
    public let listener = ListenerAddress()

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
    /// removes the socket and zeroes the key. `onReady` runs once the socket (and the TCP
    /// listener, when configured; its address is then in `listener`) accepts connections.
    public func run(shutdown handle: ShutdownHandle? = nil, onReady: @escaping @Sendable () -> Void = {}) async throws {
        // Other allowed uids need to reach the socket; SO_PEERCRED still decides who is served.
        let sharedSocket = !configuration.allowedUIDs.isEmpty
        let activation = configuration.activation
        // A socket systemd passed is its to create, mode and remove.
        if activation?.unix == nil { try SocketPreparation.prepare(path: configuration.socketPath, sharedWithOtherUsers: sharedSocket) }
        OpenFileLimit.raise()
        let dashboardListener = DashboardListener(listener: listener, logger: logger)
        let agent = try await buildAgent(configuration: configuration, session: session, logger: logger, crashHook: crashHook,
                                         listener: listener, dashboardListener: dashboardListener)
        let connections = agent.connections
        let ledger = agent.ledger
        let timeouts = AgentHTTP1Channel.Timeouts(header: TimeAmount(configuration.headerTimeout), idle: TimeAmount(configuration.idleTimeout),
                                                  body: TimeAmount(configuration.bodyTimeout))
        let readsProcessIdentity = !configuration.bindings.isEmpty
        let logger = self.logger
        @Sendable func channel(_ transport: ConnectionRegistry.Transport, responder: @escaping HTTPChannelHandler.Responder) -> AgentHTTP1Channel {
            AgentHTTP1Channel(responder: responder, registry: connections, timeouts: timeouts,
                              readsProcessIdentity: readsProcessIdentity && transport == .unixSocket, transport: transport)
        }
        let socketPath = configuration.socketPath
        let ready = ReadyCountdown(servers: configuration.listen == nil && activation?.tcp == nil ? 1 : 2, onReady: onReady)
        let services: [any Service] = [LifetimeReaper(session: session, ledger: ledger, logger: logger),
                                       PendingPaymentResolver(topUps: agent.topUps, session: session, logger: logger), agent.reconciler,
                                       agent.apiKeys, agent.requests, agent.prices]
            + (ledger.path.map { [WALCheckpointer(path: $0, interval: .seconds(2), logger: logger)] } ?? [])
        var servers: [any Service] = []
        if let inherited = activation?.unix {
            servers.append(ChannelServer(socket: .inherited(inherited.descriptor),
                                                 channel: channel(.unixSocket, responder: ChannelServer.responder(agent.router, logger: logger)),
                                                 onRunning: { _ in ready.arrive() }, logger: logger))
        } else {
            // The socket is created 0600 (umask), so no other user can even connect — unless other
            // uids are allowed, when it is 0666 and SO_PEERCRED alone decides.
            let previousMask = umask(0o177)
            let socketMode: mode_t = sharedSocket ? 0o666 : 0o600
            servers.append(Application(
                router: agent.router,
                server: HTTPServerBuilder { responder in channel(.unixSocket, responder: responder) },
                configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "venice-agent"),
                onServerRunning: { _ in
                    umask(previousMask)
                    chmod(socketPath, socketMode)
                    ready.arrive()
                },
                logger: logger
            ))
        }
        // The same router behind a loopback TCP listener: its connections are marked TCP, so
        // `LoopbackGuard` and `CallerResolver` require a token, a loopback Host and Origin, and
        // keep the owner's API off it.
        let listener = self.listener
        if let inherited = activation?.tcp {
            servers.append(ChannelServer(socket: .inherited(inherited.descriptor),
                                                 channel: channel(.loopbackTCP, responder: ChannelServer.responder(agent.router, logger: logger)),
                                                 onRunning: { _ in
                                                     listener.set(inherited.address)
                                                     logger.notice("listening on loopback TCP passed by systemd (client tokens only)",
                                                                   metadata: ["listen": "\(inherited.address)"])
                                                     ready.arrive()
                                                 }, logger: logger))
        } else if let listen = configuration.listen {
            servers.append(Application(
                router: agent.router,
                server: HTTPServerBuilder { responder in channel(.loopbackTCP, responder: responder) },
                configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "venice-agent"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? listen.port
                    let bound = LoopbackAddress(host: listen.host, port: port, family: listen.family)
                    listener.set(bound)
                    logger.notice("listening on loopback TCP (client tokens only)", metadata: ["listen": "\(bound)"])
                    ready.arrive()
                },
                logger: logger
            ))
        } else {
            // No listener configured: `venice-agent dashboard` binds one on demand, for the dashboard alone.
            let responder = ChannelServer.responder(agent.router, logger: logger)
            dashboardListener.prepare { socket, onRunning in
                ChannelServer(socket: socket, channel: channel(.loopbackTCP, responder: responder),
                              onRunning: onRunning, logger: logger)
            }
            servers.append(dashboardListener)
        }
        let drain = ShutdownDrain(tracker: agent.inFlight, grace: .seconds(configuration.shutdownGraceSeconds), logger: logger)
        // Stopped in reverse order: the drain first (in-flight responses finish), then the servers,
        // then the services behind them.
        var groupConfig = ServiceGroupConfiguration(services: services + servers + [drain], logger: logger)
        groupConfig.gracefulShutdownSignals = [.sigterm, .sigint]
        groupConfig.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        let group = ServiceGroup(configuration: groupConfig)
        handle?.attach(group)
        if session.isUnlocked { await ledger.audit(.unlock, "unlocked at start-up") }
        let outcome: Result<Void, any Error>
        do {
            try await group.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        session.lock()
        try? await agent.requests.flush()
        await ledger.audit(.lock, "agent stopped")
        if activation?.unix == nil { unlink(socketPath) }
        try? await agent.http.shutdown()
        try outcome.get()
        logger.notice("venice-agent stopped; key zeroed, socket removed")
    }
}

/// Calls `onReady` once, when every server has said it is running.
final class ReadyCountdown: Sendable {
    private let remaining: Mutex<Int>
    private let onReady: @Sendable () -> Void

    init(servers: Int, onReady: @escaping @Sendable () -> Void) {
        self.remaining = Mutex(servers)
        self.onReady = onReady
    }

    func arrive() {
        let last = remaining.withLock { count in
            count -= 1
            return count == 0
        }
        if last { onReady() }
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
                await ledger.audit(.lock, "idle lifetime elapsed")
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
