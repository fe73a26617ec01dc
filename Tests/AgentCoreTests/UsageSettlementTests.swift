@testable import AgentCore
import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// Issue 13, streaming: a text answer's `usage` replaces the held estimate at once; the stream
/// reaches the client chunk by chunk.
@Suite("Text usage settles holds")
struct UsageSettlementTests {
    /// venice-uncensored-1-2 ($0.2 in, $0.9 out per 1M tokens): 20,000 tokens out bound the
    /// estimate near $0.019, the real answer costs under $0.001.
    static func chat(stream: Bool, maxTokens: Int = 20_000) -> String {
        #"{"model":"venice-uncensored-1-2","messages":[{"role":"user","content":"Say hello."}],"max_tokens":"# + String(maxTokens)
            + (stream ? #","stream":true,"stream_options":{"include_usage":true}}"# : "}")
    }

    // MARK: usage objects from upstream

    static let pricing: JSONValue = ["input": ["usd": .number("0.2")], "output": ["usd": .number("0.9")], "cache_input": ["usd": .number("0.05")]]

    @Test("chat and responses usage are read and priced at the model's rates, cached input at cache_input")
    func usagePriced() throws {
        let chat = try #require(TokenUsage(usage: ["prompt_tokens": 1_000, "completion_tokens": 100, "total_tokens": 1_100]))
        #expect(chat == TokenUsage(input: 1_000, cachedInput: 0, cacheWrite: 0, output: 100))
        // 1,000 × 0.2 + 100 × 0.9 = 290 micro-dollars.
        #expect(chat.micro(pricing: Self.pricing) == 290)
        let cached = try #require(TokenUsage(usage: ["prompt_tokens": 1_000, "completion_tokens": 100,
                                                     "prompt_tokens_details": ["cached_tokens": 800]]))
        // 200 × 0.2 + 800 × 0.05 + 100 × 0.9 = 170.
        #expect(cached.micro(pricing: Self.pricing) == 170)
        let responses = try #require(TokenUsage(usage: ["input_tokens": 1_000, "input_tokens_details": ["cached_tokens": 0],
                                                        "output_tokens": 100, "total_tokens": 1_100]))
        #expect(responses.micro(pricing: Self.pricing) == 290)
        // Past the extended threshold, the extended rates apply to the whole request.
        let extended: JSONValue = ["input": ["usd": 1], "output": ["usd": 2],
                                   "extended": ["context_token_threshold": 500, "input": ["usd": 3], "output": ["usd": 4]]]
        #expect(chat.micro(pricing: extended) == 3_400)
        #expect(TokenUsage(input: 400, cachedInput: 0, cacheWrite: 0, output: 100)?.micro(pricing: extended) == 600)
    }

    @Test("hostile usage is unusable, never trapped on", arguments: [
        #"{"prompt_tokens":-1,"completion_tokens":10}"#,
        #"{"prompt_tokens":10,"completion_tokens":1000000001}"#,
        #"{"prompt_tokens":1e300,"completion_tokens":10}"#,
        #"{"prompt_tokens":9223372036854775807,"completion_tokens":10}"#,
        #"{"prompt_tokens":"10","completion_tokens":10}"#,
        #"{"prompt_tokens":10.5,"completion_tokens":10}"#,
        #"{"prompt_tokens":10}"#,
        #"{"prompt_tokens":10,"completion_tokens":10,"prompt_tokens_details":{"cached_tokens":11}}"#,
        #"{"prompt_tokens":10,"completion_tokens":10,"prompt_tokens_details":{"cached_tokens":-5}}"#,
        #"{"input_tokens":10}"#,
        #"{}"#, #"[]"#, #"null"#, #""usage""#,
    ])
    func hostileUsage(_ text: String) throws {
        #expect(TokenUsage(usage: try JSONValue(parsing: text)) == nil)
    }

    @Test("the largest usage a billion tokens at a hostile rate is refused as out of range, not trapped on")
    func hugeUsageCost() {
        let usage = TokenUsage(input: TokenUsage.maxTokens, cachedInput: 0, cacheWrite: 0, output: TokenUsage.maxTokens)
        #expect(usage?.micro(pricing: ["input": ["usd": .number("1e300")], "output": ["usd": 1]]) == nil)
        #expect(usage?.micro(pricing: ["input": ["usd": -1], "output": ["usd": 1]]) == nil)
        #expect(usage?.micro(pricing: ["input": ["usd": 1]]) == nil)
        #expect(usage?.micro(pricing: Self.pricing) == 1_100_000_000)
    }

    // MARK: the SSE scanner

    static let events = [
        #"data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}"#,
        #"data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hello, usage \"usage\": {"}}]}"#,
        #"data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        "data: [DONE]",
    ]

    @Test("the usage on a stream's last chunk is found however the stream is cut, with LF or CRLF")
    func scannerFindsUsageAcrossCuts() {
        for separator in ["\n\n", "\r\n\r\n"] {
            let bytes = Array(Self.events.map { $0 + separator }.joined().utf8)
            for cut in [1, 2, 3, 7, 64, bytes.count] {
                var scanner = SSEUsageScanner()
                for start in stride(from: 0, to: bytes.count, by: cut) {
                    scanner.scan(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + cut)]))
                }
                #expect(scanner.usage?["prompt_tokens"]?.intValue == 12, "cut \(cut)")
                #expect(scanner.usage?["completion_tokens"]?.intValue == 3, "cut \(cut)")
            }
        }
    }

    @Test("a responses stream's response.completed event carries its usage")
    func scannerReadsResponsesEvents() {
        var scanner = SSEUsageScanner()
        scanner.scan(ByteBuffer(string: "event: response.completed\n"
            + #"data: {"type":"response.completed","response":{"id":"resp_1","usage":{"input_tokens":5,"output_tokens":2}}}"# + "\n\n"))
        #expect(scanner.usage?["input_tokens"]?.intValue == 5)
    }

    @Test("hostile streams: malformed JSON, no usage, usage in every chunk (the last wins), an endless line — bounded, never trapped")
    func scannerHostileStreams() {
        var malformed = SSEUsageScanner()
        malformed.scan(ByteBuffer(string: #"data: {"usage":{"prompt_tokens":1,"# + "\n\n" + #"data: {"usage": {"prompt_tokens" 2}}"# + "\n\n"))
        #expect(malformed.usage == nil)

        var none = SSEUsageScanner()
        none.scan(ByteBuffer(string: Self.events[0] + "\n\n" + Self.events[3] + "\n\n"))
        #expect(none.usage == nil)

        var many = SSEUsageScanner()
        for tokens in 1...50 {
            many.scan(ByteBuffer(string: #"data: {"usage":{"prompt_tokens":"# + String(tokens) + #","completion_tokens":1}}"# + "\n\n"))
        }
        #expect(many.usage?["prompt_tokens"]?.intValue == 50)

        // A line far past the 64 KiB carry-over is dropped, in pieces, to its end; the next line is read.
        var endless = SSEUsageScanner()
        endless.scan(ByteBuffer(string: #"data: {"usage":{"prompt_tokens":99,"completion_tokens":1},"pad":""#))
        let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: 16 << 10)
        for _ in 0..<64 { endless.scan(piece) }
        endless.scan(ByteBuffer(string: "\"}\n\n"))
        #expect(endless.usage == nil)
        endless.scan(ByteBuffer(string: Self.events[2] + "\n\n"))
        #expect(endless.usage?["prompt_tokens"]?.intValue == 12)
    }

    @Test("a JSON answer over the 1 MiB read for usage keeps its estimate; a small one gives its usage")
    func jsonWatchIsBounded() {
        var small = UsageWatch(contentType: "application/json; charset=utf-8")
        small.scan(ByteBuffer(string: #"{"id":"chatcmpl-1","usage":{"prompt_tokens":4,"#))
        small.scan(ByteBuffer(string: #""completion_tokens":2}}"#))
        #expect(small.usage?["completion_tokens"]?.intValue == 2)
        var large = UsageWatch(contentType: "application/json")
        large.scan(ByteBuffer(string: #"{"pad":""#))
        large.scan(ByteBuffer(repeating: UInt8(ascii: "x"), count: UsageWatch.maxJSONBody))
        large.scan(ByteBuffer(string: #"","usage":{"prompt_tokens":4,"completion_tokens":2}}"#))
        #expect(large.usage == nil)
        var other = UsageWatch(contentType: "image/png")
        other.scan(ByteBuffer(string: #"{"usage":{"prompt_tokens":4,"completion_tokens":2}}"#))
        #expect(other.usage == nil)
    }

    // MARK: the ledger

    @Test("a settled hold is what the day counts; once Venice's charge is reconciled the day's spend equals the charge")
    func settledThenReconciled() async throws {
        try await withOfflineAgentParts { parts in
            let requests = try await RequestLedger(ledger: parts.ledger)
            let reconciler = await ChargeReconciler(ledger: parts.ledger, requests: requests, venice: parts.venice, session: parts.session,
                                                    logger: parts.logger)
            let now = AgentLedger.nowMilliseconds()
            func admit(_ id: String, estimate: Int64) throws -> LedgerHold {
                let start = RequestLedger.Start(id: id, client: "chatty", uid: 0, pid: 1, method: "POST", route: "/api/v1/chat/completions",
                                                model: "venice-uncensored-1-2", estimateMicro: estimate, bytesIn: 10)
                guard case .admitted(let day, _, _) = requests.admit(start, policy: .allowAll) else { throw HarnessError("not admitted") }
                return LedgerHold(id: id, client: "chatty", day: day, estimateMicro: estimate, model: "venice-uncensored-1-2", requests: requests)
            }
            let settled = try admit("r1", estimate: 19_000)
            #expect(requests.spentToday(client: "chatty") == 19_000)
            #expect(settled.settle(micro: 700) == 19_000)
            #expect(requests.spentToday(client: "chatty") == 700)
            settled.finish(status: 200, bytesOut: 100, upstreamRequestID: "chatcmpl-1")
            #expect(settled.settle(micro: 5) == nil)  // finished: nothing moves any more
            #expect(requests.spentToday(client: "chatty") == 700)
            // An unsettled neighbour (no usage): its estimate stays until its charge comes.
            let unsettled = try admit("r2", estimate: 19_000)
            unsettled.finish(status: 200, bytesOut: 100, upstreamRequestID: "chatcmpl-2")
            #expect(requests.spentToday(client: "chatty") == 19_700)

            let created = Timestamp.iso(now)
            try await reconciler.apply([
                ["id": "t1", "type": "CHARGE", "amount": .number("-0.000812"), "requestId": "chatcmpl-1", "modelId": "venice-uncensored-1-2",
                 "createdAt": .string(created)],
                ["id": "t2", "type": "CHARGE", "amount": .number("-0.000650"), "requestId": "chatcmpl-2", "modelId": "venice-uncensored-1-2",
                 "createdAt": .string(created)],
            ], now: now)
            #expect(requests.spentToday(client: "chatty") == 812 + 650)
            let row = try #require(try await requests.row(id: "r1"))
            #expect(row.estimateMicro == 700)
            #expect(row.chargedMicro == 812)
            // The table says the same as the book (what a restart would load).
            let table = try await requests.spend(since: Timestamp.utcMidnight(now), by: "client")
            let tableCharged: Int64 = try #require(table.first?.chargedMicro)
            #expect(tableCharged == 1_462, "\(table.map { ($0.key, $0.requests, $0.estimateMicro, $0.chargedMicro) })")
        }
    }

    @Test("a failed request after settling releases the settled amount, not the estimate; an unknown outcome keeps it")
    func failureAfterSettleReleasesSettled() async throws {
        try await withOfflineAgentParts { parts in
            let requests = try await RequestLedger(ledger: parts.ledger)
            let start = RequestLedger.Start(id: "r1", client: "chatty", uid: 0, pid: 1, method: "POST", route: "/api/v1/chat/completions",
                                            model: "m", estimateMicro: 19_000, bytesIn: 10)
            guard case .admitted(let day, _, _) = requests.admit(start, policy: .allowAll) else { Issue.record("not admitted"); return }
            let hold = LedgerHold(id: "r1", client: "chatty", day: day, estimateMicro: 19_000, model: "m", requests: requests)
            hold.settle(micro: 30_000)
            #expect(requests.spentToday(client: "chatty") == 30_000)
            hold.finish(status: 502)
            #expect(requests.spentToday(client: "chatty") == 0)
            // An outcome left unknown (the client hung up after sending) keeps the settled amount.
            guard case .admitted(let day2, _, _) = requests.admit(RequestLedger.Start(
                id: "r2", client: "chatty", uid: 0, pid: 1, method: "POST", route: "/api/v1/chat/completions", model: "m",
                estimateMicro: 19_000, bytesIn: 10), policy: .allowAll) else { Issue.record("not admitted"); return }
            let kept = LedgerHold(id: "r2", client: "chatty", day: day2, estimateMicro: 19_000, model: "m", requests: requests)
            kept.settle(micro: 30_000)
            kept.finish(status: RequestLedger.outcomeUnknown)
            #expect(requests.spentToday(client: "chatty") == 30_000)
        }
    }

    @Test("usage above the estimate is recorded at its cost and audited; unreadable usage or an unpriced model keep the estimate")
    func settlerEdges() async throws {
        try await withOfflineAgentParts { parts in
            let requests = try await RequestLedger(ledger: parts.ledger)
            let catalog: [String: JSONValue] = ["m": ["model_spec": ["pricing": Self.pricing]]]
            let settler = UsageSettler(prices: PriceBook(venice: UnitTests.FixedPrices(models: ["text": catalog], quote: nil), logger: parts.logger),
                                       ledger: parts.ledger)
            func admit(_ id: String, model: String, estimate: Int64) throws -> LedgerHold {
                let start = RequestLedger.Start(id: id, client: "c", uid: 0, pid: 1, method: "POST", route: "/api/v1/chat/completions",
                                                model: model, estimateMicro: estimate, bytesIn: 10)
                guard case .admitted(let day, _, _) = requests.admit(start, policy: .allowAll) else { throw HarnessError("not admitted") }
                return LedgerHold(id: id, client: "c", day: day, estimateMicro: estimate, model: model, requests: requests)
            }
            // 1,000 in, 100 out: 290 micro-dollars, over an estimate of 100.
            let over = try admit("r1", model: "m", estimate: 100)
            #expect(await settler.settle(over, usage: ["prompt_tokens": 1_000, "completion_tokens": 100]) == 290)
            #expect(requests.spentToday(client: "c") == 290)
            let audit = try await parts.ledger.auditEvents(limit: 10)
            #expect(audit.contains { $0.kind == "usage_over_estimate" && $0.detail.contains("r1") })
            over.finish(status: 200)

            let hostile = try admit("r2", model: "m", estimate: 5_000)
            #expect(await settler.settle(hostile, usage: ["prompt_tokens": -1, "completion_tokens": 100]) == nil)
            let unpriced = try admit("r3", model: "unlisted", estimate: 5_000)
            #expect(await settler.settle(unpriced, usage: ["prompt_tokens": 1_000, "completion_tokens": 100]) == nil)
            #expect(requests.spentToday(client: "c") == 290 + 5_000 + 5_000)
            #expect(try await parts.ledger.auditEvents(limit: 10).count { $0.kind == "usage_over_estimate" } == 1)
        }
    }

    // MARK: through the agent

    @Test("a limited client's chats, streamed and not, are counted at their usage cost: a budget two estimates would pass serves both")
    func budgetCountsUsage() async throws {
        try await withAgent { agent in
            // One estimate (~$0.019) fits in $0.03, two do not; two usage costs (< $0.001 each) do.
            let token = try await agent.addClient(#"{"name":"chatty","daily_usd":0.03}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            let streamed = try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat(stream: true), headers: auth)
            #expect(streamed.status == 200, "\(streamed.text.prefix(300))")
            #expect(streamed.text.contains("\"usage\""))
            let buffered = try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat(stream: false), headers: auth)
            #expect(buffered.status == 200, "\(buffered.text.prefix(300))")
            let third = try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat(stream: true), headers: auth)
            #expect(third.status == 200, "\(third.text.prefix(300))")

            // Each row's estimate is now its usage cost: the simulator's charge for it (same rates, same rounding).
            let charges = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            #expect(charges.count == 3)
            let total = -charges.map(\.amountMicro).reduce(0, +)
            let spend = try await agent.request("GET", "/agent/v1/spend?by=client", headers: auth)
            let estimated = spend.json?["total_estimate_usd"]?.doubleValue ?? -1
            #expect(abs(estimated - Double(total) / 1e6) < 1e-9, "\(spend.text) vs \(charges.map(\.amountMicro))")

            // Once reconciled, each row's charge is its settled estimate, and the day's spend is the
            // charges, counted once: a request over the limit reports it (to 4 decimals).
            let ids = try [streamed, buffered, third].map { try #require($0.header("X-Agent-Request-Id")) }
            var rows: [JSONValue] = []
            for _ in 0..<100 {
                rows = []
                for id in ids { rows.append(try await agent.request("GET", "/agent/v1/requests/\(id)").json ?? nil) }
                if rows.allSatisfy({ $0["reconciled"]?.boolValue == true }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            for row in rows {
                #expect(row["reconciled"]?.boolValue == true, "\(row)")
                #expect(row["estimate_usd"] == row["charged_usd"], "\(row)")
            }
            let refused = try await agent.request("POST", "/api/v1/chat/completions", json: Self.chat(stream: false, maxTokens: 40_000), headers: auth)
            #expect(refused.status == 402, "\(refused.text.prefix(300))")
            let spent = refused.json?["error"]?["spent_usd"]?.doubleValue ?? -1
            #expect(abs(spent - Double(total) / 1e6) <= 0.00005, "spent \(spent) vs charges \(total) micro")
        }
    }

    @Test("a streamed /responses answer arrives as its events, and the client is counted at the usage its response.completed carries")
    func responsesStreamSettles() async throws {
        try await withAgent { agent in
            let token = try await agent.addClient(#"{"name":"responder","routes":["text"],"daily_usd":1}"#)
            let auth = [("Authorization", "Bearer \(token)")]
            let body = #"{"model":"venice-uncensored-1-2","input":"Tell me about owls","max_output_tokens":2000,"stream":true}"#
            let answer = try await agent.request("POST", "/api/v1/responses", json: body, headers: auth)
            #expect(answer.status == 200, "\(answer.text.prefix(300))")
            #expect(answer.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(answer.text.hasPrefix("event: response.created") && answer.text.contains("event: response.output_text.delta"))
            #expect(answer.text.contains("event: response.completed") && answer.text.contains("\"usage\""))
            let charges = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            #expect(charges.count == 1)
            let charged = -charges.map(\.amountMicro).reduce(0, +)
            let spend = try await agent.request("GET", "/agent/v1/spend?by=client", headers: auth)
            let estimated = spend.json?["total_estimate_usd"]?.doubleValue ?? -1
            // The estimate held for 2,000 output tokens was replaced by the usage cost, which is the charge.
            #expect(abs(estimated - Double(charged) / 1e6) < 1e-9, "\(spend.text) vs \(charged)")
        }
    }

    @Test("the first chunk of a streamed chat reaches the client while the simulator has not yet produced the last")
    func firstChunkBeforeLast() async throws {
        let gate = StreamGate()
        try await withAgent(simulator: { $0.beforeLastStreamEvent = { await gate.wait() } }) { agent in
            let url = try #require(URL(httpURLWithSocketPath: agent.socketPath, uri: "/api/v1/chat/completions")?.absoluteString)
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: Self.chat(stream: true, maxTokens: 200)))
            let response = try await agent.http.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            var received = ""
            var lastProducedAtFirstChunk: Bool?
            for try await chunk in response.body {
                if lastProducedAtFirstChunk == nil {
                    lastProducedAtFirstChunk = gate.isOpen
                    gate.open()
                }
                received += String(buffer: chunk)
            }
            #expect(lastProducedAtFirstChunk == false, "the first chunk came only after the simulator's last event")
            #expect(received.hasPrefix("data: "))
            #expect(received.contains("\"finish_reason\":\"stop\"") || received.contains("\"finish_reason\":\"length\""))
            #expect(received.hasSuffix("data: [DONE]\n\n"))
        }
    }
}

/// Holds the simulator's last stream event until the test opens it (or, so a broken relay
/// fails instead of hanging, until a long fallback passes — then `isOpen` is already true when
/// the client's first chunk arrives, and the ordering check fails).
final class StreamGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.open } }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let fallback = Task { [self] in
            try? await Task.sleep(for: .seconds(30))
            open()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        fallback.cancel()
    }
}
