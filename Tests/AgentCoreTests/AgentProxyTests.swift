import AgentCore
import Foundation
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Agent proxy over the Unix socket")
struct AgentProxyTests {
    @Test("an image request through the socket succeeds with one valid SIWX header at the simulator")
    func imageThroughSocket() async throws {
        try await withAgent { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 200, "\(answer.text.prefix(300))")
            #expect(answer.header("X-Agent-Request-Id")?.count == 16)
            let images = answer.json?["images"]?.arrayValue ?? []
            #expect(images.count == 1)
            let headers = await agent.requestsAtSimulator()
                .filter { $0.path.hasSuffix("/image/generate") }.compactMap { $0.header("sign-in-with-x") }
            #expect(headers.count == 1)
            let verified = try SiwxVerifier().verify(headerValue: headers.first ?? "", nowMilliseconds: SystemWallClock().nowMilliseconds())
            #expect(verified.address == agent.address)
        }
    }

    @Test("30 concurrent clients are all served with 30 distinct nonces and never more than 5 upstream at once")
    func concurrentClients() async throws {
        try await withAgent { agent in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 {
                    group.addTask { try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status }
                }
                var all: [Int] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.count == 30)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let headers = await agent.requestsAtSimulator()
                .filter { $0.path.hasSuffix("/image/generate") }.compactMap { $0.header("sign-in-with-x") }
            let nonces = try headers.map { try SiwxVerifier().verify(headerValue: $0, nowMilliseconds: SystemWallClock().nowMilliseconds()).nonce }
            #expect(Set(nonces).count == headers.count)
            #expect(headers.count == 30)
            let status = try await agent.request("GET", "/agent/v1/status")
            let peak = status.json?["peak_in_flight"]?.intValue ?? 99
            #expect(peak <= 5 && peak >= 1)
        }
    }

    @Test("a simulator clock two minutes ahead or behind still serves requests")
    func clockSkew() async throws {
        for offset: Int64 in [120, -120] {
            try await withAgent(simulator: { $0.faults.clockOffsetSeconds = offset }) { agent in
                for _ in 0..<3 {
                    let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
                    #expect(answer.status == 200, "offset \(offset): \(answer.text.prefix(200))")
                }
                let status = try await agent.request("GET", "/agent/v1/status")
                let learnt = status.json?["clock_offset_ms"]?.intValue ?? 0
                #expect(abs(learnt - Int(offset) * 1000) < 5000, "learnt offset \(learnt) ms for \(offset) s")
            }
        }
    }

    @Test("Venice's clock jumps 10 minutes ahead mid-session with a header kept from before: one attempt is refused, then every request succeeds on the corrected clock")
    func clockJumpWithHeaderSignedAhead() async throws {
        try await withAgent { agent in
            for _ in 0..<2 {
                #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
            }
            // The refill after the second answer keeps a header signed under the old clock.
            for _ in 0..<100 where agent.session.signatureCount - (await agent.sim.state.siwxHeadersSeen().count) < 1 {
                try await Task.sleep(for: .milliseconds(10))
            }
            await agent.sim.state.clearRecordings()
            await agent.sim.state.updateFaults { $0.clockOffsetSeconds = 600 }
            for _ in 0..<3 {
                let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
                #expect(answer.status == 200, "\(answer.text.prefix(200))")
            }
            // Three answers, one refused attempt: a header from before the correction never went out again.
            let attempts = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/image/generate") }
            #expect(attempts.count == 4, "\(attempts.count) attempts for 3 requests")
            let learnt = try await agent.request("GET", "/agent/v1/status").json?["clock_offset_ms"]?.intValue ?? 0
            #expect(abs(learnt - 600_000) < 5000)
        }
    }

    @Test("client credential and hop-by-hop headers never reach upstream")
    func credentialHeadersStripped() async throws {
        try await withAgent { agent in
            let sent = [
                ("Authorization", "Bearer sk-some-openai-key"), ("SIGN-IN-WITH-X", "forged"), ("X-Sign-In-With-X", "forged"),
                ("PAYMENT-SIGNATURE", "forged"), ("X-PAYMENT", "forged"), ("X-402-Payment", "forged"), ("Cookie", "a=b"),
                ("Proxy-Authorization", "Basic eA=="), ("Connection", "keep-alive, X-Secret-Hop"), ("X-Secret-Hop", "hop"),
                ("X-Custom-Kept", "yes"),
            ]
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: sent)
            #expect(answer.status == 200, "\(answer.text.prefix(200))")
            let recorded = await agent.requestsAtSimulator()
            let upstream = try #require(recorded.last)
            for name in ["authorization", "cookie", "payment-signature", "x-payment", "x-402-payment", "x-sign-in-with-x", "proxy-authorization", "x-secret-hop"] {
                #expect(upstream.header(name) == nil, "\(name) reached upstream")
            }
            #expect(upstream.header("sign-in-with-x") != "forged")
            #expect(upstream.header("x-custom-kept") == "yes")
        }
    }

    @Test("a peer with another uid is refused with 403")
    func otherUIDRefused() async throws {
        try await withAgent(agent: { $0.ownerUID = $0.ownerUID &+ 4242 }) { agent in
            let answer = try await agent.request("GET", "/agent/v1/status")
            #expect(answer.status == 403)
            #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_PEER_REFUSED")
            #expect(await agent.requestsAtSimulator().isEmpty)
        }
    }

    @Test("sequential proxied requests are sent headers signed ahead: each one Venice sees is valid and new, and only headers kept for a next request go unsent")
    func headersSignedAhead() async throws {
        try await withAgent { agent in
            let signaturesBefore = agent.session.signatureCount
            let seenBefore = await agent.sim.state.siwxHeadersSeen().count
            /// Signatures the key made that Venice has not seen: the header kept for the next
            /// request (and, for a moment, one of the agent's own calls in flight).
            @Sendable func unsent() async -> Int {
                agent.session.signatureCount - signaturesBefore - (await agent.sim.state.siwxHeadersSeen().count - seenBefore)
            }
            @Sendable func refilled() async throws -> Int {
                var count = await unsent()
                for _ in 0..<200 where count < 1 {
                    try await Task.sleep(for: .milliseconds(10))
                    count = await unsent()
                }
                return count
            }
            for _ in 0..<12 {
                let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
                #expect(answer.status == 200, "\(answer.text.prefix(300))")
                _ = try await refilled()   // the refill this answer started has signed
            }
            let sent = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/image/generate") }.compactMap { $0.header("sign-in-with-x") }
            #expect(sent.count == 12 && Set(sent).count == 12)
            let now = SystemWallClock().nowMilliseconds()
            let nonces = try sent.map { try SiwxVerifier().verify(headerValue: $0, nowMilliseconds: now).message.nonce }
            #expect(Set(nonces).count == 12)
            // Requests after the first find their header signed ahead (on a quiet machine all 11;
            // a header kept past its 5 s lifetime on a stalled one is replaced and signed inline).
            let metrics = try await agent.request("GET", "/metrics").text
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("venice_agent_signins_signed_ahead_total ") }
            let handedOut = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
            #expect((1...11).contains(handedOut), "\(handedOut) headers signed ahead were sent")
            // One signature ahead per answer at most: those not handed out went unsent, the last
            // one kept for a request that never came (plus, at most, one own call in flight).
            let unsentNow = try await refilled()
            #expect(unsentNow >= 1 && unsentNow <= 12 - handedOut + 1, "\(unsentNow) unsent with \(handedOut) handed out")
        }
    }

    @Test("lock answers 423 AGENT_LOCKED on inference; unlock serves again")
    func lockUnlock() async throws {
        let clock = TestClock()
        try await withAgent(sessionClock: clock) { agent in
            #expect(try await agent.request("POST", "/agent/v1/lock").status == 200)
            let locked = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(locked.status == 423)
            #expect(locked.json?["error"]?["code"]?.stringValue == "AGENT_LOCKED")
            let wrong = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"nope"}"#)
            #expect(wrong.status == 401)
            // After a failure, the next attempt (from anyone) must wait the failure delay.
            let tooSoon = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"test password"}"#)
            #expect(tooSoon.status == 429)
            #expect(tooSoon.json?["error"]?["code"]?.stringValue == "AGENT_UNLOCK_DELAYED")
            let wait = try #require(tooSoon.header("Retry-After").flatMap(Int.init))
            clock.advance(by: .seconds(wait))
            let unlocked = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"test password"}"#)
            #expect(unlocked.status == 200)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
            let audit = try await agent.request("GET", "/agent/v1/audit").text
            #expect(audit.contains("\"unlock_failed\"") && audit.contains("\"lock\"") && audit.contains("\"unlock\""))
            #expect(!audit.contains("test password"))
        }
    }

    @Test("unlock reads an escaped password exactly and answers 400 naming what is wrong with a bad body")
    func unlockBodies() async throws {
        try await withAgent(unlocked: false) { agent in
            let missing = try await agent.request("POST", "/agent/v1/unlock", json: #"{"pass":"test password"}"#)
            #expect(missing.status == 400)
            #expect(missing.text.contains(#"no \"password\" member"#))
            let number = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":12}"#)
            #expect(number.status == 400)
            #expect(number.text.contains("must be a JSON string"))
            let broken = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"test password"#)
            #expect(broken.status == 400)
            #expect(broken.text.contains("malformed JSON") && !broken.text.contains("test password"))
            // "test password" written with escapes, as some JSON writers do.
            let escaped = try await agent.request("POST", "/agent/v1/unlock",
                                                  json: #"{"remember":false,"password":"test\u0020pass\u0077ord"}"#)
            #expect(escaped.status == 200)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
        }
    }

    @Test("unknown routes are 404 naming the route, agent-owned routes 403, Bearer-only routes 409 without a minted key")
    func allowList() async throws {
        try await withAgent { agent in
            let unknown = try await agent.request("GET", "/api/v1/secret/route")
            #expect(unknown.status == 404)
            #expect(unknown.text.contains("/api/v1/secret/route"))
            #expect(try await agent.request("POST", "/api/v1/x402/top-up").status == 403)
            #expect(try await agent.request("POST", "/api/v1/api_keys/generate_web3_key").status == 403)
            let billing = try await agent.request("GET", "/api/v1/billing/balance")
            #expect(billing.status == 409)
            #expect(billing.text.contains("mint"))
            #expect(await agent.requestsAtSimulator().isEmpty)
        }
    }

    @Test("public routes are forwarded without credentials and `me` becomes the wallet address")
    func publicAndWalletRoutes() async throws {
        try await withAgent { agent in
            let models = try await agent.request("GET", "/api/v1/models?type=image")
            #expect(models.status == 200)
            let balance = try await agent.request("GET", "/api/v1/x402/balance/me")
            #expect(balance.status == 200, "\(balance.text.prefix(200))")
            #expect(balance.json?["data"]?["walletAddress"]?.stringValue == agent.address.lowercasedHex)
            let recorded = await agent.sim.state.recordedRequests()
            let listings = recorded.filter { $0.path.hasSuffix("/models") }
            #expect(!listings.isEmpty && listings.allSatisfy { $0.header("sign-in-with-x") == nil && $0.header("authorization") == nil })
            // Background reads (the reconciler's balance poll) may come after it: look for the
            // rewritten read among all requests, and no `me` ever reaching upstream.
            let balanceReads = recorded.filter { $0.path.contains("/x402/balance/") }
            #expect(!balanceReads.isEmpty && balanceReads.allSatisfy { $0.path.hasSuffix("/" + agent.address.lowercasedHex) })
            #expect(!recorded.contains { $0.path.hasSuffix("/me") })
        }
    }

    @Test("a body over the configured limit is refused with 413 before reaching upstream")
    func bodyLimit() async throws {
        try await withAgent(agent: { $0.maxRequestBodyBytes = 1000 }) { agent in
            let big = #"{"model":"z-image-turbo","prompt":""# + String(repeating: "x", count: 2000) + #""}"#
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: big)
            #expect(answer.status == 413)
            #expect(await agent.requestsAtSimulator().isEmpty)
        }
    }

    @Test("a connection reset mid-body gives the client an error and the agent keeps serving")
    func resetMidBody() async throws {
        try await withAgent(simulator: { $0.faults.resetRate = 1 }) { agent in
            await #expect(throws: (any Error).self) {
                let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
                // A truncated body that still parsed would be a silent corruption.
                if answer.status == 200, answer.json != nil { return }
                throw HarnessError("status \(answer.status)")
            }
            await agent.sim.state.updateFaults { $0.resetRate = 0 }
            let after = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(after.status == 200)
        }
    }

    @Test("metrics expose requests by route and status, latency, queue depth and signatures")
    func metrics() async throws {
        try await withAgent { agent in
            _ = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            let text = try await agent.request("GET", "/metrics").text
            #expect(text.contains(#"venice_agent_requests_total{route="/api/v1/image/generate",status="200"} 1"#))
            #expect(text.contains("venice_agent_upstream_latency_seconds_count 1"))
            #expect(text.contains("venice_agent_queue_depth 0"))
            // One for the request (the background reconciliation may have signed more since).
            let signatures = text.split(separator: "\n").first { $0.hasPrefix("venice_agent_signatures_total ") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            #expect(signatures >= 1)
            #expect(!text.contains(agent.address.lowercasedHex))
        }
    }
}
