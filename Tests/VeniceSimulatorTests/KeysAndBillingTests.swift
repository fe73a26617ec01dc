import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Web3 keys and billing (VENICE.md §4, §5, §10 Web3 keys / Billing)")
struct KeysAndBillingTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let staker = Wallet(31)
    let outsider = Wallet(32)

    var configuration: SimulatorConfiguration {
        var configuration = testConfiguration(clock: clock, funds: [staker.lower: 3])
        configuration.stakedWallets = [staker.address.checksummed]
        return configuration
    }

    func token(_ sim: RunningSimulator) async throws -> String {
        let reply = try await call(sim, .GET, "/api_keys/generate_web3_key")
        #expect(reply.json?["success"]?.boolValue == true)
        return try #require(reply.json?["data"]?["token"]?.stringValue)
    }

    func mintBody(_ wallet: Wallet, token: String, signer: Wallet? = nil, extra: String = "") -> String {
        let signature = (signer ?? wallet).key.signPersonalMessage(Array(token.utf8)).hex
        return #"{"address":"\#(wallet.address.checksummed)","signature":"\#(signature)","token":"\#(token)","apiKeyType":"ADMIN"\#(extra)}"#
    }

    @Test("a staked wallet mints a key; defaults, secret once; the key spends its Venice account, never the wallet's x402 credit")
    func mint() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            let reply = try await call(sim, .POST, "/api_keys/generate_web3_key", json: mintBody(staker, token: token))
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            let data = reply.json?["data"]
            #expect(data?["description"]?.stringValue == "Web3 API Key")
            #expect(data?["limitPeriod"]?.stringValue == "EPOCH")
            #expect(data?["modelPrivacy"]?.stringValue == "ALL")
            #expect(data?["expiresAt"]?.isNull == true)
            let secret = try #require(data?["apiKey"]?.stringValue)
            #expect(secret.hasPrefix("VENICE_ADMIN_KEY_"))
            // The wallet's $3 of x402 credit is not the key's to spend (generating-api-key-agent.mdx, "Paying for inference").
            let refused = try await call(sim, .POST, "/image/generate", headers: [("Authorization", "Bearer \(secret)")], json: smallImage)
            #expect(refused.status == 402)
            await sim.state.fundUserAccount(wallet: staker.lower, usd: 3)
            let generated = try await call(sim, .POST, "/image/generate", headers: [("Authorization", "Bearer \(secret)")], json: smallImage)
            #expect(generated.status == 200)
            #expect(await sim.state.balanceUSD(wallet: staker.lower) == 3)
            #expect(await sim.state.transactions(wallet: staker.lower).map(\.kind) == [.topUp])
            let id = try #require(data?["id"]?.stringValue)
            let shown = try await call(sim, .GET, "/api_keys/\(id)", headers: [("Authorization", "Bearer \(secret)")])
            #expect(shown.json?["data"]?["apiKey"] == nil)
            #expect(shown.json?["data"]?["last6Chars"]?.stringValue == String(secret.suffix(6)))
            let balance = try await call(sim, .GET, "/billing/balance", headers: [("Authorization", "Bearer \(secret)")])
            #expect(balance.json?["balances"]?["usd"]?.doubleValue == 2.99)
        }
    }

    @Test("a minted key spends its account's DIEM before its USD, and billing/balance shows both")
    func mintedKeySpendsDIEMFirst() async throws {
        var configuration = configuration
        configuration.diemUSD = [staker.address.checksummed: 0.015]
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await call(sim, .POST, "/api_keys/generate_web3_key", json: mintBody(staker, token: try await token(sim)))
            let secret = try #require(reply.json?["data"]?["apiKey"]?.stringValue)
            let bearer = [("Authorization", "Bearer \(secret)")]
            await sim.state.fundUserAccount(wallet: staker.lower, usd: 1)
            let before = try await call(sim, .GET, "/billing/balance", headers: bearer)
            #expect(before.json?["consumptionCurrency"]?.stringValue == "DIEM")
            #expect(before.json?["balances"]?["diem"]?.doubleValue == 0.015)
            #expect(try await call(sim, .POST, "/image/generate", headers: bearer, json: smallImage).status == 200)
            #expect(await sim.state.diemUSD(wallet: staker.lower) == 0.005)
            #expect(try await call(sim, .POST, "/image/generate", headers: bearer, json: smallImage).status == 200)
            #expect(await sim.state.diemUSD(wallet: staker.lower) == 0)
            let after = try await call(sim, .GET, "/billing/balance", headers: bearer)
            #expect(after.json?["consumptionCurrency"]?.stringValue == "USD")
            #expect(after.json?["balances"]?["usd"]?.doubleValue == 0.995)
            #expect(await sim.state.balanceUSD(wallet: staker.lower) == 3)
        }
    }

    @Test("consumptionLimit echo quirk: diem mirrors vcu, stored value readable with GET /api_keys/{id}")
    func echoQuirk() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            let reply = try await call(sim, .POST, "/api_keys/generate_web3_key",
                                       json: mintBody(staker, token: token, extra: #","consumptionLimit":{"usd":5,"diem":7}"#))
            #expect(reply.json?["data"]?["consumptionLimit"]?["diem"]?.isNull == true)
            #expect(reply.json?["data"]?["consumptionLimit"]?["usd"]?.doubleValue == 5)
            let secret = try #require(reply.json?["data"]?["apiKey"]?.stringValue)
            let id = try #require(reply.json?["data"]?["id"]?.stringValue)
            let shown = try await call(sim, .GET, "/api_keys/\(id)", headers: [("Authorization", "Bearer \(secret)")])
            #expect(shown.json?["data"]?["consumptionLimit"]?["diem"]?.doubleValue == 7)
            #expect(shown.json?["data"]?["currentPeriodUsage"]?["usd"]?.stringValue == "0.0000")
        }
    }

    /// POSTs a mint and checks Venice's 400 `{"error": message}` (generating-api-key-agent.mdx, "Error reference").
    func expectRefusal(_ sim: RunningSimulator, _ body: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await call(sim, .POST, "/api_keys/generate_web3_key", json: body)
        #expect(reply.status == 400, sourceLocation: sourceLocation)
        #expect(reply.json == ["error": .string(message)], "\(reply.json?.serialized() ?? "")", sourceLocation: sourceLocation)
        #expect(await sim.state.liveKeys(wallet: staker.lower).isEmpty, sourceLocation: sourceLocation)
    }

    @Test("mint refused: an address that is not an EVM address is 'Invalid wallet address'")
    func invalidAddress() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let body = mintBody(staker, token: try await token(sim)).replacingOccurrences(of: staker.address.checksummed, with: "0x1234")
            try await expectRefusal(sim, body, "Invalid wallet address")
        }
    }

    @Test("mint refused: a token past its 15 minutes is 'JWT has expired'")
    func expiredToken() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            clock.advance(by: 15 * 60 * 1000 + 1_000)
            try await expectRefusal(sim, mintBody(staker, token: token), "JWT has expired")
        }
    }

    @Test("mint refused: with the expired-token knob the next token handed out is already expired, the one after is fresh")
    func expiredTokenKnob() async throws {
        var configuration = configuration
        configuration.faults.web3ExpiredTokens = 1
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            try await expectRefusal(sim, mintBody(staker, token: try await token(sim)), "JWT has expired")
            let fresh = try await call(sim, .POST, "/api_keys/generate_web3_key", json: mintBody(staker, token: try await token(sim)))
            #expect(fresh.status == 200)
        }
    }

    @Test("mint refused: a token whose MAC does not match (tampered) is 'JWT signature is invalid'")
    func tamperedToken() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            var altered = token
            altered.removeLast()
            altered += token.hasSuffix("A") ? "B" : "A"
            try await expectRefusal(sim, mintBody(staker, token: altered), "JWT signature is invalid")
            // Claims swapped for others (a later expiry) under the old MAC.
            let parts = token.split(separator: ".").map(String.init)
            let later = sim.state.signedWeb3Token(claims: ["iss": "venice-sim", "aud": "generate_web3_key", "exp": 9_999_999_999]).split(separator: ".")
            try await expectRefusal(sim, mintBody(staker, token: parts[0] + "." + later[1] + "." + parts[2]), "JWT signature is invalid")
        }
    }

    @Test("mint refused: a correctly MAC'd token with a foreign issuer or audience is 'JWT claims are invalid'")
    func foreignClaims() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let exp: JSONValue = .number(String(clock.nowMilliseconds() / 1000 + 600))
            for claims: JSONValue in [["iss": "someone-else", "aud": "generate_web3_key", "exp": exp],
                                      ["iss": "venice-sim", "aud": "another-api", "exp": exp],
                                      ["exp": exp]] {
                try await expectRefusal(sim, mintBody(staker, token: sim.state.signedWeb3Token(claims: claims)), "JWT claims are invalid")
            }
        }
    }

    @Test("mint refused: a token that is not three base64url JSON parts is 'JWT is malformed'",
          arguments: ["not-a-jwt", "a.b", "a.b.c.d", "e30.e30.", "!!!.e30.abc", "eyJhIjox.e30.abc", "bm90IGpzb24.e30.abc"])
    func malformedToken(_ token: String) async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            try await expectRefusal(sim, mintBody(staker, token: token), "JWT is malformed")
        }
    }

    @Test("mint refused: a signature by another wallet is 'Wallet signature does not match'")
    func wrongSigner() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            try await expectRefusal(sim, mintBody(staker, token: try await token(sim), signer: outsider), "Wallet signature does not match")
        }
    }

    @Test("mint refused: the verify-failure knob, set at start or while running, refuses that many mints with 'Could not verify wallet signature'")
    func verifyFailures() async throws {
        var configuration = configuration
        configuration.faults.web3VerifyFailures = 1
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            try await expectRefusal(sim, mintBody(staker, token: try await token(sim)), "Could not verify wallet signature")
            // Flipped while running, as tests flip any knob.
            await sim.state.updateFaults { $0.web3VerifyFailures = 1 }
            try await expectRefusal(sim, mintBody(staker, token: try await token(sim)), "Could not verify wallet signature")
            let minted = try await call(sim, .POST, "/api_keys/generate_web3_key", json: mintBody(staker, token: try await token(sim)))
            #expect(minted.status == 200)
            #expect(await sim.state.faults.web3VerifyFailures == 0)
        }
    }

    @Test("mint refused: a wallet without staked VVV is 'Wallet has no staked VVV on Base', naming no address")
    func unstaked() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            try await expectRefusal(sim, mintBody(outsider, token: try await token(sim)), "Wallet has no staked VVV on Base")
        }
    }

    @Test("mint refused before any rule: unknown fields and a bad key type are invalid parameters")
    func invalidParameters() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            for body in [mintBody(staker, token: token, extra: #","colour":"red""#),
                         mintBody(staker, token: token).replacingOccurrences(of: "ADMIN", with: "ROOT")] {
                let reply = try await call(sim, .POST, "/api_keys/generate_web3_key", json: body)
                #expect(reply.status == 400)
                #expect(reply.error == "Invalid request parameters")
            }
        }
    }

    @Test("an expired key gets 401 Authentication failed")
    func expiry() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            let reply = try await call(sim, .POST, "/api_keys/generate_web3_key",
                                       json: mintBody(staker, token: token, extra: #","expiresAt":"2026-09-22""#))
            let secret = try #require(reply.json?["data"]?["apiKey"]?.stringValue)
            #expect(reply.json?["data"]?["expiresAt"]?.stringValue == "2026-09-22T00:00:00.000Z")
            #expect(try await call(sim, .GET, "/api_keys/rate_limits", headers: [("Authorization", "Bearer \(secret)")]).status == 200)
            clock.set(1_790_000_000_000 + 86_400_000 * 2)
            let expired = try await call(sim, .GET, "/api_keys/rate_limits", headers: [("Authorization", "Bearer \(secret)")])
            #expect(expired.status == 401)
            #expect(expired.error == "Authentication failed")
        }
    }

    @Test("billing balance has the four balance keys, null when not positive")
    func billingBalance() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await call(sim, .GET, "/billing/balance", headers: [("Authorization", "Bearer admin-key")])
            #expect(reply.status == 200)
            let balances = try #require(reply.json?["balances"]?.objectValue)
            #expect(balances.keys.sorted() == ["bundledCredits", "diem", "earnedCredits", "usd"])
            #expect(balances["usd"]?.doubleValue == 100)
            #expect(balances["diem"]?.isNull == true)
            #expect(reply.json?["canConsume"]?.boolValue == true)
        }
    }

    @Test("usage history: ascending pages, pageSize bounds, cursor rules, tampered cursor, CSV with x-next-cursor")
    func usageHistory() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let auth = [("Authorization", "Bearer admin-key")]
            for _ in 0..<12 {
                clock.advance(by: 1_000)
                #expect(try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage).status == 200)
            }
            #expect(await sim.state.usage().count == 12)
            let first = try await call(sim, .GET, "/billing/usage-history?pageSize=10", headers: auth)
            let rows = first.json?["data"]?.arrayValue ?? []
            #expect(rows.count == 10)
            #expect(rows.first?["amount"]?.doubleValue == -0.01)
            let stamps = rows.compactMap { $0["timestamp"]?.stringValue }
            #expect(stamps == stamps.sorted())
            let cursor = try #require(first.json?["nextCursor"]?.stringValue)
            let second = try await call(sim, .GET, "/billing/usage-history?cursor=\(cursor)", headers: auth)
            #expect(second.json?["data"]?.arrayValue?.count == 2)
            #expect(second.json?["nextCursor"]?.isNull == true)
            #expect(try await call(sim, .GET, "/billing/usage-history?pageSize=9", headers: auth).status == 400)
            #expect(try await call(sim, .GET, "/billing/usage-history?pageSize=1001", headers: auth).status == 400)
            #expect(try await call(sim, .GET, "/billing/usage-history?cursor=\(cursor)&currency=USD", headers: auth).status == 400)
            #expect(try await call(sim, .GET, "/billing/usage-history?page=2", headers: auth).status == 400)
            #expect(try await call(sim, .GET, "/billing/usage-history?currency=VCU", headers: auth).status == 400)
            var tampered = Array(cursor)
            tampered[3] = tampered[3] == "A" ? "B" : "A"
            let bad = try await call(sim, .GET, "/billing/usage-history?cursor=\(String(tampered))", headers: auth)
            #expect(bad.status == 400)
            #expect(bad.error == "Invalid or expired cursor; restart from the first page")
            let csv = try await call(sim, .GET, "/billing/usage-history?pageSize=10", headers: auth + [("Accept", "text/csv")])
            let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n")
            #expect(lines.first?.split(separator: ",").count == 11)
            #expect(lines.count == 11)
            #expect(csv.header("x-next-cursor") != nil)
            #expect(csv.header("Content-Disposition")?.range(of: #"billing-usage-history-\d{8}T\d{9}Z\.csv"#, options: .regularExpression) != nil)
            let lastCSV = try await call(sim, .GET, "/billing/usage-history?pageSize=100", headers: auth + [("Accept", "text/csv")])
            #expect(lastCSV.header("x-next-cursor") == nil)
        }
    }

    @Test("usage analytics: lookback clamped to 90d, 0d refused, 91-day range refused, lone startDate ignored")
    func analytics() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let auth = [("Authorization", "Bearer admin-key")]
            let clamped = try await call(sim, .GET, "/billing/usage-analytics?lookback=120d", headers: auth)
            #expect(clamped.status == 200)
            #expect(clamped.json?["lookback"]?.stringValue == "90d")
            #expect(clamped.json?["byDate"]?.arrayValue?.count == 90)
            #expect(try await call(sim, .GET, "/billing/usage-analytics?lookback=0d", headers: auth).status == 400)
            #expect(try await call(sim, .GET, "/billing/usage-analytics?startDate=2026-01-01&endDate=2026-04-01", headers: auth).status == 400)
            let lone = try await call(sim, .GET, "/billing/usage-analytics?startDate=2026-01-01", headers: auth)
            #expect(lone.json?["lookback"]?.stringValue == "7d")
            #expect(try await call(sim, .GET, "/billing/usage-analytics", headers: [("Authorization", "Bearer inference-key")]).status == 401)
        }
    }
}
