import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Wallet credit: top-up, balance, transactions (VENICE.md §3, §10 Wallet credit)")
struct WalletCreditTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(11)
    let bob = Wallet(12)
    var signIn: SignIn { SignIn(clock: clock) }

    func topUp(_ sim: RunningSimulator, _ header: String, name: String = "PAYMENT-SIGNATURE") async throws -> Reply {
        try await call(sim, .POST, "/x402/top-up", headers: [(name, header)])
    }

    @Test("top-up without a header: 402 {x402Version, accepts} at $5, CAIP-2 networks, mirrored in PAYMENT-REQUIRED")
    func discovery() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, .POST, "/x402/top-up")
            #expect(reply.status == 402)
            #expect(reply.json?.objectValue?.keys.sorted() == ["accepts", "x402Version"])
            let accepts = reply.json?["accepts"]?.arrayValue ?? []
            #expect(accepts.map { $0["network"]?.stringValue } == ["eip155:8453", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"])
            #expect(accepts.allSatisfy { $0["amount"]?.stringValue == "5000000" })
            let header = try #require(reply.header("PAYMENT-REQUIRED"))
            let decoded = try PaymentRequired(headerValue: header)
            #expect(decoded.accepts.first?.payTo == SimulatorConfiguration.basePayTo)
            #expect(try JSONValue(parsing: Array(Data(base64Encoded: header) ?? Data())) == reply.json)
        }
    }

    @Test("a valid $10 authorization settles under each header name and payload shape, with PAYMENT-RESPONSE and a TOP_UP row",
          arguments: [("PAYMENT-SIGNATURE", 2, "eip155:8453"), ("X-402-Payment", 2, "base"), ("X-PAYMENT", 1, "base"), ("X-PAYMENT", 1, "eip155:8453")])
    func settles(name: String, version: Int, network: String) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let header = try topUpHeader(alice, amount: 10_000_000, clock: clock, network: network, version: version)
            let reply = try await topUp(sim, header, name: name)
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            #expect(reply.json?["success"]?.boolValue == true)
            #expect(reply.json?["data"]?["walletAddress"]?.stringValue == alice.lower)
            #expect(reply.json?["data"]?["amountCredited"]?.doubleValue == 10)
            #expect(reply.json?["data"]?["newBalance"]?.doubleValue == 10)
            #expect(reply.json?["data"]?["paymentId"]?.stringValue?.hasPrefix("x402-") == true)
            let settlement = try SettlementResponse(headerValue: try #require(reply.header("PAYMENT-RESPONSE")))
            #expect(settlement.success)
            #expect(await sim.state.transactions(wallet: alice.lower).map(\.kind) == [.topUp])
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 10)
        }
    }

    @Test("the same payment twice credits once; a duplicate while settling gets 409 PAYMENT_IN_PROGRESS")
    func idempotent() async throws {
        var configuration = testConfiguration(clock: clock)
        // Long enough that the duplicate arrives while the first still settles, even on a loaded machine.
        configuration.faults.settlementHoldMilliseconds = 8_000
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let header = try topUpHeader(alice, amount: 25_000_000, clock: clock)
            async let first = topUp(sim, header)
            // Resubmit once the first is settling (a fixed sleep is flaky on a loaded machine).
            for _ in 0..<700 where await sim.state.settlingPayments() == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(await sim.state.settlingPayments() == 1)
            let second = try await topUp(sim, header)
            #expect(second.status == 409)
            #expect(second.error == "PAYMENT_IN_PROGRESS")
            #expect(try await first.status == 200)
            let third = try await topUp(sim, header)
            #expect(third.status == 200)
            #expect(third.json?["data"]?["newBalance"]?.doubleValue == 25)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 25)
            #expect(await sim.state.transactions(wallet: alice.lower).count == 1)
        }
    }

    @Test("each invalid payment gets its top-up error code and credits nothing")
    func refusals() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let usdbc = "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA"
            let cases: [(String, String, String)] = [
                ("$4.99", try topUpHeader(alice, amount: 4_990_000, clock: clock), "AMOUNT_TOO_LOW"),
                ("$10,000.01", try topUpHeader(alice, amount: 10_000_010_000, clock: clock), "AMOUNT_TOO_HIGH"),
                ("wrong recipient", try topUpHeader(alice, amount: 10_000_000, clock: clock, to: bob.address.checksummed), "INVALID_PAYMENT_RECIPIENT"),
                ("other token", try topUpHeader(alice, amount: 10_000_000, clock: clock, asset: usdbc), "UNSUPPORTED_TOKEN"),
                ("scheme upto", try topUpHeader(alice, amount: 10_000_000, clock: clock, scheme: "upto"), "UNSUPPORTED_SCHEME"),
                ("network sepolia", try topUpHeader(alice, amount: 10_000_000, clock: clock, network: "eip155:84532"), "UNSUPPORTED_NETWORK"),
                ("signed by another key", try topUpHeader(alice, amount: 10_000_000, clock: clock, signer: bob), "PAYMENT_VERIFICATION_FAILED"),
                ("validBefore passed", try topUpHeader(alice, amount: 10_000_000, clock: clock, validBeforeOffset: -1), "PAYMENT_VERIFICATION_FAILED"),
                ("junk", "not-base64-at-all!!", "INVALID_PAYMENT_FORMAT"),
                ("no authorization", SignIn.base64(["x402Version": 2, "payload": ["signature": "0x00"]]), "INVALID_PAYMENT"),
            ]
            for (label, header, code) in cases {
                let reply = try await topUp(sim, header)
                #expect(reply.status == 400, "\(label)")
                #expect(reply.error == code, "\(label): \(reply.json?.serialized() ?? "")")
                #expect(reply.json?["message"]?.stringValue != nil, "\(label)")
            }
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0)
        }
    }

    @Test("settlement knobs: 402 SETTLEMENT_FAILED, 504 SETTLEMENT_TIMEOUT then the credit lands, 503 X402_NOT_CONFIGURED")
    func settlementKnobs() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            await sim.state.updateFaults { $0.settlement = .fail }
            let failed = try await topUp(sim, try topUpHeader(alice, amount: 10_000_000, clock: clock))
            #expect(failed.status == 402)
            #expect(failed.error == "SETTLEMENT_FAILED")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0)

            await sim.state.updateFaults { $0.settlement = .timeout; $0.settlementTimeoutCreditDelayMilliseconds = 200 }
            let header = try topUpHeader(alice, amount: 10_000_000, clock: clock)
            let timedOut = try await topUp(sim, header)
            #expect(timedOut.status == 504)
            #expect(timedOut.error == "SETTLEMENT_TIMEOUT")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0)
            // Until it lands, the same payment is still settling.
            #expect(try await topUp(sim, header).status == 409)
            clock.advance(by: 250)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 10)
            await sim.state.updateFaults { $0.settlement = .succeed }
            let resent = try await topUp(sim, header)
            #expect(resent.status == 200)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 10)

            await sim.state.updateFaults { $0.settlement = .notConfigured }
            let off = try await topUp(sim, try topUpHeader(alice, amount: 10_000_000, clock: clock))
            #expect(off.status == 503)
            #expect(off.error == "X402_NOT_CONFIGURED")
        }
    }

    @Test("the 11th top-up in a minute from one IP gets 429")
    func topUpRateLimit() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for _ in 0..<10 { #expect(try await call(sim, .POST, "/x402/top-up").status == 402) }
            let limited = try await call(sim, .POST, "/x402/top-up")
            #expect(limited.status == 429)
            #expect(limited.error == "Rate limit exceeded. Please try again later.")
            clock.advance(by: 61_000)
            #expect(try await call(sim, .POST, "/x402/top-up").status == 402)
        }
    }

    @Test("balance: own wallet only (403), 402 with accepts [] without a header, address lowercased, canConsume flips at $0.10")
    func balance() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 0.09])) { sim async throws in
            let path = "/x402/balance/\(alice.address.checksummed)"
            let none = try await call(sim, .GET, path)
            #expect(none.status == 402)
            #expect(none.json?["accepts"]?.arrayValue?.isEmpty == true)
            #expect(none.header("PAYMENT-REQUIRED") != nil)
            let bearer = try await call(sim, .GET, path, headers: [("Authorization", "Bearer admin-key")])
            #expect(bearer.status == 402)
            let other = try await call(sim, .GET, path, headers: [("SIGN-IN-WITH-X", try signIn.header(bob))])
            #expect(other.status == 403)
            #expect(other.error == "You can only access balance for your own wallet")
            let mine = try await call(sim, .GET, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            #expect(mine.status == 200)
            #expect(mine.json?["data"]?["walletAddress"]?.stringValue == alice.lower)
            #expect(mine.json?["data"]?["balanceUsd"]?.doubleValue == 0.09)
            #expect(mine.json?["data"]?["canConsume"]?.boolValue == false)
            await sim.state.fund(wallet: alice.lower, usd: 0.01)
            let after = try await call(sim, .GET, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            #expect(after.json?["data"]?["canConsume"]?.boolValue == true)
            let transactions = try await call(sim, .GET, "/x402/transactions/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.header(bob))])
            #expect(transactions.error == "You can only access transaction history for your own wallet")
            #expect(try await call(sim, .GET, "/x402/balance/0xnothex").status == 400)
        }
    }

    @Test("a charge never takes the balance below 0: the CHARGE row is what was collected")
    func clampedCharge() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 0.12])) { sim async throws in
            // gpt-image-2 high 1K = $0.26 > $0.12.
            let reply = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))],
                                       json: #"{"model":"gpt-image-2","prompt":"a boat","format":"png"}"#)
            #expect(reply.status == 200)
            let rows = await sim.state.transactions(wallet: alice.lower)
            #expect(rows.last?.kind == .charge)
            #expect(rows.last?.amountMicro == -120_000)
            #expect(rows.last?.balanceAfterMicro == 0)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0)
        }
    }

    @Test("a CHARGE row carries Venice's request id from the body (image id, audio queue_id), never the CF-RAY; wallet answers carry X-Balance-Remaining")
    func chargeRowsCarryTheBodyID() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let image = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: smallImage)
            #expect(image.status == 200)
            let imageID = try #require(image.json?["id"]?.stringValue)
            let queued = try await call(sim, .POST, "/audio/queue", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))],
                                        json: #"{"model":"elevenlabs-music","prompt":"a calm piano piece","duration_seconds":10}"#)
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.first?.requestId == imageID)
            #expect(charges.first?.requestId != image.header("CF-RAY"))
            // Wallet answers carry the credit left after the charge; Bearer answers do not.
            #expect(image.header("X-Balance-Remaining") == Money.text(charges.first?.balanceAfterMicro ?? -1, decimals: 6))
            let keyed = try await call(sim, .POST, "/image/generate", headers: [("Authorization", "Bearer inference-key")], json: smallImage)
            #expect(keyed.status == 200)
            #expect(keyed.header("X-Balance-Remaining") == nil)
            if queued.status == 200, let queueID = queued.json?["queue_id"]?.stringValue {
                #expect(charges.last?.requestId == queueID)
                #expect(charges.last?.requestId != queued.header("CF-RAY"))
            } else {
                Issue.record("audio/queue answered \(queued.status): \(queued.json?.serialized() ?? "")")
            }
        }
    }

    @Test("enhance_prompt adds a second CHARGE row with the same requestId and another modelId")
    func enhanceCharges() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let reply = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))],
                                       json: #"{"model":"z-image-turbo","prompt":"a boat","width":8,"height":8,"format":"png","enhance_prompt":true}"#)
            #expect(reply.status == 200)
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.count == 2)
            #expect(Set(charges.map(\.requestId)).count == 1)
            #expect(Set(charges.compactMap(\.modelId)) == ["z-image-turbo", "prompt-enhancer"])
            #expect(charges.map(\.amountMicro).reduce(0, +) == -50_000)
        }
    }

    @Test("transactions: newest first, limit 0 and 101 refused, hasMore right at the boundary")
    func transactions() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            for _ in 0..<3 {
                clock.advance(by: 1_000)
                _ = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: smallImage)
            }
            func page(_ query: String) async throws -> Reply {
                try await call(sim, .GET, "/x402/transactions/\(alice.lower)\(query)", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            }
            let all = try await page("")
            let rows = all.json?["data"]?["transactions"]?.arrayValue ?? []
            #expect(rows.map { $0["type"]?.stringValue } == ["CHARGE", "CHARGE", "CHARGE", "TOP_UP"])
            #expect(rows.first?["amount"]?.doubleValue == -0.01)
            #expect(rows.first?["modelId"]?.stringValue == "z-image-turbo")
            #expect(all.json?["data"]?["currentBalance"]?.doubleValue == 4.97)
            let first = try await page("?limit=2&offset=0")
            #expect(first.json?["data"]?["pagination"]?["hasMore"]?.boolValue == true)
            let last = try await page("?limit=2&offset=2")
            #expect(last.json?["data"]?["pagination"]?["hasMore"]?.boolValue == false)
            #expect(last.json?["data"]?["transactions"]?.arrayValue?.count == 2)
            #expect(try await page("?limit=0").status == 400)
            #expect(try await page("?limit=101").status == 400)
            #expect(try await page("?offset=-1").status == 400)
            #expect(all.header("X-Balance-Remaining") == nil)
        }
    }
}

