import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle
import X402Protocol

/// Serves the agent's router on a listening socket that is not Hummingbird's own: one systemd
/// passed (socket activation), or the dashboard's loopback listener started on demand. This is
/// the small part of Hummingbird's server the agent needs — accept, run each connection through
/// `AgentHTTP1Channel` (the same peer reading, limits and timeouts as the agent's own
/// sockets), and on graceful shutdown stop accepting and let answers in progress finish.
struct ChannelServer: Service {
    enum Socket: Sendable {
        /// A listening descriptor the agent inherited.
        case inherited(Int32)
        /// Bind this loopback address now (port 0: the kernel's pick).
        case loopback(host: String, port: Int)
    }

    let socket: Socket
    let channel: AgentHTTP1Channel
    let onRunning: @Sendable (any Channel) async -> Void
    let logger: Logger

    /// The router as Hummingbird's HTTP responder (what `Application` does for its own server).
    static func responder(_ router: Router<AgentRequestContext>, logger: Logger) -> HTTPChannelHandler.Responder {
        let responder = router.buildResponder()
        return { request, writer, channel in
            let context = AgentRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDate.format(secondsSince1970: AgentLedger.nowMilliseconds() / 1000)
            response.headers[.server] = "venice-agent"
            try await writer.write(response: response.head, body: response.body)
        }
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let childChannel = channel
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { serverChannel in
                serverChannel.eventLoop.makeCompletedFuture {
                    try serverChannel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: serverChannel))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let server: NIOAsyncChannel<AgentHTTP1Channel.Value, Never>
        switch socket {
        case .inherited(let descriptor):
            server = try await bootstrap.bind(NIOBSDSocket.Handle(descriptor), serverBackPressureStrategy: nil) { channel in
                childChannel.setup(channel: channel, logger: logger)
            }
        case .loopback(let host, let port):
            server = try await bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port, serverBackPressureStrategy: nil) { channel in
                    childChannel.setup(channel: channel, logger: logger)
                }
        }
        await withGracefulShutdownHandler {
            await onRunning(server.channel)
            await withDiscardingTaskGroup { tasks in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            tasks.addTask { await childChannel.handle(value: connection, logger: logger) }
                        }
                    }
                } catch {
                    logger.error("a listening socket stopped accepting", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            quiescing.initiateShutdown(promise: nil)
        }
    }
}
