@testable import AgentCore
import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Synchronization
import Testing
import VeniceClient
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// The seams concurrency crosses: caps and budgets under parallel requests, lock storms
/// during signing, unlock floods, and numbers from outside that must never trap.
@Suite("Money and keys under concurrency and crafted input")
struct ConcurrencyTests {
    static func parallel(_ count: Int, _ work: @escaping @Sendable (Int) async throws -> AgentHarness.Answer) async throws -> [AgentHarness.Answer] {
        try await withThrowingTaskGroup(of: AgentHarness.Answer.self) { group in
            for index in 0..<count { group.addTask { try await work(index) } }
            var answers: [AgentHarness.Answer] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
    }

    /// The cheapest signed request the simulator answers without a rate limit.
    static let tinyImage = #"{"model":"z-image-turbo","prompt":"a dot","width":64,"height":64,"format":"png"}"#

    static func openLedger(_ agent: AgentHarness) throws -> DatabaseQueue {
        try DatabaseQueue(path: agent.stateDirectory + "/ledger.sqlite")
    }

    // MARK: payments

    @Test("ten parallel $10 top-ups under a $20 daily cap: two settle, eight are refused with daily_cap, two signatures")
    func parallelTopUpsHoldTheDailyCap() async throws {
        try await withAgent(fundUSD: 0, agent: { $0.dailyTopUpCapMicro = 20_000_000 }) { agent in
            let signaturesBefore = agent.session.signatureCount
            let answers = try await Self.parallel(10) { _ in try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#) }
            #expect(answers.filter { $0.status == 200 }.count == 2, "\(answers.map(\.status))")
            let refused = answers.filter { $0.status == 403 }
            #expect(refused.count == 8)
            #expect(refused.allSatisfy { $0.json?["error"]?["reason"]?.stringValue == "daily_cap" })
            #expect(agent.session.signatureCount - signaturesBefore == 2)
            let credited = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }
            #expect(credited.count == 2)
            #expect(await agent.sim.state.balanceUSD(wallet: agent.address.lowercasedHex) == 20)
        }
    }

    @Test("the journal refuses a second unresolved payment intent, whoever writes it; a reservation never signed is released")
    func oneOpenIntentAtMost() async throws {
        try await withAgent(fundUSD: 0) { agent in
            let db = try Self.openLedger(agent)
            try await db.write { db in
                try db.execute(sql: "INSERT INTO topups (id, created_at, amount_micro, state, updated_at) VALUES ('a', 1, 1, 'reserved', 1)")
            }
            await #expect(throws: DatabaseError.self) {
                try await db.write { db in
                    try db.execute(sql: "INSERT INTO topups (id, created_at, amount_micro, state, updated_at) VALUES ('b', 1, 1, 'reserved', 1)")
                }
            }
            // As after a crash between reserving and signing: nothing was sent, so the next
            // top-up releases the orphan first, then pays once.
            let next = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(next.status == 200, "\(next.text)")
            #expect(await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }.count == 1)
            let orphan = try await db.read { db in try String.fetchOne(db, sql: "SELECT state FROM topups WHERE id = 'a'") }
            #expect(orphan == "failed")
        }
    }

