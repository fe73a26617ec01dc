import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("SIGN-IN-WITH-X (VENICE.md §2, §10 SIWX)")
struct SignInTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(1)
    let bob = Wallet(2)
    var signIn: SignIn { SignIn(clock: clock) }
    var configuration: SimulatorConfiguration { testConfiguration(clock: clock, funds: [alice.lower: 20, bob.lower: 20]) }

    func post(_ sim: RunningSimulator, header: String, name: String = "SIGN-IN-WITH-X", extra: [(String, String)] = []) async throws -> Reply {
        try await call(sim, .POST, "/image/generate", headers: [(name, header)] + extra, json: smallImage)
    }

    @Test("a valid header is accepted under both header names, in any case", arguments: ["SIGN-IN-WITH-X", "x-sign-in-with-x", "Sign-In-With-X"])
    func acceptedHeaderNames(name: String) async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await post(sim, header: try signIn.header(alice), name: name)
            #expect(reply.status == 200)
            #expect(reply.json?["images"]?.arrayValue?.count == 1)
        }
    }

    @Test("each broken header gets its X402_SIGN_IN code")
    func codes() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let goodMessage = try SiweMessage(domain: "api.venice.ai", address: alice.address, statement: nil, uri: "https://api.venice.ai",
                                              chainId: 8453, nonce: SignIn.randomNonce(), issuedAt: SiweTimestamp(milliseconds: clock.nowMilliseconds())).text
            let signature = alice.key.signPersonalMessage(Array(goodMessage.utf8)).hex
            let cases: [(String, String, String)] = [
                ("not base64", "%%%not-base64%%%", "X402_SIGN_IN_PARSE_ERROR"),
                ("base64 of a JSON array", SignIn.base64([1, 2]), "X402_SIGN_IN_PARSE_ERROR"),
                ("missing signature", SignIn.base64(["address": .string(alice.address.checksummed), "message": .string(goodMessage)]),
                 "X402_SIGN_IN_INVALID_PAYLOAD"),
                ("bad address", SignIn.base64(["address": "0x1234", "message": .string(goodMessage), "signature": .string(signature)]),
                 "X402_SIGN_IN_INVALID_WALLET"),
                ("chainId base", try signIn.custom(alice, payloadChainId: "base"), "X402_SIGN_IN_INVALID_CHAIN_ID"),
                ("chainId 0x2105", try signIn.custom(alice, payloadChainId: "0x2105"), "X402_SIGN_IN_INVALID_CHAIN_ID"),
                ("unparseable message", signIn.raw(message: "hello, sign me", wallet: alice), "X402_SIGN_IN_INVALID_MESSAGE"),
                ("message without Nonce", signIn.raw(message: goodMessage.components(separatedBy: "\n").filter { !$0.hasPrefix("Nonce:") }.joined(separator: "\n"), wallet: alice),
                 "X402_SIGN_IN_INVALID_MESSAGE"),
                ("other address", try signIn.custom(alice, address: bob.address.checksummed), "X402_SIGN_IN_ADDRESS_MISMATCH"),
                ("chainId 8453, Chain ID 1", try signIn.custom(alice, messageChainId: 1, payloadChainId: 8453), "X402_SIGN_IN_CHAIN_MISMATCH"),
                ("chain 1 both", try signIn.custom(alice, messageChainId: 1, payloadChainId: 1), "X402_SIGN_IN_UNSUPPORTED_CHAIN"),
                ("domain evil.example", try signIn.custom(alice, domain: "evil.example"), "X402_SIGN_IN_DOMAIN_MISMATCH"),
                ("timestamp 31 s off", try signIn.custom(alice, timestamp: clock.nowMilliseconds() + 31_000), "X402_SIGN_IN_TIMESTAMP_MISMATCH"),
                ("issued 31 s ahead", try signIn.custom(alice, issuedAtOffset: 31_000, expirationOffset: 200_000), "X402_SIGN_IN_FUTURE_TIMESTAMP"),
                ("issued 5 min 1 s ago, later expiry", try signIn.custom(alice, issuedAtOffset: -301_000, expirationOffset: 600_000), "X402_SIGN_IN_EXPIRED"),
                ("expiration passed", try signIn.custom(alice, issuedAtOffset: -60_000, expirationOffset: -1_000), "X402_SIGN_IN_EXPIRED"),
                ("not before in the future", try signIn.custom(alice, notBeforeOffset: 60_000), "X402_SIGN_IN_NOT_BEFORE"),
                ("wrong signer", try signIn.custom(alice, signer: bob), "X402_SIGN_IN_INVALID_SIGNATURE"),
            ]
            for (label, header, code) in cases {
                let reply = try await post(sim, header: header)
                #expect(reply.status == 401, "\(label)")
                #expect(reply.code == code, "\(label): \(reply.json?.serialized() ?? "")")
                if code == "X402_SIGN_IN_INVALID_WALLET" || code == "X402_SIGN_IN_INVALID_CHAIN_ID" {
                    #expect(reply.error == "Sign-in-with-X authentication failed", "\(label)")
                }
            }
        }
    }

    @Test("accepted variants: chainId forms, lowercase address, venice.ai domains, 29 s margins, absent timestamp")
    func acceptedVariants() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let headers: [(String, String)] = [
                ("chainId 8453", try signIn.custom(alice, payloadChainId: 8453)),
                ("chainId \"8453\"", try signIn.custom(alice, payloadChainId: "8453")),
                ("chainId eip155:8453", try signIn.custom(alice, payloadChainId: "eip155:8453")),
                ("lowercase address", try signIn.custom(alice, address: alice.lower)),
                ("domain venice.ai", try signIn.custom(alice, domain: "venice.ai")),
                ("domain with port", try signIn.custom(alice, domain: "api.venice.ai:443")),
                ("timestamp 29 s off", try signIn.custom(alice, timestamp: clock.nowMilliseconds() - 29_000)),
                ("issued 29 s ahead", try signIn.custom(alice, issuedAtOffset: 29_000)),
            ]
            for (label, header) in headers {
                let reply = try await post(sim, header: header)
                #expect(reply.status == 200, "\(label): \(reply.json?.serialized() ?? "")")
            }
        }
    }

    @Test("a domain line with scheme, port and path (https://api.venice.ai:443/x) is accepted, as on Venice")
    func domainWithPath() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let text = try SiweMessage(domain: "api.venice.ai", address: alice.address, statement: nil, uri: "https://api.venice.ai",
                                       chainId: 8453, nonce: SignIn.randomNonce(), issuedAt: SiweTimestamp(milliseconds: clock.nowMilliseconds())).text
                .replacingOccurrences(of: "api.venice.ai wants", with: "https://api.venice.ai:443/x wants")
            let reply = try await post(sim, header: signIn.raw(message: text, wallet: alice))
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            // A path is stripped, but the host must still be on the allow-list.
            let evil = text.replacingOccurrences(of: "https://api.venice.ai:443/x wants", with: "https://example.com/api.venice.ai wants")
            #expect(try await post(sim, header: signIn.raw(message: evil, wallet: alice)).code == "X402_SIGN_IN_DOMAIN_MISMATCH")
        }
    }

    @Test("a replayed header is refused with NONCE_REUSED, also after a 402; another wallet may use the same nonce")
    func replay() async throws {
        var configuration = self.configuration
        configuration.funds[bob.lower] = 0.05
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let header = try signIn.header(alice)
            let reply1 = try await post(sim, header: try header)
            #expect(reply1.status == 200)
            let again = try await post(sim, header: header)
            #expect(again.status == 401)
            #expect(again.code == "X402_SIGN_IN_NONCE_REUSED")
            // Bob is under $0.10: answered 402, nonce spent all the same.
            let poor = try signIn.custom(bob, nonce: "sharednonce1")
            let reply2 = try await post(sim, header: try poor)
            #expect(reply2.status == 402)
            let reply3 = try await post(sim, header: try poor)
            #expect(reply3.code == "X402_SIGN_IN_NONCE_REUSED")
            // Same nonce, other wallet: fine.
            let reply4 = try await post(sim, header: try signIn.custom(alice, nonce: "sharednonce1"))
            #expect(reply4.status == 200)
        }
    }

    @Test("a wrong-signer header does not consume its nonce")
    func invalidSignatureKeepsNonce() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let bad = try signIn.custom(alice, signer: bob, nonce: "keepthisnonce")
            let reply5 = try await post(sim, header: try bad)
            #expect(reply5.code == "X402_SIGN_IN_INVALID_SIGNATURE")
            let reply6 = try await post(sim, header: try signIn.custom(alice, nonce: "keepthisnonce"))
            #expect(reply6.status == 200)
        }
    }

    @Test("nonces are forgotten after 5.5 minutes (manual clock)")
    func nonceWindow() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply7 = try await post(sim, header: try signIn.custom(alice, nonce: "windownonce1"))
            #expect(reply7.status == 200)
            clock.advance(by: 200_000)
            let reply8 = try await post(sim, header: try signIn.custom(alice, nonce: "windownonce1"))
            #expect(reply8.code == "X402_SIGN_IN_NONCE_REUSED")
            clock.advance(by: 131_000)   // 331 s after first use
            let reply9 = try await post(sim, header: try signIn.custom(alice, nonce: "windownonce1"))
            #expect(reply9.status == 200)
        }
    }

    @Test("SIWX together with Authorization on an inference route bills the wallet")
    func siwxWinsOverBearer() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let accountBefore = await sim.state.usage().count
            let reply = try await post(sim, header: try signIn.header(alice), extra: [("Authorization", "Bearer admin-key")])
            #expect(reply.status == 200)
            #expect(await sim.state.transactions(wallet: alice.lower).contains { $0.kind == .charge })
            #expect(await sim.state.usage().count == accountBefore)
        }
    }

    @Test("a bad SIWX on /x402/balance gets the generic 401 without a code")
    func badSignInOnBalance() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await call(sim, .GET, "/x402/balance/\(alice.lower)", headers: [("SIGN-IN-WITH-X", try signIn.custom(alice, signer: bob))])
            #expect(reply.status == 401)
            #expect(reply.error == "Invalid Sign-in-with-x signature")
            #expect(reply.code == nil)
        }
    }

    @Test("the 6th concurrent request of a wallet gets 429 X402_CONCURRENCY_LIMIT while the other 5 complete")
    func concurrencyLimit() async throws {
        var configuration = self.configuration
        configuration.faults.latencyMilliseconds = 20_000
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let headers = try (0..<6).map { _ in try signIn.header(alice) }
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for header in headers.prefix(5) {
                    group.addTask { let r = try await post(sim, header: header); return (r.status, r.code) }
                }
                // Send the 6th only once the five are in flight (a fixed sleep is flaky on a loaded machine).
                for _ in 0..<1500 where await sim.state.inFlight(wallet: alice.address.lowercasedHex) < 5 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(await sim.state.inFlight(wallet: alice.address.lowercasedHex) == 5)
                group.addTask { let r = try await post(sim, header: headers[5]); return (r.status, r.code) }
                var all: [(Int, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 5)
            #expect(statuses.filter { $0.0 == 429 && $0.1 == "X402_CONCURRENCY_LIMIT" }.count == 1)
            // A 429 burns the nonce as well.
            let reply10 = try await post(sim, header: try headers[5])
            #expect(reply10.code == "X402_SIGN_IN_NONCE_REUSED")
        }
    }

    @Test("credit under $0.10 gets the insufficient-balance 402 with PAYMENT-REQUIRED; the 402 decodes with X402Protocol")
    func admissionMinimum() async throws {
        var configuration = self.configuration
        configuration.funds[bob.lower] = 0.09
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await post(sim, header: try signIn.header(bob))
            #expect(reply.status == 402)
            #expect(reply.code == "PAYMENT_REQUIRED")
            #expect(reply.json?["reason"]?.stringValue == "insufficient_balance")
            #expect(reply.json?["currentBalanceUsd"]?.doubleValue == 0.09)
            #expect(reply.json?["topUpInstructions"]?["receiverWallet"]?.stringValue == SimulatorConfiguration.basePayTo)
            #expect(reply.json?["siwxChallenge"]?["info"]?["domain"]?.stringValue == "api.venice.ai")
            let decoded = try InsufficientBalance402(body: reply.body)
            #expect(decoded.reason == "insufficient_balance")
            let header = try #require(reply.header("PAYMENT-REQUIRED"))
            let required = try PaymentRequired(headerValue: header)
            #expect(required.accepts.first?.amount == UInt256(10_000_000))
            #expect(required.signInWithX != nil)
            // At exactly $0.10 the wallet is admitted.
            await sim.state.fund(wallet: bob.lower, usd: 0.01)
            let reply11 = try await post(sim, header: try signIn.header(bob))
            #expect(reply11.status == 200)
        }
    }

    @Test("a payment header on an inference route is refused with PAYMENT_HEADER_NOT_ACCEPTED")
    func paymentHeaderOnInference() async throws {
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            for name in ["PAYMENT-SIGNATURE", "X-PAYMENT", "X-402-Payment"] {
                let reply = try await post(sim, header: try signIn.header(alice), extra: [(name, "eyJ4IjoxfQ==")])
                #expect(reply.status == 400)
                #expect(reply.code == "PAYMENT_HEADER_NOT_ACCEPTED")
            }
        }
    }
}
