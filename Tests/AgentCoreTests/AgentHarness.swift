@testable import AgentCore
import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Synchronization
import NIOCore
import NIOHTTP1
import VeniceClient
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// A real agent on a temporary Unix socket in front of an in-process simulator.
struct AgentHarness: Sendable {
    let socketPath: String
    let session: KeySession
    let sim: RunningSimulator
    let http: HTTPClient
    /// The agent's state folder (ledger.sqlite).
    let stateDirectory: String
    /// The loopback TCP listener, when the configuration asked for one.
    var listener: LoopbackAddress? = nil

    var address: EthereumAddress { session.address }

    struct Answer: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue? { try? JSONValue(parsing: body) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// How a test body is framed on the wire.
    enum Framing: Sendable {
        case contentLength
        /// `Transfer-Encoding: chunked`, in pieces of this many bytes.
        case chunked(Int)
    }

    func request(_ method: String, _ path: String, json: String? = nil, headers: [(String, String)] = [],
                 framing: Framing = .contentLength) async throws -> Answer {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else { throw HarnessError("bad socket URL") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            switch framing {
            case .contentLength:
                request.body = .bytes(ByteBuffer(string: json))
            case .chunked(let size):
                let bytes = Array(json.utf8)
                let pieces = stride(from: 0, to: bytes.count, by: max(1, size)).map { ByteBuffer(bytes: bytes[$0..<min(bytes.count, $0 + max(1, size))]) }
                let stream = AsyncStream<ByteBuffer> { continuation in
                    for piece in pieces { continuation.yield(piece) }
                    continuation.finish()
                }
                request.body = .stream(stream, length: .unknown)
            }
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                      body: Array(body.readableBytesView))
    }

    /// A request to the loopback TCP listener; `Host` is the listener's own unless `headers` set one.
    func tcpRequest(_ method: String, _ path: String, json: String? = nil, headers: [(String, String)] = []) async throws -> Answer {
        guard let listener else { throw HarnessError("the agent has no TCP listener; set listen in the configuration") }
        var request = HTTPClientRequest(url: listener.url + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                      body: Array(body.readableBytesView))
    }

    /// Adds a named client over the socket (as the owner) and returns its token.
    func addClient(_ body: String) async throws -> String {
        let added = try await request("POST", "/agent/v1/clients", json: body)
        guard added.status == 200, let token = added.json?["token"]?.stringValue else { throw HarnessError("client not added: \(added.text)") }
        return token
    }

    /// What reached the simulator for clients: every recorded request but the agent's own
    /// price-catalog reads (`GET /models`, fetched at start and kept fresh in the background).
    func requestsAtSimulator() async -> [RecordedRequest] {
        await sim.state.recordedRequests().filter { !$0.path.hasSuffix("/models") }
    }

    static let imageRequest = #"{"model":"z-image-turbo","prompt":"a red fox in the snow","width":256,"height":256,"format":"png"}"#
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Makes a keystore for a fresh key (cheap scrypt) and returns its path and password.
func makeKeystore(in dir: String, password: String = "test password") throws -> (path: String, address: EthereumAddress) {
    let key = PrivateKey.generate()
    var pw = Array(password.utf8)
    let json = try Keystore.encrypt(key, password: SecretBytes(zeroingSource: &pw), scryptN: 1024)
    let path = dir + "/key.json"
    try SecureFile.write(json, to: path, overwrite: false)
    return (path, key.address)
}

func temporaryDirectory() throws -> String {
    // Short paths: Unix socket paths are limited to 107 bytes.
    let dir = "/tmp/va-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs `body` with a simulator (funded wallet, and `diemUSD` of DIEM on its linked Venice account) and an
/// unlocked agent in front of it.
func withAgent<T: Sendable>(
    fundUSD: Double = 20,
    diemUSD: Double = 0,
    staked: Bool = false,
    simulator: (inout SimulatorConfiguration) -> Void = { _ in },
    agent: @Sendable (inout AgentConfiguration) -> Void = { _ in },
    unlocked: Bool = true,
    sessionClock: TestClock? = nil,
    _ body: @Sendable (AgentHarness) async throws -> T
) async throws -> T {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let keystore = try makeKeystore(in: dir)
    var simConfig = SimulatorConfiguration()
    simConfig.logRequests = false
    if fundUSD > 0 { simConfig.funds = [keystore.address.lowercasedHex: fundUSD] }
    if staked { simConfig.stakedWallets = [keystore.address.checksummed] }
    if diemUSD > 0 { simConfig.diemUSD = [keystore.address.checksummed: diemUSD] }
    simulator(&simConfig)
    return try await withRunningSimulator(configuration: simConfig) { sim in
        var config = AgentConfiguration(keystorePath: keystore.path, socketPath: dir + "/s/agent.sock", upstream: sim.baseURL)
        config.retry.baseDelaySeconds = 0.05
        config.stateDirectory = dir + "/state"
        agent(&config)
        let now: @Sendable () -> ContinuousClock.Instant
        if let sessionClock { now = { sessionClock.now } } else { now = { ContinuousClock.now } }
        let session = try KeySession(keystorePath: config.keystorePath, lifetime: config.lifetime, clock: now)
        if unlocked {
            var pw = Array("test password".utf8)
            try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        }
        let server = AgentServer(configuration: config, session: session,
                                 logger: Logger(label: "agent-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        let handle = ShutdownHandle()
        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        clientConfig.timeout = .init(connect: .seconds(30), read: .seconds(120))
        // Redirects are answers under test (the dashboard login), never followed.
        clientConfig.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await server.run(shutdown: handle) { readyContinuation.yield(); readyContinuation.finish() }
                    return nil
                }
                var iterator = ready.makeAsyncIterator()
                _ = await iterator.next()
                let harness = AgentHarness(socketPath: config.socketPath, session: session, sim: sim, http: http,
                                           stateDirectory: config.stateDirectory ?? dir + "/state", listener: server.listener.value)
                let value: T
                do {
                    value = try await body(harness)
                } catch {
                    await handle.shutdown()
                    throw error
                }
                await handle.shutdown()
                try await group.waitForAll()
                return value
            }
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

/// A monotonic clock that stands still until a test advances it (failure delays, lifetimes).
final class TestClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 += duration } }
}

/// The agent's pieces with no Venice behind them: a fresh key (locked), an in-memory ledger and a
/// `VeniceAPI` aimed at a closed port (127.0.0.1:9), for units that need the types but must not reach upstream.
struct OfflineAgentParts: Sendable {
    let session: KeySession
    let ledger: AgentLedger
    let logger: Logger
    let venice: VeniceAPI
}

/// Runs `body` with `OfflineAgentParts` in a temporary folder, removed afterwards.
func withOfflineAgentParts<T: Sendable>(_ body: (OfflineAgentParts) async throws -> T) async throws -> T {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let session = try KeySession(keystorePath: try makeKeystore(in: dir).path, lifetime: nil)
    let ledger = try AgentLedger(writer: DatabaseQueue())
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let signer = try SiwxSigner(signer: session, clock: SkewClock(), nonces: NonceSource(clock: SkewClock()))
    let upstream = try UpstreamClient(configuration: .init(baseURL: "http://127.0.0.1:9/api/v1"), httpClient: .shared,
                                      credentials: AgentCredentials(signer: signer, bearer: { nil }), clock: SkewClock(), logger: logger)
    let venice = VeniceAPI(client: upstream, slots: UpstreamScheduler(), wallet: session.address)
    return try await body(OfflineAgentParts(session: session, ledger: ledger, logger: logger, venice: venice))
}
