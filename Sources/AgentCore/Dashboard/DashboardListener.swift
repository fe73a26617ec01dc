import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The loopback listener `venice-agent dashboard` needs when no `listen` is configured: nothing
/// is bound until the owner first asks for a dashboard; then `127.0.0.1` on a port of the
/// kernel's choosing is bound for the rest of the agent's life, serving the dashboard only
/// (`ListenerAddress.isDashboardOnly`: `LoopbackGuard` refuses every other path on it).
final class DashboardListener: Service, Sendable {
    private enum Phase {
        /// The service has not started (or the agent has no server, as in some tests).
        case notRunning
        case idle
        case starting([CheckedContinuation<LoopbackAddress, any Error>])
        case running(LoopbackAddress)
        case failed(String)
    }

    private let phase = Mutex(Phase.notRunning)
    private let startRequests: AsyncStream<Void>
    private let startRequest: AsyncStream<Void>.Continuation
    private let listener: ListenerAddress
    /// Set once, after the router exists and before the services run.
    private let serverFactory = Mutex<(@Sendable (ChannelServer.Socket, @escaping @Sendable (any Channel) async -> Void) -> ChannelServer)?>(nil)
    private let logger: Logger

    init(listener: ListenerAddress, logger: Logger) {
        self.listener = listener
        self.logger = logger
        (startRequests, startRequest) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How to build the server once asked: the agent's router behind its TCP channel.
    func prepare(_ factory: @escaping @Sendable (ChannelServer.Socket, @escaping @Sendable (any Channel) async -> Void) -> ChannelServer) {
        serverFactory.withLock { $0 = factory }
    }

    /// The listener's address, binding it first if this is the first ask.
    func address() async throws(AgentError) -> LoopbackAddress {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<LoopbackAddress, any Error>) in
                let answer: Result<LoopbackAddress, AgentError>? = phase.withLock { phase in
                    switch phase {
                    case .notRunning:
                        return .failure(.dashboardUnavailable("the agent is not serving connections yet"))
                    case .idle:
                        phase = .starting([continuation])
                        startRequest.yield()
                        return nil
                    case .starting(let waiting):
                        phase = .starting(waiting + [continuation])
                        return nil
                    case .running(let address):
                        return .success(address)
                    case .failed(let why):
                        return .failure(.dashboardUnavailable(why))
                    }
                }
                if let answer { continuation.resume(with: answer) }
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw .dashboardUnavailable("\(error)")
        }
    }

    func run() async throws {
        phase.withLock { $0 = .idle }
        defer { finish(.failed("the agent is shutting down")) }
        // Wait for the first ask, or for the agent to stop.
        let asked: Bool = (try? await cancelWhenGracefulShutdown { () async -> Bool in
            for await _ in self.startRequests { return true }
            return false
        }) ?? false
        guard asked, !Task.isShuttingDownGracefully else { return }
        guard let factory = serverFactory.withLock({ $0 }) else {
            finish(.failed("the agent has no server for a dashboard listener"))
            try? await gracefulShutdown()
            return
        }
        let listener = self.listener
        let logger = self.logger
        let server = factory(.loopback(host: "127.0.0.1", port: 0)) { channel in
            guard let port = channel.localAddress?.port else {
                self.finish(.failed("the dashboard listener has no port"))
                return
            }
            let bound = LoopbackAddress(host: "127.0.0.1", port: port, family: .ipv4)
            listener.set(bound, dashboardOnly: true)
            logger.notice("listening on loopback TCP for the dashboard only", metadata: ["listen": "\(bound)"])
            self.finish(.running(bound))
        }
        do {
            try await server.run()
        } catch {
            // The agent goes on serving its socket; only the dashboard is unavailable.
            logger.error("the dashboard listener failed", metadata: ["error": "\(error)"])
            finish(.failed("the dashboard listener could not be bound on 127.0.0.1: \(error)"))
            try? await gracefulShutdown()
        }
    }

    /// Moves to `final` (running or failed) and answers everyone waiting.
    private func finish(_ final: Phase) {
        let waiting: [CheckedContinuation<LoopbackAddress, any Error>] = phase.withLock { phase in
            var waiting: [CheckedContinuation<LoopbackAddress, any Error>] = []
            if case .starting(let list) = phase { waiting = list }
            if case .running = phase, case .failed = final {
                // Shutting down after running: nothing waits, and the address stays as it was.
                phase = final
                return []
            }
            phase = final
            return waiting
        }
        for continuation in waiting {
            switch final {
            case .running(let address): continuation.resume(returning: address)
            case .failed(let why): continuation.resume(throwing: AgentError.dashboardUnavailable(why))
            default: continuation.resume(throwing: AgentError.dashboardUnavailable("the dashboard listener did not start"))
            }
        }
    }
}
