import AgentCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// Issue 5 figures: requests per second and latency through the agent's socket versus straight
/// to the simulator, at 1, 8 and 64 concurrent clients, with simulator latency 0 and 100 ms.
/// Direct clients each use their own wallet (Venice admits 5 in flight per wallet; the agent
/// serves one wallet, so it queues above 5).
enum AgentBenchmarks {
    static let body = #"{"model":"z-image-turbo","prompt":"benchmark","width":64,"height":64,"format":"png"}"#

    struct Stats {
        let requests: Int
        let seconds: Double
        let p50: Double
        let p99: Double
        let failures: Int
        var rps: Double { Double(requests) / seconds }
    }

    static func run(seconds: Double) async throws {
        print("== Agent vs direct (POST /image/generate 64x64 PNG, \(Int(seconds)) s per cell, one process) ==")
        print("sim latency  clients   direct rps  p50 ms  p99 ms    agent rps  p50 ms  p99 ms   added p50 ms")
        for latency in [0, 100] {
            let dir = "/tmp/vb-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let agentKey = PrivateKey.generate()
            let directKeys = (0..<64).map { _ in PrivateKey.generate() }
            var config = SimulatorConfiguration()
            config.logRequests = false
            config.faults.latencyMilliseconds = latency
            config.funds = Dictionary(uniqueKeysWithValues: ([agentKey] + directKeys).map { ($0.address.lowercasedHex, 1_000_000) })
            var pw = Array("bench".utf8)
            let keystore = dir + "/key.json"
            try SecureFile.write(try Keystore.encrypt(agentKey, password: SecretBytes(zeroingSource: &pw), scryptN: 1024), to: keystore, overwrite: false)
            try await withRunningSimulator(configuration: config) { sim in
                var agentConfig = AgentConfiguration(keystorePath: keystore, socketPath: dir + "/agent.sock", upstream: sim.baseURL)
                agentConfig.stateDirectory = dir + "/state"
                agentConfig.maxQueued = 1024
                let session = try KeySession(keystorePath: keystore, lifetime: nil)
                var unlock = Array("bench".utf8)
                try await session.unlock(password: SecretBytes(zeroingSource: &unlock))
                let server = AgentServer(configuration: agentConfig, session: session, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
                let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
                let handle = ShutdownHandle()
                var clientConfig = HTTPClient.Configuration()
                clientConfig.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await server.run(shutdown: handle) { readyContinuation.yield(); readyContinuation.finish() } }
                    var iterator = ready.makeAsyncIterator()
                    _ = await iterator.next()
                    for clients in [1, 8, 64] {
                        let direct = try await measure(clients: clients, seconds: seconds) { i in
                            let signer = try SiwxSigner(signer: directKeys[i], clock: SystemWallClock())
                            var request = HTTPClientRequest(url: sim.baseURL + "/image/generate")
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.headers.add(name: "SIGN-IN-WITH-X", value: try signer.makeHeader().headerValue)
                            request.body = .bytes(ByteBuffer(string: body))
                            return try await send(http, request)
                        }
                        let url = URL(httpURLWithSocketPath: agentConfig.socketPath, uri: "/api/v1/image/generate")?.absoluteString ?? ""
                        let viaAgent = try await measure(clients: clients, seconds: seconds) { _ in
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: body))
                            return try await send(http, request)
                        }
                        func f(_ x: Double, _ w: Int) -> String { Bench.format(x, 1).leftPad(w) }
                        print("\(String(latency).leftPad(8)) ms \(String(clients).leftPad(8)) \(f(direct.rps, 12)) \(f(direct.p50, 7)) \(f(direct.p99, 7)) \(f(viaAgent.rps, 12)) \(f(viaAgent.p50, 7)) \(f(viaAgent.p99, 7)) \(f(viaAgent.p50 - direct.p50, 14))"
                              + (direct.failures + viaAgent.failures > 0 ? "  (failures: direct \(direct.failures), agent \(viaAgent.failures))" : ""))
                    }
                    await handle.shutdown()
                    try await group.waitForAll()
                }
                try await http.shutdown()
            }
        }
    }

    static func send(_ http: HTTPClient, _ request: HTTPClientRequest) async throws -> Bool {
        let response = try await http.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 16 << 20)
        return response.status == .ok
    }

    static func measure(clients: Int, seconds: Double, _ call: @escaping @Sendable (Int) async throws -> Bool) async throws -> Stats {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for i in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var failures = 0
                    while ContinuousClock.now < deadline {
                        let t0 = ContinuousClock.now
                        let ok = (try? await call(i)) ?? false
                        let d = ContinuousClock.now - t0
                        if ok { latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) } else { failures += 1 }
                    }
                    return (latencies, failures)
                }
            }
            var all: [Double] = []
            var failures = 0
            for try await (l, f) in group { all += l; failures += f }
            return (all, failures)
        }
        let elapsed = ContinuousClock.now - start
        let sorted = results.0.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return Stats(requests: sorted.count, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                     p50: pct(0.5), p99: pct(0.99), failures: results.1)
    }
}
