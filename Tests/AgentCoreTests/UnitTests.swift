@testable import AgentCore
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import VeniceClient
import WalletCrypto
import X402Protocol

/// The request path's parts, each alone: no socket, no simulator.
@Suite("Request path parts without sockets")
struct UnitTests {
    // MARK: scheduler

    @Test("the scheduler serves waiting clients round-robin, one request per client per turn")
    func schedulerIsFair() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 16)
        let first = try await scheduler.lease(.client("a"))
        let order = Recorded<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Client a queues three requests before b and c queue one each.
            for (index, client) in ["a", "a", "a", "b", "c"].enumerated() {
                group.addTask {
                    let lease = try await scheduler.lease(.client(client))
                    order.withLock { $0.append(client) }
                    await lease.release()
                }
                try await Self.waitUntil { await scheduler.snapshot.queued == index + 1 }
            }
            await first.release()
            try await group.waitForAll()
        }
        #expect(order.withLock { $0 } == ["a", "b", "c", "a", "a"])
    }

    @Test("the agent's own work waits behind every client, and a full queue refuses")
    func backgroundWaitsBehindClients() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 2)
        let held = try await scheduler.lease(.client("x"))
        let order = Recorded<[String]>([])
        async let background: Void = {
            let lease = try await scheduler.lease(.background)
            order.withLock { $0.append("background") }
            await lease.release()
        }()
        try await Self.waitUntil { await scheduler.snapshot.queued == 1 }
        async let client: Void = {
            let lease = try await scheduler.lease(.client("y"))
            order.withLock { $0.append("client") }
            await lease.release()
        }()
        try await Self.waitUntil { await scheduler.snapshot.queued == 2 }
        await #expect(throws: UpstreamScheduler.Refusal.full) { _ = try await scheduler.lease(.client("z")) }
        await held.release()
        _ = try await (background, client)
        #expect(order.withLock { $0 } == ["client", "background"])
    }

    @Test("a lease nobody releases is returned when it is dropped; a cancelled waiter leaves the queue")
    func leasesReleaseOnEveryPath() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 4)
        do { _ = try await scheduler.lease(.client("a")) }  // dropped at once
        try await Self.waitUntil { await scheduler.snapshot.inFlight == 0 }
        let held = try await scheduler.lease(.client("a"))
        let waiter = Task { try await scheduler.lease(.client("b")) }
        try await Self.waitUntil { await scheduler.snapshot.queued == 1 }
        waiter.cancel()
        await #expect(throws: UpstreamScheduler.Refusal.cancelled) { _ = try await waiter.value }
        try await Self.waitUntil { await scheduler.snapshot.queued == 0 }
        await held.release()
        #expect(await scheduler.snapshot.inFlight == 0)
    }

    @Test("reconciliation polls at most every 6 s, backs off to a minute while nothing new appears, and waits for Venice to debit")
    func reconcilePacer() {
        var pacer = ReconcilePacer()
        let start = ContinuousClock.now
        #expect(pacer.delayBeforePoll(now: start) == .seconds(2))
        pacer.polled(at: start, foundNew: true)
        #expect(pacer.delayBeforePoll(now: start) == .seconds(6))
        var intervals: [Duration] = []
        for index in 1...6 {
            pacer.polled(at: start + .seconds(index * 100), foundNew: false)
            intervals.append(pacer.interval)
        }
        #expect(intervals == [.seconds(12), .seconds(24), .seconds(48), .seconds(60), .seconds(60), .seconds(60)])
        pacer.polled(at: start + .seconds(1_000), foundNew: true)
        #expect(pacer.interval == .seconds(6))
        // Never closer than the budget, whatever the caller asks.
        #expect(pacer.delayBeforePoll(now: start + .seconds(1_001)) == .seconds(5))
    }

    // MARK: payment journal

    @Test("the journal reserves within the caps, counts every open or settled intent, and holds one open intent at most")
    func journalReservations() async throws {
        let ledger = try AgentLedger(writer: DatabaseQueue())
        let journal = TopUpJournal(ledger: ledger)
        func reserve(_ id: String, _ micro: Int64) async throws -> Result<TopUpJournal.Reservation, TopUpJournal.Refusal> {
            try await journal.reserve(id: id, amountMicro: micro, now: 1_000, dayStart: 0, perTopUpCapMicro: 10_000_000, dailyCapMicro: 15_000_000)
        }
        guard case .failure(.overCap) = try await reserve("a", 11_000_000) else { Issue.record("over the per-top-up cap was reserved"); return }
        guard case .success(let first) = try await reserve("b", 10_000_000) else { Issue.record("a top-up within the caps was refused"); return }
        #expect(first.committedBeforeMicro == 0)
        guard case .failure(.unresolved(let open)) = try await reserve("c", 1_000_000) else { Issue.record("a second open intent was reserved"); return }
        #expect(open == "b")
        try await journal.recordSigned("b", payTo: "0xpay", nonce: "0x01", validBefore: 9, payload: "signed")
        try await journal.update("b", state: .settled, outcome: "ok")
        guard case .failure(.overDailyCap(_, let committed)) = try await reserve("d", 6_000_000) else { Issue.record("over the daily cap was reserved"); return }
        #expect(committed == 10_000_000)
        guard case .success = try await reserve("e", 5_000_000) else { Issue.record("the rest of the daily cap was refused"); return }
        try await journal.update("e", state: .failed, outcome: "not paid")
        // A failed intent does not count: the same amount can be reserved again.
        guard case .success = try await reserve("f", 5_000_000) else { Issue.record("a failed intent still counted"); return }
        #expect(try await journal.unresolved().map(\.id) == ["f"])
    }

    // MARK: price book

    struct FixedPrices: PriceSource {
        let models: [String: [String: JSONValue]]
        let quote: Double?
        func models(type: String) async throws(VeniceClientError) -> [String: JSONValue] {
            guard let listed = models[type] else { throw .unexpectedAnswer(status: 500, message: "") }
            return listed
        }
        func audioQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
            guard let quote else { throw .unexpectedAnswer(status: 400, message: "") }
            return quote
        }
    }

    static func model(_ pricing: JSONValue) -> JSONValue { ["model_spec": ["pricing": pricing]] }

    static let prices = PriceBook(venice: FixedPrices(models: [
        "image": ["cheap": model(["generation": ["usd": .number("0.01")]]),
                  "tiers": model(["resolutions": ["1K": ["usd": .number("0.1")], "4K": ["usd": .number("0.5")]]]),
                  "absurd": model(["generation": ["usd": .number("1e300")]]),
                  "negative": model(["generation": ["usd": .number("-1")]])],
        "tts": ["voice": model(["input": ["usd": .number("15")]])],
    ], quote: 0.25))

    static func route(_ template: String) throws -> VeniceRoute {
        try #require(try RouteTable.route(method: "POST", template: template, walletAddress: "0x00"))
    }

    @Test("the price book prices images by model, variants and resolution, speech by characters, queued audio by quote")
    func priceBookBoundsWhatItCan() async throws {
        let image = try Self.route("/image/generate")
        #expect(try await Self.prices.estimate(route: image, body: ["model": "cheap", "variants": 4]).0 == .bounded(micro: 40_000))
        #expect(try await Self.prices.estimate(route: image, body: ["model": "tiers", "resolution": "4K"]).0 == .bounded(micro: 500_000))
        let speech = try Self.route("/audio/speech")
        #expect(try await Self.prices.estimate(route: speech, body: ["model": "voice", "input": "hello"]).0 == .bounded(micro: 75))
        let queue = try Self.route("/audio/queue")
        #expect(try await Self.prices.estimate(route: queue, body: ["model": "m", "prompt": "a song"]).0 == .bounded(micro: 250_000))
        let retrieve = try Self.route("/audio/retrieve")
        #expect(try await Self.prices.estimate(route: retrieve, body: nil).0 == .free)
    }

    @Test("the price book leaves unbounded what it cannot price: unknown or absurd prices, unreadable bodies, unpriced routes")
    func priceBookFailsClosed() async throws {
        let image = try Self.route("/image/generate")
        for body: JSONValue? in [["model": "nope"], ["model": "absurd"], ["model": "negative"], ["prompt": "no model"], nil, .string("x")] {
            guard case .unbounded = try await Self.prices.estimate(route: image, body: body).0 else {
                Issue.record("\(String(describing: body)) was priced")
                continue
            }
        }
        guard case .unbounded = try await Self.prices.estimate(route: try Self.route("/chat/completions"), body: ["model": "m"]).0 else {
            Issue.record("chat was priced")
            return
        }
        await #expect(throws: AgentError.self) { _ = try await Self.prices.estimate(route: image, body: ["model": "cheap", "variants": 5]) }
    }

    // MARK: middlewares

    static func context(connection: ConnectionRegistry.Info?) -> AgentRequestContext {
        var context = AgentRequestContext(source: .init(channel: EmbeddedChannel(), logger: Logger(label: "test")))
        context.connection = connection
        return context
    }

    static func request(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) -> Request {
        Request(head: HTTPRequest(method: method, scheme: "http", authority: "agent", path: path, headerFields: headers), body: .init(buffer: ByteBuffer()))
    }

    static let owner = UInt32(getuid())

    static func info(uid: UInt32) -> ConnectionRegistry.Info {
        ConnectionRegistry.Info(id: 1, peer: PeerCredentials(uid: uid, gid: 0, pid: 42), identity: nil)
    }

    static func callers(_ configure: (inout AgentConfiguration) -> Void = { _ in }) async throws -> CallerMiddleware {
        var configuration = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
        configure(&configuration)
        let clients = try await ClientStore(ledger: try AgentLedger(writer: DatabaseQueue()))
        return CallerMiddleware(resolver: CallerResolver(configuration: configuration, clients: clients), metrics: AgentMetrics())
    }

    @Test("the caller middleware names the caller: the owner administers, another allowed uid does not, others are refused")
    func callerMiddleware() async throws {
        let middleware = try await Self.callers { $0.allowedUIDs = [Self.owner &+ 1] }
        let seen = Recorded<Caller?>(nil)
        let next: @Sendable (Request, AgentRequestContext) async throws -> Response = { _, context in
            seen.withLock { $0 = context.caller }
            return Response(status: .ok)
        }
        _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner)), next: next)
        #expect(seen.withLock { $0?.administrator } != nil)
        _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner &+ 1)), next: next)
        #expect(seen.withLock { $0?.administrator } == nil)
        #expect(seen.withLock { $0?.policy.name } == "uid-\(Self.owner &+ 1)")
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner &+ 2)), next: next)
        }
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: nil), next: next)
        }
        var headers = HTTPFields()
        headers[.authorization] = "Bearer vat_00"
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status", headers: headers), context: Self.context(connection: Self.info(uid: Self.owner)), next: next)
        }
    }

    @Test("the owner's context can only be made for a caller that administers")
    func ownerContextNeedsAnAdministrator() async throws {
        let middleware = try await Self.callers { $0.allowedUIDs = [Self.owner &+ 1] }
        for (uid, administers) in [(Self.owner, true), (Self.owner &+ 1, false)] {
            let made = Recorded<Bool?>(nil)
            _ = try await middleware.handle(Self.request("/agent/v1/lock", method: .post), context: Self.context(connection: Self.info(uid: uid))) { _, context in
                made.withLock { $0 = (try? OwnerRequestContext(context: context)) != nil }
                return Response(status: .ok)
            }
            #expect(made.withLock { $0 } == administers)
        }
    }

    @Test("the lock gate refuses signed and Bearer routes while locked, and lets public ones through")
    func lockGate() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let session = try KeySession(keystorePath: try makeKeystore(in: dir).path, lifetime: nil)
        let ledger = try AgentLedger(writer: DatabaseQueue())
        let client = try UpstreamClient(configuration: .init(baseURL: "http://127.0.0.1:9/api/v1"), httpClient: .shared,
                                        credentials: AgentCredentials(signer: try SiwxSigner(signer: session, clock: SkewClock()), bearer: { nil }),
                                        clock: SkewClock(), logger: Logger(label: "test"))
        let apiKeys = try await ApiKeyService(ledger: ledger, venice: VeniceAPI(client: client, slots: UpstreamScheduler(), wallet: session.address),
                                              session: session, logger: Logger(label: "test"))
        let gate = LockGate(session: session, apiKeys: apiKeys)
        let next: @Sendable (Request, AgentRequestContext) async throws -> Response = { _, _ in Response(status: .ok) }
        for (method, template, expected) in [("POST", "/image/generate", "AGENT_LOCKED"), ("GET", "/billing/balance", "AGENT_LOCKED"), ("GET", "/models", nil)] {
            var context = Self.context(connection: Self.info(uid: Self.owner))
            context.coreContext.endpointPath.value = "/api/v1" + template
            do {
                _ = try await gate.handle(Self.request("/api/v1" + template, method: HTTPRequest.Method(method) ?? .get), context: context, next: next)
                #expect(expected == nil, "\(template) passed while locked")
            } catch let error as AgentError {
                #expect(error.code == expected, "\(template): \(error.code)")
            }
        }
    }

    static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the condition never held")
    }
}

import AsyncHTTPClient

/// A value tasks record into and the test reads afterwards.
final class Recorded<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