@Suite("Per-wallet rate limits (VENICE.md §3.1)")
struct WalletRateLimitTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(13)

    @Test("the 31st balance and the 21st transactions request in a minute get 429", arguments: [("balance", 30), ("transactions", 20)])
    func limits(kind: String, limit: Int) async throws {
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for _ in 0..<limit {
                let reply = try await call(sim, .GET, "/x402/\(kind)/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
                #expect(reply.status == 200)
            }
            let limited = try await call(sim, .GET, "/x402/\(kind)/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            #expect(limited.status == 429)
            #expect(limited.error == "Rate limit exceeded. Please try again later.")
            #expect(limited.header("x-ratelimit-remaining") == nil)
        }
    }

    @Test("unknown routes answer a JSON 404")
    func unknownRoute() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, .GET, "/no/such/route")
            #expect(reply.status == 404)
            #expect(reply.error == "Not found")
        }
    }
}

/// Two balances: the wallet's x402 credit and the DIEM of its linked Venice account (veniceai/api-docs
/// guides/integrations/x402-venice-api.mdx, "DIEM First"; generating-api-key-agent.mdx, "Paying for inference").
@Suite("Two balances: x402 credit and a linked account's DIEM")
struct TwoBalancesTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(13)
    var signIn: SignIn { SignIn(clock: clock) }

    func configuration(credit: Double, diem: Double) -> SimulatorConfiguration {
        var configuration = testConfiguration(clock: clock, funds: credit > 0 ? [alice.lower: credit] : [:])
        configuration.diemUSD = [alice.address.checksummed: diem]
        return configuration
    }

    func balance(_ sim: RunningSimulator) async throws -> JSONValue? {
        try await call(sim, .GET, "/x402/balance/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))]).json?["data"]
    }

    func image(_ sim: RunningSimulator) async throws -> Reply {
        try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: smallImage)
    }

    @Test("signed-in requests spend DIEM first and leave no CHARGE row; once it is gone they spend credit with CHARGE rows")
    func diemFirst() async throws {
        try await withRunningSimulator(configuration: configuration(credit: 1, diem: 0.015)) { sim async throws in
            let before = try await balance(sim)
            #expect(before?["balanceUsd"]?.doubleValue == 1)
            #expect(before?["diemBalanceUsd"]?.doubleValue == 0.015)
            let first = try await image(sim)
            #expect(first.status == 200)
            #expect(first.header("X-Balance-Remaining") == "1.000000")
            #expect(await sim.state.transactions(wallet: alice.lower).map(\.kind) == [.topUp])
            let during = try await balance(sim)
            #expect(during?["balanceUsd"]?.doubleValue == 1)
            #expect(during?["diemBalanceUsd"]?.doubleValue == 0.005)
            // $0.005 of DIEM left: this request takes it and $0.005 of credit, with one CHARGE row for the credit part.
            let second = try await image(sim)
            #expect(second.status == 200)
            let third = try await image(sim)
            #expect(third.status == 200)
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.map(\.amountMicro) == [-5_000, -10_000])
            #expect(charges.map(\.requestId) == [second.json?["id"]?.stringValue, third.json?["id"]?.stringValue])
            let after = try await balance(sim)
            #expect(after?["diemBalanceUsd"]?.doubleValue == 0)
            #expect(after?["balanceUsd"]?.doubleValue == 0.985)
        }
    }

    @Test("a wallet with DIEM and no credit is admitted and canConsume is true; the answer's transactions stay empty")
    func diemOnly() async throws {
        try await withRunningSimulator(configuration: configuration(credit: 0, diem: 2)) { sim async throws in
            #expect(try await balance(sim)?["canConsume"]?.boolValue == true)
            #expect(try await image(sim).status == 200)
            let rows = try await call(sim, .GET, "/x402/transactions/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            #expect(rows.json?["data"]?["transactions"]?.arrayValue?.isEmpty == true)
            #expect(await sim.state.diemUSD(wallet: alice.lower) == 1.99)
        }
    }

    @Test("without DIEM the balance reports diemBalanceUsd 0 and a top-up adds to the x402 credit only")
    func topUpIsCreditOnly() async throws {
        try await withRunningSimulator(configuration: configuration(credit: 0, diem: 0)) { sim async throws in
            #expect(try await balance(sim)?["diemBalanceUsd"]?.doubleValue == 0)
            let header = try topUpHeader(alice, amount: 5_000_000, clock: clock)
            #expect(try await call(sim, .POST, "/x402/top-up", headers: [("PAYMENT-SIGNATURE", header)]).status == 200)
            #expect(try await balance(sim)?["balanceUsd"]?.doubleValue == 5)
            #expect(await sim.state.diemUSD(wallet: alice.lower) == 0)
        }
    }
}

