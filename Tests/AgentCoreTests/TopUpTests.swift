import AgentCore
import Foundation
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Top-ups through the agent")
struct TopUpTests {
    @Test("a $10 top-up is signed, settled once and credited, and shows in the audit log")
    func topUpSucceeds() async throws {
        try await withAgent(fundUSD: 0) { agent in
            let answer = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json?["amount_credited"]?.doubleValue == 10)
            #expect(answer.json?["payment_id"]?.stringValue?.isEmpty == false)
            #expect(await agent.sim.state.balanceUSD(wallet: agent.address.lowercasedHex) == 10)
            let topUps = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }
            #expect(topUps.count == 1)
            let balance = try await agent.request("GET", "/agent/v1/balance")
            #expect(balance.json?["balance_usd"]?.doubleValue == 10)
            let audit = try await agent.request("GET", "/agent/v1/audit").text
            #expect(audit.contains("payment_settled"))
        }
    }

    @Test("a top-up above the per-top-up cap is refused with over_cap and nothing is signed")
    func overCap() async throws {
        try await withAgent(fundUSD: 0) { agent in
            let before = agent.session.signatureCount
            let answer = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 20}"#)
            #expect(answer.status == 403)
            #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_PAYMENT_REFUSED")
            #expect(answer.json?["error"]?["reason"]?.stringValue == "over_cap")
            #expect(agent.session.signatureCount == before)
            #expect(await agent.sim.state.balanceUSD(wallet: agent.address.lowercasedHex) == 0)
        }
    }

    @Test("the daily cap stops the payment that would exceed it")
    func dailyCap() async throws {
        try await withAgent(fundUSD: 0, agent: { $0.dailyTopUpCapMicro = 15_000_000 }) { agent in
            #expect(try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#).status == 200)
            let second = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(second.status == 403)
            #expect(second.json?["error"]?["reason"]?.stringValue == "daily_cap")
            #expect(await agent.sim.state.balanceUSD(wallet: agent.address.lowercasedHex) == 10)
        }
    }

    @Test("a top-up below Venice's $5 minimum is refused before signing")
    func belowMinimum() async throws {
        try await withAgent(fundUSD: 0) { agent in
            let before = agent.session.signatureCount
            let answer = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 1}"#)
            #expect(answer.status == 403)
            #expect(answer.json?["error"]?["reason"]?.stringValue == "below_minimum")
            #expect(agent.session.signatureCount == before)
        }
    }

    @Test("a locked agent refuses to top up")
    func lockedRefuses() async throws {
        try await withAgent(fundUSD: 0, unlocked: false) { agent in
            let answer = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect(answer.status == 423)
        }
    }

    @Test("409 while settling: the same signed payload is resubmitted, credited once")
    func inProgressResubmitted() async throws {
        try await withAgent(fundUSD: 0, simulator: { $0.faults.settlementHoldMilliseconds = 1500 }) { agent in
            let answer = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect([200, 504].contains(answer.status), "\(answer.text)")
            try await Task.sleep(for: .seconds(2))
            _ = try? await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 5}"#)
            let topUps = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }
            #expect(topUps.map(\.amountMicro).reduce(0, +) <= 15_000_000)
            #expect(topUps.filter { $0.amountMicro == 10_000_000 }.count == 1)
        }
    }

    @Test("504 SETTLEMENT_TIMEOUT: the intent is resolved by resubmission, never paid twice")
    func settlementTimeout() async throws {
        try await withAgent(fundUSD: 0, simulator: { $0.faults.settlement = .timeout }) { agent in
            let first = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 10}"#)
            #expect([200, 504].contains(first.status), "\(first.text)")
            await agent.sim.state.updateFaults { $0.settlement = .succeed }
            try await Task.sleep(for: .milliseconds(500))
            let second = try await agent.request("POST", "/agent/v1/topup", json: #"{"usd": 5}"#)
            #expect(second.status == 200, "\(second.text)")
            let topUps = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .topUp }
            #expect(topUps.filter { $0.amountMicro == 10_000_000 }.count == 1)
            #expect(await agent.sim.state.balanceUSD(wallet: agent.address.lowercasedHex) == 15)
        }
    }
}
