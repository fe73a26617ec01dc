@testable import AgentCore
import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import Testing
import VeniceClient
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

@Suite("Two balances: x402 credit and a linked account's DIEM")
struct WalletFundingTests {
    @Test("a balance reading with DIEM left means Venice spends DIEM first, until the reading goes stale; junk amounts read as zero")
    func readings() {
        let funding = WalletFunding(freshForMilliseconds: 60_000)
        #expect(!funding.spendsDIEM(now: 0))
        funding.record(["balanceUsd": .number("12.5"), "diemBalanceUsd": .number("3.25")], now: 1_000)
        #expect(funding.spendsDIEM(now: 1_000))
        #expect(funding.reading == .init(balanceMicro: 12_500_000, diemMicro: 3_250_000, at: 1_000))
        #expect(!funding.spendsDIEM(now: 61_001))
        funding.record(["balanceUsd": .number("1e400"), "diemBalanceUsd": .number("-5")], now: 2_000)
        #expect(funding.reading == .init(balanceMicro: 0, diemMicro: 0, at: 2_000))
        #expect(!funding.spendsDIEM(now: 2_000))
        funding.record(["balanceUsd": .string("lots")], now: 3_000)
        #expect(funding.reading == .init(balanceMicro: 0, diemMicro: 0, at: 3_000))
        #expect(funding.isOlder(than: 500, now: 4_000) && !funding.isOlder(than: 5_000, now: 4_000))
    }

    @Test("reconciliation awaits charges for recent requests, and awaits none while Venice spends DIEM (those never show as charges)")
    func noChargesAwaitedWhileDIEM() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let session = try KeySession(keystorePath: try makeKeystore(in: dir).path, lifetime: nil)
        let ledger = try AgentLedger(writer: DatabaseQueue())
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let upstream = try UpstreamClient(configuration: .init(baseURL: "http://127.0.0.1:9/api/v1"), httpClient: .shared,
                                          credentials: AgentCredentials(signer: try SiwxSigner(signer: session, clock: SkewClock(), nonces: NonceSource(clock: SkewClock())),
                                                                        bearer: { nil }),
                                          clock: SkewClock(), logger: logger)
        let venice = VeniceAPI(client: upstream, slots: UpstreamScheduler(), wallet: session.address)
        let requests = try await RequestLedger(ledger: ledger)
        let funding = WalletFunding()
        let reconciler = await ChargeReconciler(ledger: ledger, requests: requests, venice: venice, session: session, logger: logger, funding: funding)
        let now = AgentLedger.nowMilliseconds()
        let start = RequestLedger.Start(id: "r1", client: "default", uid: 0, pid: 1, method: "POST", route: "/api/v1/image/generate",
                                        model: "m", estimateMicro: 10_000, bytesIn: 10)
        guard case .admitted(let day) = requests.admit(start, policy: .allowAll) else { Issue.record("not admitted"); return }
        requests.finish(id: "r1", client: "default", day: day, estimateMicro: 10_000, status: 200, bytesOut: 100, upstreamRequestID: "img-1")
        #expect(await reconciler.awaitingCharges(now: now))
        funding.record(["balanceUsd": .number("0"), "diemBalanceUsd": .number("4")], now: now)
        #expect(!(await reconciler.awaitingCharges(now: now)))
    }
}
