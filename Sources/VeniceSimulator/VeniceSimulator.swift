public import HummingbirdCore
import HTTPTypes
public import Hummingbird
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
import X402Protocol

/// # venice-sim — a local Venice API as strict as the real one
///
/// Routes under `/api/v1` (VENICE.md §10): SIWX with every `X402_SIGN_IN_*` code (X402Protocol's verifier and
/// replay guard), Bearer INFERENCE/ADMIN keys, 402 discovery bodies with `PAYMENT-REQUIRED`, the $0.10 wallet
/// admission minimum, 5 in flight per wallet, `/x402/top-up` settlement (EIP-712 recovery of EIP-3009
/// authorizations, idempotent per payment), `/x402/balance|transactions`, `generate_web3_key`, `/api_keys*`,
/// `/billing/*`, `/models`, `/chat/completions` (JSON and SSE), `/embeddings`, `/responses`, `/image/generate`, `/images/generations`, `/image/styles`, `/audio/speech`,
/// `/audio/transcriptions`, `/audio/quote|queue|retrieve|complete`.
///
/// Media are real: images in lossless WebP (default), PNG or baseline JPEG, deterministic per seed and prompt;
/// speech in WAV, PCM and FLAC (synthetic tones), MP3 as MPEG-1 Layer III silence of the right length;
/// opus/aac answer a 400 that names the limitation. Text is synthetic but deterministic per prompt, with token
/// counts of UTF-8 bytes / 4 (our approximation) and charges at the catalog's per-1M-token prices.
/// Every response carries a random Cloudflare-style `CF-RAY`.
///
/// Deviations chosen on purpose ([sim]): a settled payment resubmitted answers its original 200 (no second
/// credit) instead of 409; every SIWX failure burns nothing but a verified nonce; error-budget buckets are
/// credential × model × `user`; queued jobs are charged at queue for wallets and keys alike.
///
/// Start it in-process with ``withRunningSimulator(configuration:logger:_:)`` (ephemeral port, ``RunningSimulator/state``
/// to fund wallets, flip ``FaultKnobs``, read ledgers and recorded headers), or build it with
/// ``buildSimulator(configuration:logger:onServerRunning:)`` and run it in a `ServiceGroup` as `venice-sim` does.
///
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
            // Every answer, errors and the 500 fallback included (see CloudflareRay).
            if let ray = HTTPField.Name(CloudflareRay.headerName) { response.headers[ray] = CloudflareRay.make() }
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