    @Test("five parallel insufficient-balance 402s with auto top-up pay once and all succeed")
    func parallelAutoTopUpsPayOnce() async throws {
        try await withAgent(fundUSD: 0.05, agent: { $0.autoTopUp = true }) { agent in
            let answers = try await Self.parallel(5) { _ in
                try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            }
            #expect(answers.allSatisfy { $0.status == 200 }, "\(answers.map { "\($0.status) \($0.header("X-Agent-Auto-Topup") ?? "")" })")
            let topUps = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp && $0.amountMicro == 10_000_000 }
            #expect(topUps.count == 1)
        }
    }

    @Test("a settlement whose journal update fails is retried and reported, and never paid twice")
    func settlementJournalFailureIsNotForgotten() async throws {
        try await withAgent(fundUSD: 0) { agent in
            let db = try Self.openLedger(agent)
            try await db.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER test_no_settle BEFORE UPDATE OF state ON topups WHEN NEW.state = 'settled'
                    BEGIN SELECT RAISE(ABORT, 'disk trouble'); END
                    """)
            }
            let first = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(first.status == 500)
            #expect(first.json?["error"]?["code"]?.stringValue == "AGENT_LEDGER_ERROR")
            #expect(first.text.contains("never paid twice"))
            try await db.write { db in try db.execute(sql: "DROP TRIGGER test_no_settle") }
            // The open intent is confirmed upstream (the same payload, credited once) before the next payment.
            let second = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(second.status == 200, "\(second.text)")
            let credited = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }
            #expect(credited.count == 2)
            let states = try await db.read { db in try String.fetchAll(db, sql: "SELECT state FROM topups ORDER BY created_at") }
            #expect(states == ["settled", "settled"])
        }
    }

    @Test("once request rows cannot be written, requests are refused before anything is signed; queued rows are kept, not lost")
    func unrecordableRequestsFailClosed() async throws {
        try await withAgent { agent in
            let db = try Self.openLedger(agent)
            try await db.write { db in
                try db.execute(sql: "CREATE TRIGGER test_no_rows BEFORE INSERT ON requests BEGIN SELECT RAISE(ABORT, 'disk full'); END")
            }
            // Rows are written behind the requests; the first write that fails stops admission.
            var refused: AgentHarness.Answer?
            for _ in 0..<50 {
                let answer = try await agent.request("POST", "/api/v1/image/generate", json: Self.tinyImage)
                if answer.status != 200 { refused = answer; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let answer = try #require(refused)
            #expect(answer.status == 500)
            #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_LEDGER_ERROR")
            let generated = await agent.sim.state.recordedRequests().filter { $0.path.hasSuffix("/image/generate") }.count
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: Self.tinyImage).status == 500)
            #expect(await agent.sim.state.recordedRequests().filter { $0.path.hasSuffix("/image/generate") }.count == generated)
            // Once the database takes rows again, the waiting ones are written and requests pass.
            try await db.write { db in try db.execute(sql: "DROP TRIGGER test_no_rows") }
            var served = false
            for _ in 0..<100 where !served {
                served = try await agent.request("POST", "/api/v1/image/generate", json: Self.tinyImage).status == 200
                if !served { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(served)
            let spend = try await agent.request("GET", "/agent/v1/spend")
            #expect(spend.json?["rows"]?.arrayValue?.first?["requests"]?.intValue == generated + 1)
        }
    }

    // MARK: budgets

    @Test("32 parallel requests against a $0.10 daily budget: at most ten $0.01 images are admitted")
    func budgetHoldsUnderParallelRequests() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"burst","daily_usd":0.10}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            let answers = try await Self.parallel(32) { _ in
                try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: [("Authorization", "Bearer \(token)")])
            }
            let served = answers.filter { $0.status == 200 }.count
            #expect(served <= 10 && served >= 1, "\(served) served")
            #expect(answers.allSatisfy { $0.status == 200 || $0.json?["error"]?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED" })
            let charged = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            #expect(charged.map(\.amountMicro).map(abs).reduce(0, +) <= 100_000)
        }
    }

    @Test("a limited client's expensive request is priced however its body is framed: chunked, padded past 1 MiB")
    func framingDoesNotBypassLimits() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"small","max_request_usd":0.05,"daily_usd":0.10}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            let auth = [("Authorization", "Bearer \(token)")]
            let expensive = #"{"model":"gpt-image-2","prompt":"a lighthouse","resolution":"4K","quality":"high"}"#
            let padded = String(expensive.dropLast()) + String(repeating: " ", count: 1_200_000) + "}"
            let chunked = try await agent.request("POST", "/api/v1/image/generate", json: expensive, headers: auth, framing: .chunked(7))
            let big = try await agent.request("POST", "/api/v1/image/generate", json: padded, headers: auth)
            let bigChunked = try await agent.request("POST", "/api/v1/image/generate", json: padded, headers: auth, framing: .chunked(65_536))
            for answer in [chunked, big, bigChunked] {
                #expect(answer.status == 402, "\(answer.text.prefix(200))")
                #expect(answer.json?["error"]?["limit"]?.stringValue == "max_request_usd")
            }
            #expect(await agent.sim.state.recordedRequests().filter { $0.path.hasSuffix("/image/generate") }.isEmpty)
        }
    }

    @Test("a limited client is refused what the agent cannot price: an unknown model, web search, an unreadable body, a rewrite of unpublished price")
    func unboundedPricesFailClosed() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"capped","daily_usd":1}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            let auth = [("Authorization", "Bearer \(token)")]
            let cases: [(String, String)] = [
                ("/api/v1/chat/completions", #"{"model":"no-such-model","messages":[{"role":"user","content":"hi"}],"max_tokens":10}"#),
                ("/api/v1/chat/completions", #"{"model":"venice-uncensored-1-2","messages":[{"role":"user","content":"hi"}],"max_tokens":10,"venice_parameters":{"enable_web_search":"on"}}"#),
                ("/api/v1/image/generate", #"{"model":"z-image-turbo","prompt":"#),
                ("/api/v1/image/generate", #"{"model":"no-such-model","prompt":"x"}"#),
                ("/api/v1/image/edit", #"{"image":"AAAA","prompt":"x","enhance_prompt":true}"#),
            ]
            for (path, body) in cases {
                let answer = try await agent.request("POST", path, json: body, headers: auth)
                #expect(answer.status == 402, "\(path): \(answer.text.prefix(200))")
                #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_PRICE_UNKNOWN")
            }
            #expect(await agent.sim.state.recordedRequests().filter { $0.path.contains("/chat/") || $0.path.contains("/image/") }.isEmpty)
            // The owner's default policy has no limits: its requests are not held back.
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
        }
    }

    @Test("a limited client is refused a chat whose max_tokens passes its max_request_usd, and a small one is sent")
    func chatWithinRequestLimit() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"chatty","max_request_usd":0.01}"#)
            let auth = [("Authorization", "Bearer \(try #require(created.json?["token"]?.stringValue))")]
            // venice-uncensored-1-2: $0.2 in, $0.9 out per 1M tokens. 100,000 out alone is $0.09.
            func chat(_ maxTokens: Int) -> String {
                #"{"model":"venice-uncensored-1-2","messages":[{"role":"user","content":"hi"}],"max_tokens":"# + String(maxTokens) + "}"
            }
            let refused = try await agent.request("POST", "/api/v1/chat/completions", json: chat(100_000), headers: auth)
            #expect(refused.status == 402, "\(refused.text.prefix(200))")
            #expect(refused.json?["error"]?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
            #expect(refused.json?["error"]?["limit"]?.stringValue == "max_request_usd")
            #expect(await agent.sim.state.recordedRequests().filter { $0.path.contains("/chat/") }.isEmpty)
            // About 4,200 tokens in ($0.00084) and 100 out ($0.00009): under $0.01, so it goes upstream.
            let sent = try await agent.request("POST", "/api/v1/chat/completions", json: chat(100), headers: auth)
            #expect(sent.json?["error"]?["code"]?.stringValue != "AGENT_BUDGET_EXCEEDED", "\(sent.text.prefix(200))")
            #expect(sent.json?["error"]?["code"]?.stringValue != "AGENT_PRICE_UNKNOWN", "\(sent.text.prefix(200))")
            #expect(await agent.sim.state.recordedRequests().filter { $0.path.contains("/chat/") }.count == 1)
        }
    }

    // MARK: numbers from outside

    @Test("variants out of range is a 400 naming the field, and the agent keeps serving", arguments: [
        "9223372036854775807", "1000000000000000", "-9223372036854775808", "1e300", "0", "5", "\"2\"",
    ])
    func hostileVariants(_ variants: String) async throws {
        try await withAgent { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate",
                                                 json: #"{"model":"z-image-turbo","prompt":"x","variants":"# + variants + "}")
            #expect(answer.status == 400)
            #expect(answer.text.contains("variants"))
            #expect(try await agent.request("GET", "/agent/v1/status").status == 200)
        }
    }

    @Test("upstream figures out of range are skipped, never trapped on: a 1e300 price, a -1e300 transaction")
    func hostileUpstreamNumbers() async throws {
        try await withOfflineAgentParts { parts in
            let prices = PriceBook(venice: parts.venice, logger: parts.logger)
            for usd in [1e300, -1e300, .infinity, -0.01] {
                #expect(await prices.priced(usdPerUnit: usd, units: 1, model: "m") == .unbounded(reason: "Venice's price for m is out of range"))
            }
            #expect(await prices.priced(usdPerUnit: 0.01, units: 9.2e18, model: "m") == .unbounded(reason: "Venice's price for m is out of range"))
            #expect(await prices.priced(usdPerUnit: 0.01, units: 3, model: "m") == .bounded(micro: 30_000))
            let reconciler = await ChargeReconciler(ledger: parts.ledger, requests: try await RequestLedger(ledger: parts.ledger), venice: parts.venice,
                                                    session: parts.session, logger: parts.logger)
            let rows: [JSONValue] = [
                ["id": "t1", "type": "CHARGE", "amount": .number("-1e300"), "createdAt": "2026-11-30T10:00:00Z"],
                ["id": "t2", "type": "CHARGE", "amount": .number("1e400"), "createdAt": "2026-11-30T10:00:00Z"],
                ["id": "t3", "type": "CHARGE", "amount": .number("-0.25"), "createdAt": "2026-11-30T10:00:00Z"],
            ]
            try await reconciler.apply(rows, now: 1_800_000_000_000)
            let stored = try await parts.ledger.writer.read { db in try String.fetchAll(db, sql: "SELECT id FROM upstream_transactions ORDER BY id") }
            #expect(stored == ["t3"])
        }
    }

    // MARK: the key

    @Test("lock/unlock storms during 1,000 signed requests: every answer is 2xx or 423 and the agent lives")
    func lockStormDuringSigning() async throws {
        try await withAgent { agent in
            let stop = ManagedAtomicFlag()
            let storm = Task {
                var cycles = 0
                while !stop.isSet {
                    _ = try? await agent.request("POST", "/agent/v1/lock")
                    _ = try? await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"test password"}"#)
                    cycles += 1
                }
                return cycles
            }
            var statuses: [Int: Int] = [:]
            try await withThrowingTaskGroup(of: [Int].self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        var seen: [Int] = []
                        for _ in stride(from: worker, to: 1000, by: 16) {
                            seen.append(try await agent.request("POST", "/api/v1/image/generate", json: Self.tinyImage).status)
                        }
                        return seen
                    }
                }
                for try await seen in group { for status in seen { statuses[status, default: 0] += 1 } }
            }
            stop.set()
            let cycles = await storm.value
            #expect(statuses.keys.allSatisfy { $0 == 200 || $0 == 423 }, "\(statuses)")
            #expect(statuses.values.reduce(0, +) == 1000)
            #expect(cycles > 0)
            #expect(try await agent.request("GET", "/agent/v1/status").status == 200)
        }
    }

    @Test("sixteen parallel wrong passwords: one derivation at a time, the others 429, and the failure delay holds for everyone")
    func unlockFloodIsSerialized() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A costlier keystore (N = 2^15), so derivations overlap in time.
        let key = PrivateKey.generate()
        var pw = Array("right".utf8)
        let json = try Keystore.encrypt(key, password: SecretBytes(zeroingSource: &pw), scryptN: 1 << 15)
        let path = dir + "/heavy.json"
        try SecureFile.write(json, to: path, overwrite: false)
        let clock = TestClock()
        try await withAgent(agent: { $0.keystorePath = path }, unlocked: false, sessionClock: clock) { agent in
            let answers = try await Self.parallel(16) { _ in
                try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"wrong"}"#)
            }
            let statuses = answers.map(\.status)
            // The clock stands still: after the one derivation fails, the delay refuses the rest.
            #expect(statuses.filter { $0 == 401 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 15, "\(statuses)")
            #expect(answers.filter { $0.status == 429 }.allSatisfy { $0.header("Retry-After") != nil })
            // The failure delay holds for everyone: an immediate retry is refused, a later one unlocks.
            let retry = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"right"}"#)
            #expect(retry.status == 429)
            #expect(retry.json?["error"]?["code"]?.stringValue == "AGENT_UNLOCK_DELAYED")
            let wait = try #require(retry.header("Retry-After").flatMap(Int.init))
            clock.advance(by: .seconds(wait))
            #expect(try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"right"}"#).status == 200)
        }
    }
}

/// A flag one task sets and others poll.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
