import AgentCore
import GRDB
import Hummingbird
import ServiceLifecycle
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

    static func run(seconds: Double, sequential: Int) async throws {
        print("== Agent vs direct (POST /image/generate 64x64 PNG, \(Int(seconds)) s per cell, one process) ==")
        print("sim latency  in flight  clients   direct rps  p50 ms  p99 ms    agent rps  p50 ms  p99 ms   added p50  added p99  agent/direct")
        for (latency, maxInFlight) in [(0, 5), (100, 5), (100, 64), (0, 64)] {
            try await withBench(latency: latency, maxInFlight: maxInFlight) { bench in
                // One request each way first: connections open, caches warm.
                _ = try await bench.direct(0)
                _ = try await bench.viaAgent()
                for clients in maxInFlight == 64 ? (latency == 0 ? [8, 64] : [1, 8]) : [1, 8, 64] {
                    let direct = try await measure(clients: clients, seconds: seconds) { i in try await bench.direct(i) }
                    let viaAgent = try await measure(clients: clients, seconds: seconds) { _ in try await bench.viaAgent() != nil }
                    func f(_ x: Double, _ w: Int) -> String { Bench.format(x, 2).leftPad(w) }
                    print("\(String(latency).leftPad(8)) ms \(String(maxInFlight).leftPad(10)) \(String(clients).leftPad(8)) "
                          + "\(f(direct.rps, 12)) \(f(direct.p50, 7)) \(f(direct.p99, 7)) \(f(viaAgent.rps, 12)) \(f(viaAgent.p50, 7)) \(f(viaAgent.p99, 7)) "
                          + "\(f(viaAgent.p50 - direct.p50, 11)) \(f(viaAgent.p99 - direct.p99, 10)) \(Bench.format(viaAgent.rps / max(direct.rps, 0.001) * 100, 0).leftPad(12))%"
                          + (direct.failures + viaAgent.failures > 0 ? "  (failures: direct \(direct.failures), agent \(viaAgent.failures))" : ""))
                }
                let retries = try await bench.metrics().split(separator: "\n").filter { $0.hasPrefix("venice_agent_upstream_retries_total{") }
                if !retries.isEmpty { print("   upstream retries: " + retries.map { $0.replacingOccurrences(of: "venice_agent_upstream_retries_total", with: "") }.joined(separator: ", ")) }
                if latency == 0 && maxInFlight == 5 {
                    try await sequentialRun(bench, count: sequential)
                    try await withBench(latency: 0, maxInFlight: 5, signAhead: false) { inline in
                        _ = try await inline.viaAgent()
                        try await sequentialRun(inline, count: sequential, label: "the same, every header signed inline (no SignInReserve)")
                    }
                    try await breakdown(bench)
                    try await bareRelay(bench, seconds: seconds)
                }
                if latency == 100 && maxInFlight == 5 { try await slowRequests(bench, count: 300) }
            }
        }
    }

    /// One simulator (all wallets funded) and one agent in front of it, in this process.
    struct Running: Sendable {
        let http: HTTPClient
        let simURL: String
        let agentURL: String
        let socketPath: String
        let directKeys: [PrivateKey]

        func direct(_ i: Int) async throws -> Bool {
            let signer = try SiwxSigner(signer: directKeys[i % directKeys.count], clock: SystemWallClock())
            var request = HTTPClientRequest(url: simURL + "/image/generate")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "SIGN-IN-WITH-X", value: try signer.makeHeader().headerValue)
            request.body = .bytes(ByteBuffer(string: AgentBenchmarks.body))
            return try await AgentBenchmarks.send(http, request)
        }

        /// The agent's `X-Agent-Overhead-Ms` for one request, nil when it failed.
        func viaAgent() async throws -> Double? {
            var request = HTTPClientRequest(url: agentURL)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: AgentBenchmarks.body))
            let response = try await http.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { return nil }
            return response.headers.first(name: "X-Agent-Overhead-Ms").flatMap(Double.init) ?? 0
        }

        func metrics() async throws -> String {
            guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/metrics")?.absoluteString else { return "" }
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            return String(buffer: try await response.body.collect(upTo: 16 << 20))
        }
    }

    /// `streamEventDelay`: the simulator's pause between a streamed chat's events (its test knob), in ms.
    static func withBench(latency: Int, maxInFlight: Int, streamEventDelay: Int = 0, signAhead: Bool = true,
                          _ body: @escaping @Sendable (Running) async throws -> Void) async throws {
        let dir = "/tmp/vb-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agentKey = PrivateKey.generate()
        let directKeys = (0..<64).map { _ in PrivateKey.generate() }
        var config = SimulatorConfiguration()
        config.logRequests = false
        config.faults.latencyMilliseconds = latency
        config.concurrencyLimit = maxInFlight
        config.streamEventDelayMilliseconds = streamEventDelay
        config.funds = Dictionary(uniqueKeysWithValues: ([agentKey] + directKeys).map { ($0.address.lowercasedHex, 1_000_000) })
        var pw = Array("bench".utf8)
        let keystore = dir + "/key.json"
        try SecureFile.write(try Keystore.encrypt(agentKey, password: SecretBytes(zeroingSource: &pw), scryptN: 1024), to: keystore, overwrite: false)
        try await withRunningSimulator(configuration: config) { sim in
            var agentConfig = AgentConfiguration(keystorePath: keystore, socketPath: dir + "/agent.sock", upstream: sim.baseURL)
            agentConfig.stateDirectory = dir + "/state"
            agentConfig.maxQueued = 1024
            agentConfig.maxInFlight = maxInFlight
            agentConfig.signAhead = signAhead
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
                let agentURL = URL(httpURLWithSocketPath: agentConfig.socketPath, uri: "/api/v1/image/generate")?.absoluteString ?? ""
                try await body(Running(http: http, simURL: sim.baseURL, agentURL: agentURL, socketPath: agentConfig.socketPath, directKeys: directKeys))
                await handle.shutdown()
                try await group.waitForAll()
            }
            try await http.shutdown()
        }
    }

    /// Stalls: `count` sequential signed requests, one client. The worst request matters, not a percentile.
    static func sequentialRun(_ bench: Running, count: Int, label: String? = nil) async throws {
        var overheads: [Double] = []
        var agentLatencies: [Double] = []
        var directLatencies: [Double] = []
        overheads.reserveCapacity(count)
        for _ in 0..<count {
            let t0 = ContinuousClock.now
            if let overhead = try await bench.viaAgent() { overheads.append(overhead) }
            agentLatencies.append((ContinuousClock.now - t0).milliseconds)
            let t1 = ContinuousClock.now
            _ = try await bench.direct(0)
            directLatencies.append((ContinuousClock.now - t1).milliseconds)
        }
        func summary(_ values: [Double]) -> String {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return "none" }
            func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            return "p50 \(Bench.format(pct(0.5), 3)) ms, p99 \(Bench.format(pct(0.99), 3)) ms, max \(Bench.format(sorted.last ?? 0, 3)) ms"
        }
        print("-- \(count) sequential signed requests (sim 0 ms)" + (label.map { ": " + $0 } ?? "") + " --")
        print("time in the agent (X-Agent-Overhead-Ms): \(summary(overheads)) (\(overheads.count) answered)")
        print("end to end through the agent:            \(summary(agentLatencies))")
        print("end to end direct:                       \(summary(directLatencies))")
    }

    /// The framework's floor: a bare Hummingbird route on a Unix socket that signs and forwards
    /// each request with AsyncHTTPClient and streams the answer back — no policy, no ledger, no
    /// pricing. What the agent adds beyond this is its own work.
    static func bareRelay(_ bench: Running, seconds: Double) async throws {
        let socket = "/tmp/vb-relay-\(UUID().uuidString.prefix(8)).sock"
        let router = Router()
        let key = bench.directKeys[1]
        let simURL = bench.simURL
        let http = bench.http
        router.post("/api/v1/image/generate") { request, _ -> Response in
            let signer = try SiwxSigner(signer: key, clock: SystemWallClock())
            var outgoing = HTTPClientRequest(url: simURL + "/image/generate")
            outgoing.method = .POST
            outgoing.headers.add(name: "Content-Type", value: "application/json")
            outgoing.headers.add(name: "SIGN-IN-WITH-X", value: try signer.makeHeaderValue())
            outgoing.body = .bytes(try await request.body.collect(upTo: 1 << 20))
            let answer = try await http.execute(outgoing, timeout: .seconds(60))
            let length = answer.headers.first(name: "content-length").flatMap { Int($0) }
            return Response(status: .init(code: Int(answer.status.code)), body: ResponseBody(contentLength: length) { writer in
                for try await chunk in answer.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
        }
        let logger = Logger(label: "relay", factory: { _ in SwiftLogNoOpLogHandler() })
        let app = Application(router: router, configuration: .init(address: .unixDomainSocket(path: socket)), logger: logger)
        // Stopped by graceful shutdown, never by cancellation (a NIO server cancelled while accepting can trap).
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(10)) }
            let url = URL(httpURLWithSocketPath: socket, uri: "/api/v1/image/generate")?.absoluteString ?? ""
            let relayed = try await measure(clients: 1, seconds: seconds) { _ in
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: AgentBenchmarks.body))
                return try await send(bench.http, request)
            }
            let direct = try await measure(clients: 1, seconds: seconds) { _ in try await bench.direct(2) }
            print("-- bare Hummingbird + AsyncHTTPClient relay, 1 client, sim 0 ms: p50 \(Bench.format(relayed.p50, 2)) ms, p99 \(Bench.format(relayed.p99, 2)) ms "
                  + "(direct p50 \(Bench.format(direct.p50, 2)) ms, p99 \(Bench.format(direct.p99, 2)) ms): the framework floor adds \(Bench.format(relayed.p50 - direct.p50, 2)) ms at p50")
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        try? FileManager.default.removeItem(atPath: socket)
    }

    /// At 100 ms upstream, one client: the requests that took more than one upstream round trip.
    static func slowRequests(_ bench: Running, count: Int) async throws {
        var slow: [(Double, Double)] = []
        for _ in 0..<count {
            let t0 = ContinuousClock.now
            let overhead = try await bench.viaAgent() ?? -1
            let total = (ContinuousClock.now - t0).milliseconds
            if total > 150 { slow.append((total, overhead)) }
        }
        print("-- \(count) sequential requests at 100 ms: \(slow.count) took over 150 ms: "
              + slow.map { "\(Bench.format($0.0, 1)) ms (agent \(Bench.format($0.1, 3)) ms)" }.joined(separator: ", "))
    }

    /// Where a proxied request's time in the agent goes, from the agent's own histograms.
    static func breakdown(_ bench: Running) async throws {
        let text = try await bench.metrics()
        func value(_ prefix: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        print("-- mean cost per proxied request inside the agent --")
        for phase in ["peer", "policy", "ledger", "signing", "upstream_client", "response"] {
            let sum = value("venice_agent_phase_seconds_sum{phase=\"\(phase)\"}")
            let count = value("venice_agent_phase_seconds_count{phase=\"\(phase)\"}")
            print("\(phase.padding(toLength: 16, withPad: " ", startingAt: 0)) \(Bench.format(count > 0 ? sum / count * 1e6 : 0, 1).leftPad(9)) µs  (n=\(Int(count)))")
        }
        let sum = value("venice_agent_overhead_seconds_sum")
        let count = value("venice_agent_overhead_seconds_count")
        print("overhead total   \(Bench.format(count > 0 ? sum / count * 1e6 : 0, 1).leftPad(9)) µs  (n=\(Int(count)))")
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
        _ = sorted
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return Stats(requests: sorted.count, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                     p50: pct(0.5), p99: pct(0.99), failures: results.1)
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// The ledger's write path alone: one GRDB async write per request row, as the agent makes it.
enum LedgerBenchmarks {
    static func run(count: Int) async throws {
        let dir = "/tmp/vb-ledger-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try AgentLedger(directory: dir, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        var total = Duration.zero
        var worst = Duration.zero
        for index in 0..<count {
            let started = ContinuousClock.now
            try await ledger.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO requests (id, client, uid, pid, method, route, model, estimate_micro, bytes_in, started_at)
                    VALUES (?, 'default', 0, 1, 'POST', '/api/v1/image/generate', 'm', 10000, 100, ?)
                    """, arguments: ["r\(index)", Int64(index)])
            }
            let elapsed = ContinuousClock.now - started
            total += elapsed
            worst = max(worst, elapsed)
        }
        print("-- ledger: \(count) sequential request rows (GRDB async write, WAL, synchronous=NORMAL) --")
        print("mean \(Bench.format(total.milliseconds / Double(count) * 1000, 1)) µs, max \(Bench.format(worst.milliseconds, 3)) ms")
    }
}
