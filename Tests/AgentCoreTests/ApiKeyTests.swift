@testable import AgentCore
import Foundation
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Minted API keys")
struct ApiKeyTests {
    @Test("mint an ADMIN key, then billing is served with it and the secret never appears in an answer")
    func mintAndUse() async throws {
        try await withAgent(staked: true) { agent in
            #expect(try await agent.request("GET", "/api/v1/billing/balance").status == 409)
            let minted = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN","description":"agent billing"}"#)
            #expect(minted.status == 200, "\(minted.text)")
            let last6 = try #require(minted.json?["last6"]?.stringValue)
            #expect(last6.count == 6)
            #expect(!minted.text.contains("VENICE_ADMIN_KEY_"))
            let billing = try await agent.request("GET", "/api/v1/billing/balance")
            #expect(billing.status == 200, "\(billing.text)")
            let recorded = await agent.requestsAtSimulator()
            let bearer = try #require(recorded.last?.header("authorization"))
            #expect(bearer.hasPrefix("Bearer VENICE_ADMIN_KEY_") && bearer.hasSuffix(last6))
            let list = try await agent.request("GET", "/agent/v1/apikey")
            #expect(list.json?["keys"]?.arrayValue?.count == 1)
            #expect(!list.text.contains(String(bearer.dropFirst(7))))
            #expect(try await agent.request("GET", "/api/v1/api_keys/rate_limits").status == 200)
            // A template with a parameter: the id goes upstream as one path segment; a literal
            // route next to it still wins; a segment that could escape is refused before Venice.
            let id = try #require(minted.json?["id"]?.stringValue)
            let one = try await agent.request("GET", "/api/v1/api_keys/\(id)")
            #expect(one.status == 200, "\(one.text)")
            #expect(await agent.requestsAtSimulator().last?.path == "/api/v1/api_keys/\(id)")
            #expect(try await agent.request("GET", "/api/v1/api_keys").status == 200)
            let before = await agent.requestsAtSimulator().count
            for hostile in ["..%2Fx402%2Ftop-up", "a%3Fb", "%2E%2E"] {
                let refused = try await agent.request("GET", "/api/v1/api_keys/\(hostile)")
                #expect(refused.status == 400, "\(hostile): \(refused.text)")
            }
            #expect(await agent.requestsAtSimulator().count == before)
        }
    }

