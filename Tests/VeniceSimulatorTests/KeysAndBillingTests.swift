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

    @Test("a staked wallet mints a key from a signed token; defaults, secret once, usable as Bearer and billed to the wallet")
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
            let generated = try await call(sim, .POST, "/image/generate", headers: [("Authorization", "Bearer \(secret)")], json: smallImage)
            #expect(generated.status == 200)
            #expect(await sim.state.balanceUSD(wallet: staker.lower) == 2.99)
            let id = try #require(data?["id"]?.stringValue)
            let shown = try await call(sim, .GET, "/api_keys/\(id)", headers: [("Authorization", "Bearer \(secret)")])
            #expect(shown.json?["data"]?["apiKey"] == nil)
            #expect(shown.json?["data"]?["last6Chars"]?.stringValue == String(secret.suffix(6)))
            let balance = try await call(sim, .GET, "/billing/balance", headers: [("Authorization", "Bearer \(secret)")])
            #expect(balance.json?["balances"]?["usd"]?.doubleValue == 2.99)
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

    @Test("each failed mint is a 400 with its message")
    func failures() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let token = try await token(sim)
            var altered = token
            altered.removeLast()
            altered += token.hasSuffix("A") ? "B" : "A"
            let cases: [(String, String, String?)] = [
                ("unstaked wallet", mintBody(outsider, token: token), "Wallet \(outsider.address.checksummed) has no staked VVV on Base"),
                ("wrong signer", mintBody(staker, token: token, signer: outsider), "Signature does not match address"),
                ("altered token", mintBody(staker, token: altered), "Token is invalid or expired"),
                ("unknown field", mintBody(staker, token: token, extra: #","colour":"red""#), "Invalid request parameters"),
                ("bad type", mintBody(staker, token: token).replacingOccurrences(of: "ADMIN", with: "ROOT"), "Invalid request parameters"),
                ("bad address", mintBody(staker, token: token).replacingOccurrences(of: staker.address.checksummed, with: "0x1234"), "Invalid wallet address"),
            ]
            for (label, body, message) in cases {
                let reply = try await call(sim, .POST, "/api_keys/generate_web3_key", json: body)
                #expect(reply.status == 400, "\(label)")
                #expect(reply.error == message, "\(label)")
            }
            clock.advance(by: 15 * 60 * 1000 + 1_000)
            let stale = try await call(sim, .POST, "/api_keys/generate_web3_key", json: mintBody(staker, token: token))
            #expect(stale.status == 400)
            #expect(stale.error == "Token is invalid or expired")
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
