public import Logging
import ServiceLifecycle
import HTTPTypes

/// A simulator listening on an ephemeral loopback port, for tests (the simulator's own and the agent's).
public struct RunningSimulator: Sendable {
    public let port: Int
    public let state: SimulatorState

    /// `http://127.0.0.1:<port>`
    public var origin: String { "http://127.0.0.1:\(port)" }
    /// `http://127.0.0.1:<port>/api/v1`
    public var baseURL: String { origin + "/api/v1" }
}

/// Starts a simulator on `127.0.0.1:0`, runs `body` with its port and state, then shuts it down.
///
/// ```swift
/// var configuration = SimulatorConfiguration()
/// configuration.funds = [wallet: 20]
/// try await withRunningSimulator(configuration: configuration) { sim in
///     // requests to sim.baseURL + "/image/generate"; await sim.state.transactions(wallet: wallet)
/// }
/// ```
public func withRunningSimulator<T: Sendable>(
    configuration: SimulatorConfiguration = SimulatorConfiguration(),
    logger: Logger = Logger(label: "venice-sim", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: @Sendable (RunningSimulator) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = try buildSimulator(configuration: configuration, logger: logger) { port in
        continuation.yield(port)
        continuation.finish()
    }
    // Stopped by a graceful shutdown, not by cancellation: cancelling a NIO server while a
    // connection is being accepted can trip NIOAsyncWriter's "deinited without finish()" trap.
    var groupConfiguration = ServiceGroupConfiguration(services: [app], logger: logger)
    groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
    let serviceGroup = ServiceGroup(configuration: groupConfiguration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await serviceGroup.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw SimulatorError.standard(.internalServerError, "simulator did not start") }
        let result: T
        do {
            result = try await body(RunningSimulator(port: port, state: app.state))
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            throw error
        }
        await serviceGroup.triggerGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}