    @Test("the secret is stored sealed: the ledger file never holds it in the clear")
    func sealedAtRest() async throws {
        let dirBox = DirBox()
        try await withAgent(staked: true, agent: { dirBox.state = $0.stateDirectory }) { agent in
            _ = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN"}"#)
            _ = try await agent.request("GET", "/api/v1/billing/balance")
            let secret = try #require(await agent.requestsAtSimulator().last?.header("authorization")).dropFirst(7)
            var ledgerBytes = Data()
            for suffix in ["", "-wal"] {
                ledgerBytes += (try? Data(contentsOf: URL(fileURLWithPath: (dirBox.state ?? "") + "/ledger.sqlite" + suffix))) ?? Data()
            }
            #expect(!ledgerBytes.isEmpty)
            #expect(ledgerBytes.range(of: Data(secret.utf8)) == nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: (dirBox.state ?? "") + "/ledger.sqlite")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test("a wallet without staked VVV gets a clear error")
    func unstaked() async throws {
        try await withAgent(staked: false) { agent in
            let answer = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN"}"#)
            #expect(answer.status == 403)
            #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_NO_STAKED_VVV")
        }
    }

    // MARK: Venice's refusals, end to end against the simulator (generating-api-key-agent.mdx, "Error reference")

    static let mintPath = "/api/v1/api_keys/generate_web3_key"

    /// Token fetches (GET) and mint attempts (POST) that reached the simulator.
    func mintTraffic(_ agent: AgentHarness) async -> (gets: Int, posts: Int) {
        let calls = await agent.requestsAtSimulator().filter { $0.path == Self.mintPath }
        return (calls.count { $0.method == "GET" }, calls.count { $0.method == "POST" })
    }

    @Test("'Could not verify wallet signature' twice: the agent retries after a pause and mints exactly one key")
    func transientVerifyFailure() async throws {
        try await withAgent(staked: true, simulator: { $0.faults.web3VerifyFailures = 2 }) { agent in
            let minted = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN"}"#)
            #expect(minted.status == 200, "\(minted.text)")
            let traffic = await mintTraffic(agent)
            #expect(traffic.posts == 3)
            #expect(await agent.sim.state.faults.web3VerifyFailures == 0)
            #expect(await agent.sim.state.liveKeys(wallet: agent.address.lowercasedHex).count == 1)
            #expect(try await agent.request("GET", "/agent/v1/apikey").json?["keys"]?.arrayValue?.count == 1)
        }
    }

    @Test("'JWT has expired': the agent fetches a fresh token, signs it and mints")
    func expiredTokenRefetched() async throws {
        try await withAgent(staked: true, simulator: { $0.faults.web3ExpiredTokens = 1 }) { agent in
            let minted = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"INFERENCE"}"#)
            #expect(minted.status == 200, "\(minted.text)")
            let traffic = await mintTraffic(agent)
            #expect(traffic.gets == 2 && traffic.posts == 2, "\(traffic)")
            #expect(await agent.sim.state.liveKeys(wallet: agent.address.lowercasedHex).count == 1)
        }
    }

    @Test("'Wallet has no staked VVV on Base' is final: one attempt, its stable code and Venice's words, no retry loop")
    func unstakedIsFinal() async throws {
        try await withAgent(staked: false) { agent in
            let answer = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN"}"#)
            #expect(answer.status == 403)
            #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_NO_STAKED_VVV")
            #expect(answer.text.contains("Wallet has no staked VVV on Base"))
            let traffic = await mintTraffic(agent)
            #expect(traffic.gets == 1 && traffic.posts == 1, "\(traffic)")
            #expect(await agent.sim.state.liveKeys(wallet: agent.address.lowercasedHex).isEmpty)
        }
    }

    @Test("revoke removes the key upstream; billing then needs a new key")
    func revoke() async throws {
        try await withAgent(staked: true) { agent in
            let minted = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN"}"#)
            let id = try #require(minted.json?["id"]?.stringValue)
            #expect(try await agent.request("DELETE", "/agent/v1/apikey/\(id)").status == 200)
            #expect(await agent.sim.state.key(id: id) == nil)  // revoked keys are no longer live upstream
            #expect(try await agent.request("GET", "/api/v1/billing/balance").status == 409)
            #expect(try await agent.request("GET", "/agent/v1/apikey").json?["keys"]?.arrayValue?.isEmpty == true)
            let audit = try await agent.request("GET", "/agent/v1/audit").text
            #expect(audit.contains("apikey_minted") && audit.contains("apikey_revoked"))
        }
    }

    @Test("a key about to expire is renewed before it lapses: new key minted, old revoked, audited")
    func renewal() async throws {
        // A key with 30 s left of its (at least 60 s) lifetime, renewed when < 90 % is left: at once,
        // with plenty of time before it lapses even on a loaded machine.
        try await withAgent(staked: true, agent: { $0.apiKeyRenewalCheck = .milliseconds(200); $0.apiKeyRenewFraction = 0.9 }) { agent in
            let expires = SiweTimestamp(milliseconds: SystemWallClock().nowMilliseconds() + 30_000).text
            let minted = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ADMIN","expires_at":"\#(expires)"}"#)
            #expect(minted.status == 200, "\(minted.text)")
            let oldID = try #require(minted.json?["id"]?.stringValue)
            var keys: [JSONValue] = []
            for _ in 0..<200 {
                try await Task.sleep(for: .milliseconds(100))
                keys = try await agent.request("GET", "/agent/v1/apikey?all=true").json?["keys"]?.arrayValue ?? []
                if keys.count == 2, keys.first?["revoked"]?.boolValue == true { break }
            }
            #expect(keys.count == 2)
            #expect(keys.first { $0["id"]?.stringValue == oldID }?["revoked"]?.boolValue == true)
            #expect(await agent.sim.state.key(id: oldID) == nil)
            #expect(try await agent.request("GET", "/api/v1/billing/balance").status == 200)
            #expect(try await agent.request("GET", "/agent/v1/audit").text.contains("apikey_renewed"))
        }
    }

    @Test("bad mint requests are refused with a named field")
    func badMint() async throws {
        try await withAgent(staked: true) { agent in
            let answer = try await agent.request("POST", "/agent/v1/apikey/mint", json: #"{"type":"ROOT"}"#)
            #expect(answer.status == 400)
            #expect(answer.text.contains("type"))
        }
    }
}

final class DirBox: @unchecked Sendable {
    var state: String?
}

@Suite("Key minting rules (Venice's generate_web3_key error reference)")
struct MintRuleTests {
    @Test("each documented refusal is classified: stale token → refetch, unverifiable signature → retry later, the rest final",
          arguments: [
              ("JWT has expired", "refetch"), ("JWT signature is invalid", "refetch"), ("JWT claims are invalid", "refetch"),
              ("JWT is malformed", "refetch"), ("Could not verify wallet signature", "retry"),
              ("Wallet signature does not match", "AGENT_BAD_SIGNATURE"),
              ("Wallet has no staked VVV on Base", "AGENT_NO_STAKED_VVV"),
              ("Wallet 0xAbC has no staked VVV on Base", "AGENT_NO_STAKED_VVV"),
              ("Invalid wallet address", "AGENT_MINT_FAILED"), ("something new", "AGENT_MINT_FAILED"),
          ])
    func classification(message: String, expected: String) {
        switch MintRefusal.classify(status: 400, message: message) {
        case .refetchToken: #expect(expected == "refetch")
        case .retryLater: #expect(expected == "retry")
        case .final(let error):
            #expect(error.code == expected)
            #expect(error.description.contains(message), "the user sees Venice's own words")
        }
    }

    @Test("an overloaded Venice (429, 5xx) is retried later; other statuses are final")
    func statuses() {
        guard case .retryLater = MintRefusal.classify(status: 503, message: "upstream") else { Issue.record("503 not retried"); return }
        guard case .retryLater = MintRefusal.classify(status: 429, message: "Too many requests") else { Issue.record("429 not retried"); return }
        guard case .final = MintRefusal.classify(status: 401, message: "nope") else { Issue.record("401 retried"); return }
    }

    @Test("expires_at becomes the form Venice accepts: a date stays a date, any RFC 3339 time becomes UTC with milliseconds")
    func expiryNormalized() throws {
        let now: Int64 = 1_800_000_000_000  // 2027-01-15
        #expect(try ApiKeyService.expiry("2027-06-01", now: now) == "2027-06-01")
        #expect(try ApiKeyService.expiry("2027-06-01T12:00:00Z", now: now) == "2027-06-01T12:00:00.000Z")
        #expect(try ApiKeyService.expiry("2027-06-01T14:00:00+02:00", now: now) == "2027-06-01T12:00:00.000Z")
        #expect(try ApiKeyService.expiry("2027-06-01T12:00:00.123456Z", now: now) == "2027-06-01T12:00:00.123Z")
        #expect(try ApiKeyService.expiry("", now: now) == nil)
        #expect(try ApiKeyService.expiry(nil, now: now) == nil)
        for bad in ["tomorrow", "2027-13-01", "2027-06-01 12:00", "2027-06-01T25:00:00Z", "1e9"] {
            #expect(throws: AgentError.self) { try ApiKeyService.expiry(bad, now: now) }
        }
        #expect(throws: AgentError.self) { try ApiKeyService.expiry("2020-01-01", now: now) }
    }
}
