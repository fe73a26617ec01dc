import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Upstream faults and foreign charges")
struct UpstreamFaultTests {
    static func generationHeaders(_ agent: AgentHarness) async -> [String] {
        await agent.sim.state.recordedRequests().filter { $0.path.hasSuffix("/image/generate") }.compactMap { $0.header("sign-in-with-x") }
    }

    @Test("a 429 burst is retried after Retry-After, each attempt freshly signed")
    func rateLimitBurst() async throws {
        try await withAgent(simulator: { $0.faults.retryAfterSeconds = 0 }) { agent in
            await agent.sim.state.updateFaults { $0.scriptedStatuses = [429, 429] }
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 200, "\(answer.text.prefix(200))")
            let headers = await Self.generationHeaders(agent)
            #expect(headers.count == 3)
            #expect(Set(headers).count == 3)
            let metrics = try await agent.request("GET", "/metrics").text
            #expect(metrics.contains(#"venice_agent_upstream_retries_total{reason="rate_limited"} 2"#))
        }
    }

    @Test("a POST answered 500 is not retried (it may have been charged); the client gets Venice's answer")
    func postServerErrorNotRetried() async throws {
        try await withAgent { agent in
            await agent.sim.state.updateFaults { $0.scriptedStatuses = [500] }
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 500)
            #expect(await Self.generationHeaders(agent).count == 1)
        }
    }

    @Test("a charge no agent request explains (a leaked sign-in) is flagged in the audit log and status")
    func foreignChargeFlagged() async throws {
        try await withAgent(agent: { $0.unexplainedChargeGraceSeconds = 0 }) { agent in
            // Someone else holding a valid sign-in for this wallet spends from it directly.
            var password = Array("test password".utf8)
            let key = try Keystore.decrypt(try SecureFile.read(agent.session.keystorePath), password: SecretBytes(zeroingSource: &password))
            let signer = try SiwxSigner(signer: key, clock: SystemWallClock())
            var request = HTTPClientRequest(url: agent.sim.baseURL + "/image/generate")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "SIGN-IN-WITH-X", value: try signer.makeHeader().headerValue)
            request.body = .bytes(ByteBuffer(string: #"{"model":"venice-sd35","prompt":"not from the agent","width":256,"height":256,"format":"png"}"#))
            let direct = try await agent.http.execute(request, timeout: .seconds(30))
            #expect(direct.status == .ok)
            _ = try await direct.body.collect(upTo: 16 << 20)
            // An ordinary request through the agent triggers reconciliation.
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
            var flagged = 0
            for _ in 0..<50 where flagged == 0 {
                try await Task.sleep(for: .milliseconds(100))
                flagged = try await agent.request("GET", "/agent/v1/status").json?["unexplained_charges"]?.intValue ?? 0
            }
            #expect(flagged == 1)
            #expect(try await agent.request("GET", "/agent/v1/audit").text.contains("unexplained_charge"))
        }
    }
}
