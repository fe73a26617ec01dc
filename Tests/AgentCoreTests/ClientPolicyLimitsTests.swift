@testable import AgentCore
import Foundation
import AsyncHTTPClient
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import VeniceClient
import VeniceSimulator
import WalletCrypto

/// Client policies beyond route groups and daily limits: models, requests per minute, parallel
/// requests, a monthly budget, a soft-limit warning and a token expiry.
@Suite("Client policies: models, rate, parallel, monthly, soft limit, expiry")
struct ClientPolicyLimitsTests {
    static func chat(_ model: String) -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}],"max_tokens":10}"#
    }

    func generations(_ agent: AgentHarness) async -> Int {
        await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/image/generate") }.count
    }

    @Test("model allow-lists: exact ids and prefix-*; lists combine with AND when narrowed; a client's list must lie within its creator's")
    func allowListRules() throws {
        let list = try ModelAllowList(parsing: ["venice-uncensored-1-2", "qwen3-*"])
        #expect(list.allows("venice-uncensored-1-2") && list.allows("qwen3-235b-a22b-instruct-2507"))
        #expect(!list.allows("venice-uncensored-1-2x") && !list.allows("claude-opus-4-5") && !list.allows("qwen2"))
        #expect(list.entries == ["venice-uncensored-1-2", "qwen3-*"])
        let both = list.and(try ModelAllowList(parsing: ["qwen3-coder-*"]))
        #expect(both.allows("qwen3-coder-480b-a35b-instruct-turbo") && !both.allows("qwen3-235b-a22b-instruct-2507"))
        #expect(try ModelAllowList(parsing: ["qwen3-coder-*", "venice-uncensored-1-2"]).isWithin(list))
        #expect(!(try ModelAllowList(parsing: ["qwen*"]).isWithin(list)))
        #expect(!(try ModelAllowList(parsing: ["claude-opus-4-5"]).isWithin(list)))
        for bad in [[], ["*"], ["a b"], ["x,y"], [String(repeating: "m", count: 129)], Array(repeating: "m", count: 65)] {
            #expect(throws: ModelAllowList.Invalid.self) { try ModelAllowList(parsing: bad) }
        }
        let creator = ClientPolicy(name: "c", routes: nil, maxRequestMicro: nil, dailyMicro: nil, source: .token, models: list,
                                   maxParallel: 2, requestsPerMinute: 10, monthlyMicro: 5_000_000)
        func child(models: ModelAllowList? = nil, parallel: Int? = 2, rpm: Int? = 10, monthly: Int64? = 5_000_000) -> ClientPolicy {
            ClientPolicy(name: "k", routes: nil, maxRequestMicro: nil, dailyMicro: nil, source: .token, models: models,
                         maxParallel: parallel, requestsPerMinute: rpm, monthlyMicro: monthly)
        }
        #expect(child(models: list).broadening(beyond: creator) == nil)
        #expect(child(models: nil).broadening(beyond: creator)?.contains("models") == true)
        #expect(child(models: list, parallel: 3).broadening(beyond: creator)?.contains("max_parallel") == true)
        #expect(child(models: list, rpm: nil).broadening(beyond: creator)?.contains("requests_per_minute") == true)
        #expect(child(models: list, monthly: 6_000_000).broadening(beyond: creator)?.contains("monthly_usd") == true)
        let narrowed = child(models: try ModelAllowList(parsing: ["qwen3-*"]), parallel: 5, rpm: nil, monthly: nil).narrowed(to: creator)
        #expect(narrowed.maxParallel == 2 && narrowed.requestsPerMinute == 10 && narrowed.monthlyMicro == 5_000_000)
        #expect(narrowed.models?.allows("qwen3-x") == true && narrowed.models?.allows("venice-uncensored-1-2") == false)
    }

    @Test("months: the UTC month start of any instant, and a monthly hold resets on the 1st while a day of last month adjusts nothing")
    func monthlyBook() {
        func ms(_ text: String) -> Int64 { Timestamp.milliseconds(text) ?? -1 }
        #expect(Timestamp.utcMonthStart(ms("2026-12-01T03:00:00Z")) == ms("2026-12-01"))
        #expect(Timestamp.utcMonthStart(ms("2024-02-29T23:59:59.999Z")) == ms("2024-02-01"))
        #expect(Timestamp.utcMonthStart(ms("2026-01-31T12:00:00Z")) == ms("2026-01-01"))
        #expect(Timestamp.utcMonthStart(ms("2000-03-01T00:00:00Z")) == ms("2000-03-01"))
        #expect(Timestamp.utcMonthStart(0) == 0 && Timestamp.utcMonthStart(-5) == 0)
        let start = ms("2026-11-30T12:00:00Z")
        let book = SpendBook(day: Timestamp.utcMidnight(start), spent: [:], month: Timestamp.utcMonthStart(start), monthSpent: [:])
        guard case .held(let day, _, let month) = book.hold(700_000, client: "a", dailyLimit: nil, monthlyLimit: 1_000_000, now: start) else {
            Issue.record("not held")
            return
        }
        #expect(month == 700_000)
        guard case .overMonthly(let limit, let spent) = book.hold(400_000, client: "a", dailyLimit: nil, monthlyLimit: 1_000_000, now: start) else {
            Issue.record("not refused")
            return
        }
        #expect(limit == 1_000_000 && spent == 700_000)
        let nextMonth = ms("2026-12-01T00:00:01Z")
        guard case .held(_, _, let fresh) = book.hold(400_000, client: "a", dailyLimit: nil, monthlyLimit: 1_000_000, now: nextMonth) else {
            Issue.record("the month did not reset")
            return
        }
        #expect(fresh == 400_000)
        book.adjust(-700_000, client: "a", day: day)  // a November request settled in December
        #expect(book.spentThisMonth(client: "a", now: nextMonth) == 400_000)
    }

    @Test("a client's policy survives a restart of the store")
    func persisted() async throws {
        try await withOfflineAgentParts { parts in
            let store = try await ClientStore(ledger: parts.ledger)
            let expiry = AgentLedger.nowMilliseconds() + 86_400_000
            let policy = ClientPolicy(name: "app", routes: ["text"], maxRequestMicro: 100_000, dailyMicro: 1_000_000, source: .token,
                                      models: try ModelAllowList(parsing: ["qwen3-*", "venice-uncensored-1-2"]), maxParallel: 3,
                                      requestsPerMinute: 30, monthlyMicro: 9_000_000, softLimit: 0.8, expiresAt: expiry)
            let created = try await store.create(policy)
            let reloaded = try await ClientStore(ledger: parts.ledger)
            #expect(reloaded.policy(forToken: created.token) == policy)
        }
    }

    @Test("a client limited to some models is refused others with AGENT_MODEL_NOT_ALLOWED naming the model; nothing is sent")
    func modelsAllowed() async throws {
        try await withAgent { agent in
            let token = try await agent.addClient(#"{"name":"coder","routes":["text","image"],"models":["venice-uncensored-1-2","qwen3-*"]}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            #expect(try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat("venice-uncensored-1-2"), headers: auth).status == 200)
            #expect(try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat("qwen3-235b-a22b-instruct-2507"), headers: auth).status == 200)
            func paid() async -> Int {
                await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/chat/completions") || $0.path.hasSuffix("/image/generate") }.count
            }
            let before = await paid()
            let refused = try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat("claude-opus-4-5"), headers: auth)
            #expect(refused.status == 403)
            #expect(refused.json?["error"]?["code"]?.stringValue == "AGENT_MODEL_NOT_ALLOWED")
            #expect(refused.json?["error"]?["model"]?.stringValue == "claude-opus-4-5")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("qwen3-*") == true)
            let noModel = try await agent.request("POST", "/api/v1/image/generate", json: #"{"prompt":"a fox","width":64,"height":64}"#, headers: auth)
            #expect(noModel.status == 403 && noModel.json?["error"]?["model"] == .null)
            #expect(await paid() == before)
            let listed = try await agent.request("GET", "/agent/v1/clients")
            let coder = listed.json?["clients"]?.arrayValue?.first { $0["name"]?.stringValue == "coder" }
            #expect(coder?["models"] == .array([.string("venice-uncensored-1-2"), .string("qwen3-*")]))
        }
    }

    @Test("requests_per_minute: the next request in the minute gets 429 AGENT_RATE_LIMITED with Retry-After; the owner is not limited")
    func perMinute() async throws {
        try await withAgent { agent in
            let token = try await agent.addClient(#"{"name":"chatty","routes":["image"],"requests_per_minute":3}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            for _ in 0..<3 { #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200) }
            let sent = await generations(agent)
            let refused = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(refused.status == 429)
            #expect(refused.json?["error"]?["code"]?.stringValue == "AGENT_RATE_LIMITED")
            #expect(refused.json?["error"]?["limit"]?.stringValue == "requests_per_minute")
            #expect(refused.json?["error"]?["limit_value"]?.doubleValue == 3)
            let retryAfter = refused.header("retry-after").flatMap { Int($0) }
            #expect(retryAfter.map { (1...60).contains($0) } == true, "\(String(describing: retryAfter))")
            #expect(await generations(agent) == sent)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
        }
    }

    @Test("max_parallel: of 6 simultaneous requests 2 are answered, 4 refused at once; a slot is free again once an answer is done")
    func parallel() async throws {
        try await withAgent(simulator: { $0.faults.latencyMilliseconds = 3000 }) { agent in
            let token = try await agent.addClient(#"{"name":"busy","routes":["image"],"max_parallel":2}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
                        return (answer.status, answer.json?["error"]?["limit"]?.stringValue)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 2, "\(statuses)")
            #expect(statuses.filter { $0.0 == 429 && $0.1 == "max_parallel" }.count == 4, "\(statuses)")
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200)
        }
    }

    @Test("monthly_usd: a request past the month's budget is refused 402 naming the monthly period; nothing is sent")
    func monthly() async throws {
        try await withAgent { agent in
            let token = try await agent.addClient(#"{"name":"monthly","routes":["image"],"monthly_usd":0.015}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200)
            let sent = await generations(agent)
            let refused = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(refused.status == 402)
            #expect(refused.json?["error"]?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
            #expect(refused.json?["error"]?["limit"]?.stringValue == "monthly_usd")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("monthly") == true)
            #expect(await generations(agent) == sent)
            let listed = try await agent.request("GET", "/agent/v1/clients")
            let row = listed.json?["clients"]?.arrayValue?.first { $0["name"]?.stringValue == "monthly" }
            #expect(row?["spent_month_usd"]?.doubleValue == 0.01 && row?["monthly_usd"]?.doubleValue == 0.015)
        }
    }

    @Test("soft_limit: past the fraction, answers carry X-Agent-Budget-Warning and one budget_warning audit event is written")
    func softLimit() async throws {
        try await withAgent { agent in
            let token = try await agent.addClient(#"{"name":"soft","routes":["image"],"daily_usd":0.03,"soft_limit":0.5}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            let first = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(first.status == 200 && first.header("x-agent-budget-warning") == nil)
            let second = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(second.status == 200)
            let warning = try #require(second.header("x-agent-budget-warning"))
            #expect(warning.contains("soft") && warning.contains("66%") && warning.contains("daily"), "\(warning)")
            let third = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(third.header("x-agent-budget-warning")?.contains("100%") == true)
            let audit = try await agent.request("GET", "/agent/v1/audit?limit=100").json?["events"]?.arrayValue ?? []
            #expect(audit.filter { $0["kind"]?.stringValue == "budget_warning" }.count == 1)
        }
    }

    @Test("expires_at: the token works until its time, then 401 AGENT_CLIENT_EXPIRED; a past expiry is refused when adding")
    func expiry() async throws {
        let clock = ManualMilliseconds(AgentLedger.nowMilliseconds())
        try await withAgent(agent: { $0.wallClock = { clock.now } }) { agent in
            let past = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"old","routes":["image"],"expires_at":"2020-01-01"}"#)
            #expect(past.status == 400 && past.text.contains("not in the future"))
            let bad = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"odd","routes":["image"],"expires_at":"soon"}"#)
            #expect(bad.status == 400 && bad.text.contains("expires_at"))
            let expiresAt = clock.now + 60_000
            let at = Timestamp.iso(expiresAt)
            let token = try await agent.addClient(#"{"name":"brief","routes":["image"],"expires_at":"\#(at)"}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            clock.set(expiresAt - 1)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200)
            clock.set(expiresAt)
            let expired = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth)
            #expect(expired.status == 401)
            #expect(expired.json?["error"]?["code"]?.stringValue == "AGENT_CLIENT_EXPIRED")
            #expect(expired.json?["error"]?["message"]?.stringValue?.contains(at) == true)
        }
    }

    @Test("hanging up before the answer does not give the budget back: the request may be charged, so its estimate stays held")
    func hangingUpKeepsTheHold() async throws {
        try await withAgent(simulator: { $0.faults.latencyMilliseconds = 1_500 }) { agent in
            let token = try await agent.addClient(#"{"name":"quitter","routes":["image"],"daily_usd":0.03}"#)
            var outcomes: [Int] = []
            for _ in 0..<6 {
                guard let url = URL(httpURLWithSocketPath: agent.socketPath, uri: "/api/v1/image/generate") else { throw HarnessError("url") }
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: AgentHarness.imageRequest))
                do {
                    // Gone after 400 ms, long before the simulator answers.
                    let answer = try await agent.http.execute(request, timeout: .milliseconds(400))
                    outcomes.append(Int(answer.status.code))
                } catch {
                    outcomes.append(0)
                }
                try await Task.sleep(for: .milliseconds(1_800))
            }
            // Three $0.01 images fit the $0.03 budget; the rest are refused, hung up or not.
            let sent = await generations(agent)
            #expect(sent >= 1 && sent <= 3, "\(outcomes)")
            #expect(!outcomes.contains(200), "\(outcomes)")
            let listed = try await agent.request("GET", "/agent/v1/clients")
            let row = listed.json?["clients"]?.arrayValue?.first { $0["name"]?.stringValue == "quitter" }
            #expect(row?["spent_today_usd"]?.doubleValue == Double(sent) / 100, "\(String(describing: row))")
        }
    }

    @Test("bodies read whole share one memory bound: past it a request is 503 AGENT_BUSY with Retry-After, and the bytes come back")
    func bodyMemoryBound() async throws {
        let memory = BodyMemory(limit: 1_000)
        do {
            let first = BodyMemory.Reservation(memory)
            #expect(memory.grow(first, by: 600) && !memory.grow(first, by: 500) && memory.inUse == 600)
        }
        #expect(memory.inUse == 0)
        try await withAgent(agent: { $0.wholeBodyMemoryBytes = 300_000 }) { agent in
            let token = try await agent.addClient(#"{"name":"bulky","routes":["text"],"daily_usd":5}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            func chat(_ bytes: Int) -> String {
                #"{"model":"venice-uncensored-1-2","max_tokens":10,"messages":[{"role":"user","content":"\#(String(repeating: "a", count: bytes))"}]}"#
            }
            let chats = { await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/chat/completions") }.count }
            let refused = try await agent.request("POST", "/api/v1/chat/completions", json: chat(200_000), headers: auth)
            #expect(refused.status == 503 && refused.json?["error"]?["code"]?.stringValue == "AGENT_BUSY", "\(refused.text.prefix(200))")
            #expect(refused.header("retry-after") != nil)
            #expect(await chats() == 0)
            for _ in 0..<3 {
                #expect(try await agent.request("POST", "/api/v1/chat/completions", json: chat(100_000), headers: auth).status == 200)
            }
            #expect(await chats() == 3)
        }
    }

    @Test("a token client cannot take the name of a config binding (budgets and counters are kept per name)")
    func bindingNamesAreTaken() async throws {
        let binding = ClientBinding(executable: "/usr/local/bin/imagegen", unit: nil,
                                    policy: ClientPolicy(name: "imagegen", routes: ["image"], maxRequestMicro: nil, dailyMicro: 1_000_000,
                                                         source: .binding("/usr/local/bin/imagegen")))
        try await withAgent(agent: { $0.bindings = [binding] }) { agent in
            let taken = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"imagegen","routes":["image"]}"#)
            #expect(taken.status == 400 && taken.text.contains("config file"), "\(taken.text)")
            #expect(try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"other","routes":["image"]}"#).status == 200)
        }
    }

    @Test("bad policy values are refused naming the field", arguments: [
        (#"{"name":"a","models":[]}"#, "models"), (#"{"name":"a","models":"qwen"}"#, "models"), (#"{"name":"a","models":["*"]}"#, "models"),
        (#"{"name":"a","max_parallel":0}"#, "max_parallel"), (#"{"name":"a","max_parallel":1.5}"#, "max_parallel"),
        (#"{"name":"a","requests_per_minute":1e12}"#, "requests_per_minute"), (#"{"name":"a","soft_limit":1}"#, "soft_limit"),
        (#"{"name":"a","soft_limit":-0.1}"#, "soft_limit"), (#"{"name":"a","monthly_usd":-1}"#, "monthly_usd"),
        (#"{"name":"a","is_owner":true}"#, "is_owner"), (#"{"name":"a","routes":[]}"#, "routes"),
    ])
    func badValues(body: String, field: String) async throws {
        try await withAgent { agent in
            let answer = try await agent.request("POST", "/agent/v1/clients", json: body)
            #expect(answer.status == 400, "\(answer.text)")
            #expect(answer.json?["error"]?["message"]?.stringValue?.contains(field) == true, "\(answer.text)")
        }
    }
}

/// A wall clock (Unix ms) that moves only when a test sets it.
final class ManualMilliseconds: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func set(_ milliseconds: Int64) { value.withLock { $0 = milliseconds } }
}

extension ClientPolicyLimitsTests {
    @Test("a client tops up only when the owner allowed it, within the agent's caps, even when it asks many times at once")
    func clientTopUps() async throws {
        try await withAgent(agent: { $0.topUpCapMicro = 5_000_000; $0.dailyTopUpCapMicro = 10_000_000 }) { agent in
            let plain = try await agent.addClient(#"{"name":"plain","routes":["wallet"]}"#)
            let payer = try await agent.addClient(#"{"name":"payer","routes":["wallet"],"may_topup":true}"#)
            let listed = try await agent.request("GET", "/agent/v1/clients").json?["clients"]?.arrayValue ?? []
            #expect(listed.first { $0["name"]?.stringValue == "payer" }?["may_topup"]?.boolValue == true)
            #expect(listed.first { $0["name"]?.stringValue == "plain" }?["may_topup"]?.boolValue == false)

            let refused = try await agent.request("POST", "/agent/v1/topup/request", json: #"{"usd":5}"#, headers: [("Authorization", "Bearer \(plain)")])
            #expect(refused.status == 403 && refused.json?["error"]?["code"]?.stringValue == "AGENT_TOPUP_NOT_ALLOWED")
            #expect(refused.text.contains("venice-agent topup 5"))
            #expect(try await topUpSends(agent) == 0)
            // The owner's own top-up route stays the owner's.
            #expect(try await agent.request("POST", "/agent/v1/topup", json: #"{"usd":5}"#, headers: [("Authorization", "Bearer \(payer)")]).status == 403)

            // Six parallel asks of $5 against a $10 daily cap: at most two are paid.
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await agent.request("POST", "/agent/v1/topup/request", json: #"{"usd":5}"#, headers: [("Authorization", "Bearer \(payer)")]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(answers.filter { $0 == 200 }.count <= 2 && answers.contains(200), "\(answers)")
            #expect(try await topUpSends(agent) == answers.filter { $0 == 200 }.count)
            let overCap = try await agent.request("POST", "/agent/v1/topup/request", json: #"{"usd":6}"#, headers: [("Authorization", "Bearer \(payer)")])
            #expect(overCap.status != 200)
        }
    }

    /// Payments the agent sent to the simulator.
    func topUpSends(_ agent: AgentHarness) async throws -> Int {
        await agent.requestsAtSimulator().filter { $0.method == "POST" && $0.path.hasSuffix("/x402/top-up") && $0.header("payment-signature") != nil }.count
    }
}
