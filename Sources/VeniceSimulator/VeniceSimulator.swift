public import HummingbirdCore
import HTTPTypes
public import Hummingbird
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
import X402Protocol

/// The simulator as a Hummingbird application. Its `run()` stamps each response with the
/// server's `Date` (clock offset knob included) instead of Hummingbird's cached one.
public struct VeniceSimulator: ApplicationProtocol {
    public typealias Responder = RouterResponder<SimulatorRequestContext>

    /// Shared state tests can poke: balances, ledgers, knobs, recorded headers.
    public let state: SimulatorState
    public let simulatorConfiguration: SimulatorConfiguration
    public var configuration: ApplicationConfiguration
    public var logger: Logger
    let builtResponder: Responder
    let onRunning: @Sendable (Int) async -> Void

    public var responder: Responder { builtResponder }

    public func onServerRunning(_ channel: any Channel) async {
        await onRunning(channel.localAddress?.port ?? 0)
    }

    public func run() async throws {
        let responder = builtResponder
        let state = self.state
        let logger = self.logger
        let server = try HTTPServerBuilder.http1().buildServer(
            configuration: ServerConfiguration(address: configuration.address, serverName: nil),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        ) { (request, responseWriter: consuming ResponseWriter, channel) in
            let context = SimulatorRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.date] = TimeFormat.httpDate(await state.nowMilliseconds())
            response.headers[HTTPField.Name("x-venice-version")!] = "20260821.193530"
            try await responseWriter.write(response: response.head, body: response.body)
        } onServerRunning: { channel in
            await self.onServerRunning(channel)
        }
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await group.run()
    }
}

/// Builds the simulator: routes under `/api/v1`, state from `configuration`.
/// `onServerRunning` receives the bound port (useful with `port: 0`).
public func buildSimulator(configuration: SimulatorConfiguration,
                           logger: Logger = Logger(label: "venice-sim"),
                           onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> VeniceSimulator {
    let state = SimulatorState(configuration: configuration)
    let catalog = try ModelCatalog.bundled()
    let router = Router(context: SimulatorRequestContext.self)
    router.middlewares.add(RequestLogMiddleware(state: state, logRequests: configuration.logRequests, logger: logger))
    let services = RouteServices(state: state, catalog: catalog, configuration: configuration)
    services.register(on: router)
    return VeniceSimulator(state: state, simulatorConfiguration: configuration,
                           configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
                           logger: logger, builtResponder: router.buildResponder(), onRunning: onServerRunning)
}
