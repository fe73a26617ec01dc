import AgentCore
import Foundation
import Testing
import VeniceSimulator
import WalletCrypto

@Suite("Auto top-up")
struct AutoTopUpTests {
    @Test("an insufficient-balance 402 is fixed by exactly one top-up and one re-signed retry")
    func topsUpOnce() async throws {
        try await withAgent(fundUSD: 0.05, agent: { $0.autoTopUp = true }) { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 200, "\(answer.text.prefix(200))")
            #expect(answer.header("X-Agent-Auto-Topup")?.hasPrefix("topped-up") == true)
            let topUps = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp && $0.amountMicro == 10_000_000 }
            #expect(topUps.count == 1)
            let generations = await agent.sim.state.recordedRequests().filter { $0.path.hasSuffix("/image/generate") }
            #expect(generations.count == 2)
            #expect(Set(generations.compactMap { $0.header("sign-in-with-x") }).count == 2)
        }
    }

    @Test("with auto top-up off the 402 passes through and nothing is paid")
    func offByDefault() async throws {
        try await withAgent(fundUSD: 0.05) { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 402)
            #expect(answer.json?["code"]?.stringValue == "PAYMENT_REQUIRED")
            #expect(await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp && $0.amountMicro == 10_000_000 }.isEmpty)
        }
    }

    @Test("a 402 a top-up cannot fix (quote above the balance) is returned as it is, unpaid")
    func notFixable() async throws {
        try await withAgent(fundUSD: 0.2, agent: { $0.autoTopUp = true }) { agent in
            let answer = try await agent.request("POST", "/api/v1/audio/queue",
                                                 json: #"{"model":"elevenlabs-music","prompt":"a calm piano piece for a rainy day","duration_seconds":60}"#)
            #expect(answer.status == 402, "\(answer.text.prefix(200))")
            #expect(answer.header("X-Agent-Auto-Topup")?.hasPrefix("not-applicable") == true)
            #expect(await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp && $0.amountMicro == 10_000_000 }.isEmpty)
        }
    }

    @Test("when the cap forbids the top-up the 402 is returned with the refusal")
    func capRefuses() async throws {
        try await withAgent(fundUSD: 0.05, agent: { $0.autoTopUp = true; $0.dailyTopUpCapMicro = 5_000_000 }) { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 402)
            #expect(answer.header("X-Agent-Auto-Topup") == "refused: AGENT_PAYMENT_REFUSED")
        }
    }
}