/// The payload layout knob (an assumption: veniceai/api-docs guides/integrations/x402-venice-api.mdx builds the header
/// without `accepted`; how Venice treats `accepted` is undocumented).
@Suite("Top-up payload layout knob")
struct TopUpLayoutTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(14)

    @Test("the rejected layout gets 400 INVALID_PAYMENT and credits nothing; the other layout of the same authorization settles",
          arguments: [FaultKnobs.TopUpLayoutRejection.withAccepted, .withoutAccepted, .both, .none])
    func layouts(_ rejected: FaultKnobs.TopUpLayoutRejection) async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.topUpRejectedLayout = rejected
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let withAccepted = try topUpHeader(alice, amount: 5_000_000, clock: clock)
            let payload = try PaymentPayload(headerValue: withAccepted)
            let withoutAccepted = payload.headerValue(.schemeAndNetwork)
            #expect(try PaymentPayload(headerValue: withoutAccepted).accepted == nil)
            for (header, refused) in [(withAccepted, [.withAccepted, .both].contains(rejected)),
                                      (withoutAccepted, [.withoutAccepted, .both].contains(rejected))] {
                let reply = try await call(sim, .POST, "/x402/top-up", headers: [("X-402-Payment", header)])
                if refused {
                    #expect(reply.status == 400)
                    #expect(reply.json?["error"]?.stringValue == "INVALID_PAYMENT")
                } else {
                    #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
                }
            }
            // One authorization: credited once at most, whichever layouts went through.
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == (rejected == .both ? 0 : 5))
        }
    }
}
