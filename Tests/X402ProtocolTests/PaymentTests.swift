import Foundation
import Testing
import WalletCrypto
@testable import X402Protocol

@Suite("x402 payments and EIP-3009")
struct PaymentTests {
    static let payTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"

    static func e1Authorization() throws -> TransferAuthorization {
        try TransferAuthorization(
            from: EthereumAddress(Fixtures.anvil0Address), to: EthereumAddress(payTo), value: UInt256(10000),
            validAfter: UInt256(1_740_672_089), validBefore: UInt256(1_740_672_154),
            nonce: Hex.decode("f3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"))
    }

    @Test("E1: struct hash, digest and signature match the vector byte for byte")
    func e1() throws {
        let v = Fixtures.entry("eip3009", "E1")
        let auth = try TransferAuthorization(
            from: EthereumAddress(v["from"]?.stringValue ?? ""), to: EthereumAddress(v["to"]?.stringValue ?? ""),
            value: UInt256(decimal: v["value"]?.stringValue ?? ""), validAfter: UInt256(decimal: v["validAfter"]?.stringValue ?? ""),
            validBefore: UInt256(decimal: v["validBefore"]?.stringValue ?? ""), nonce: Hex.decode(v["nonce"]?.stringValue ?? ""))
        #expect(auth == (try Self.e1Authorization()))
        #expect(Hex.encode(TransferAuthorization.typeHash) == "7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267")
        #expect(Hex.encode(Eip3009Domain.baseUSDC.separator) == "02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f")
        #expect(Hex.encode(Eip3009Domain.baseSepoliaUSDC.separator) == "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818")
        #expect(Hex.encode(auth.structHash) == v["structHash"]?.stringValue)
        #expect(Hex.encode(auth.digest(domain: .baseUSDC)) == v["digest"]?.stringValue)
        let sig = try Fixtures.anvil0().signTypedDataDigest(auth.digest(domain: .baseUSDC))
        #expect(sig.hex == v["signature"]?.stringValue)
        #expect(try auth.recoverSigner(signature: sig, domain: .baseUSDC).checksummed == Fixtures.anvil0Address)
    }

    @Test("E1 digest agrees with WalletCrypto's generic EIP-712 TypedData")
    func e1TypedData() throws {
        let auth = try Self.e1Authorization()
        let json = try JSONValue(parsing: #"""
        {"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
        "TransferWithAuthorization":[{"name":"from","type":"address"},{"name":"to","type":"address"},{"name":"value","type":"uint256"},{"name":"validAfter","type":"uint256"},{"name":"validBefore","type":"uint256"},{"name":"nonce","type":"bytes32"}]},
        "primaryType":"TransferWithAuthorization","domain":{"name":"USD Coin","version":"2","chainId":8453,"verifyingContract":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"},
        "message":{"from":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","value":"10000","validAfter":"1740672089","validBefore":"1740672154","nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}}
        """#)
        #expect(try TypedData(json: json).digest() == auth.digest(domain: .baseUSDC))
    }

    @Test("X1: the PAYMENT-SIGNATURE we build equals the SDK's after JSON re-parse")
    func x1() throws {
        let offer = try FetchedPaymentRequired.fetched(
            from: UpstreamOrigin(url: "https://api.example.com/premium-data"), headerValue: Fixtures.base64(Fixtures.x1PaymentRequired), body: nil)
        let requirement = try #require(offer.paymentRequired.accepts.first)
        let auth = try TransferAuthorization(
            from: EthereumAddress(Fixtures.anvil0Address), to: EthereumAddress(Self.payTo), value: UInt256(10000),
            validAfter: .zero, validBefore: UInt256(1_767_225_900), nonce: Keccak256.hash("x402 test nonce 1"))
        #expect(Hex.encode(auth.digest(domain: .baseUSDC)) == Fixtures.entry("x402", "X1")["digest"]?.stringValue)
        let authorizer = Eip3009Authorizer(signer: try Fixtures.anvil0(), clock: ManualWallClock(milliseconds: 1_767_225_600_000))
        let payload = try authorizer.sign(auth, domain: .baseUSDC, requirement: requirement, resource: offer.paymentRequired.resource)
        let ours = try JSONValue(parsing: try #require(Data(base64Encoded: payload.headerValue)))
        let theirs = try JSONValue(parsing: try #require(Data(base64Encoded: Fixtures.x1PaymentSignature)))
        #expect(ours == theirs)
        // And the SDK's header decodes to the same payload, recovering ANVIL0.
        let decoded = try PaymentPayload(headerValue: Fixtures.x1PaymentSignature)
        #expect(decoded == payload)
        #expect(try decoded.recoverSigner().checksummed == Fixtures.anvil0Address)
    }

    static let veniceTopUp = #"{"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:8453","amount":"5000000","asset":"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2"}},{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","amount":"5000000","asset":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","payTo":"SoLReceiver1111111111111111111111111111111","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2","feePayer":"Fee111"}}]}"#

    static func veniceOffer(_ body: String = veniceTopUp, from url: String = "https://api.venice.ai/api/v1/x402/top-up") throws -> FetchedPaymentRequired {
        try FetchedPaymentRequired.fetched(from: UpstreamOrigin(url: url), headerValue: nil, body: Array(body.utf8))
    }

    static let policy = PaymentPolicy(configuration: .init(perTopUpCap: 20_000_000, dailyCap: 50_000_000))

    @Test("a Venice top-up offer is approved and signed with amount = signed value, now-600 .. now+300")
    func topUp() throws {
        let approved = try Self.policy.approve(Self.veniceOffer(), amount: 10_000_000, spentToday: 0)
        #expect(approved.requirement.network == "eip155:8453")
        let now: Int64 = 1_767_225_600
        let authorizer = Eip3009Authorizer(signer: try Fixtures.anvil0(), clock: ManualWallClock(milliseconds: now * 1000), random: { [UInt8](repeating: 7, count: $0) })
        let payload = try authorizer.authorize(approved)
        #expect(payload.authorization.value == UInt256(10_000_000))
        #expect(payload.authorization.validAfter == UInt256(UInt64(now - 600)))
        #expect(payload.authorization.validBefore == UInt256(UInt64(now + 300)))
        #expect(payload.authorization.nonce == [UInt8](repeating: 7, count: 32))
        #expect(payload.accepted?["amount"] == .string("10000000"))
        #expect(payload.accepted?["asset"] == .string("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"))
        #expect(payload.accepted?.objectValue?.keys == ["scheme", "network", "amount", "asset", "payTo", "maxTimeoutSeconds", "extra"])
        let json = try JSONValue(parsing: payload.jsonText)
        #expect(json["payload"]?["authorization"]?["value"] == .string("10000000"))
        #expect(json["payload"]?["authorization"]?["to"] == .string(Self.payTo))
        let decoded = try PaymentPayload(headerValue: payload.headerValue)
        #expect(decoded == payload)
        #expect(try decoded.recoverSigner().checksummed == Fixtures.anvil0Address)
    }

    @Test("the same signed authorization in Venice's guide layout (scheme and network, no accepted) decodes to the same payment")
    func guideLayout() throws {
        let approved = try Self.policy.approve(Self.veniceOffer(), amount: 10_000_000, spentToday: 0)
        let payload = try Eip3009Authorizer(signer: try Fixtures.anvil0(), clock: SystemWallClock()).authorize(approved)
        let guide = try JSONValue(parsing: Base64.decode(payload.headerValue(.schemeAndNetwork)) ?? [])
        #expect(guide.objectValue?.keys == ["x402Version", "scheme", "network", "payload"])
        #expect(guide["x402Version"] == .number("2"))
        #expect(guide["scheme"] == .string("exact") && guide["network"] == .string("eip155:8453"))
        let decoded = try PaymentPayload(headerValue: payload.headerValue(.schemeAndNetwork))
        #expect(decoded.authorization == payload.authorization && decoded.signature == payload.signature)
        #expect(decoded.accepted == nil)
        // Without `accepted` the token's domain cannot be read from the payload: the signer recovers under the offer's.
        #expect(try decoded.recoverSigner(domain: approved.domain).checksummed == Fixtures.anvil0Address)
        #expect(payload.headerValue(.accepted) == payload.headerValue)
        // A payload that never had `accepted` has one layout only.
        #expect(decoded.headerValue(.accepted) == decoded.headerValue(.schemeAndNetwork))
    }

    @Test("at the advertised amount `accepted` is the entry verbatim")
    func acceptedVerbatim() throws {
        let approved = try Self.policy.approve(Self.veniceOffer(), amount: 5_000_000, spentToday: 0)
        #expect(approved.accepted == approved.requirement.raw)
        #expect(approved.accepted.serialized() == (try JSONValue(parsing: Self.veniceTopUp))["accepts"]?.arrayValue?.first?.serialized())
    }

    @Test("v1 requirements give an X-PAYMENT payload that decodes and recovers")
    func v1() throws {
        let body = #"{"x402Version":1,"error":"X-PAYMENT header is required","accepts":[{"scheme":"exact","network":"base","maxAmountRequired":"10000","resource":"https://api.example.com/premium-data","description":"d","mimeType":"application/json","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":300,"asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","extra":{"name":"USD Coin","version":"2"}}]}"#
        let offer = try Self.veniceOffer(body)
        let approved = try Self.policy.approve(offer, amount: 10000, spentToday: 0)
        let payload = try Eip3009Authorizer(signer: try Fixtures.anvil0(), clock: SystemWallClock()).authorize(approved)
        let json = try JSONValue(parsing: payload.jsonText)
        #expect(json["x402Version"] == .number("1"))
        #expect(json["scheme"] == .string("exact") && json["network"] == .string("base"))
        #expect(json["accepted"] == nil)
        let decoded = try PaymentPayload(headerValue: payload.headerValue)
        #expect(try decoded.recoverSigner() == (try Fixtures.anvil0()).address)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let code: String
        let body: String
        var url = "https://api.venice.ai/api/v1/x402/top-up"
        var amount: UInt64 = 10_000_000
        var spent: UInt64 = 0
        var testDescription: String { "\(code): \(name)" }
    }

    static func entry(_ replace: String, _ with: String) -> String {
        let base = #"{"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:8453","amount":"5000000","asset":"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2"}}]}"#
        return base.replacingOccurrences(of: replace, with: with)
    }

    static let refusals: [Refusal] = [
        Refusal(name: "Base Sepolia", code: "network", body: entry("eip155:8453", "eip155:84532")),
        Refusal(name: "Solana only", code: "network", body: entry("eip155:8453", "solana")),
        Refusal(name: "USDbC", code: "asset", body: entry("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913", "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA")),
        Refusal(name: "offer from another origin", code: "payTo", body: entry("", ""), url: "https://evil.example/x402/top-up"),
        Refusal(name: "offer over http", code: "payTo", body: entry("", ""), url: "http://api.venice.ai/api/v1/x402/top-up"),
        Refusal(name: "payTo not an address", code: "payTo", body: entry("0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "nobody")),
        Refusal(name: "scheme upto", code: "scheme", body: entry(#""scheme":"exact""#, #""scheme":"upto""#)),
        Refusal(name: "above the per-top-up cap", code: "over_cap", body: entry("", ""), amount: 20_000_001),
        Refusal(name: "above today's remaining cap", code: "daily_cap", body: entry("", ""), amount: 10_000_000, spent: 40_000_001),
        Refusal(name: "below the minimum", code: "below_minimum", body: entry("", ""), amount: 4_999_999),
        Refusal(name: "domain name USDC", code: "domain", body: entry(#""name":"USD Coin""#, #""name":"USDC""#)),
        Refusal(name: "domain version 1", code: "domain", body: entry(#""version":"2""#, #""version":"1""#)),
        Refusal(name: "no extra", code: "domain", body: entry(#","extra":{"name":"USD Coin","version":"2"}"#, "")),
        Refusal(name: "permit2", code: "transfer_method", body: entry(#""version":"2"}"#, #""version":"2","assetTransferMethod":"permit2"}"#)),
        Refusal(name: "timeout zero", code: "timeout", body: entry(#""maxTimeoutSeconds":300"#, #""maxTimeoutSeconds":0"#)),
        Refusal(name: "empty accepts", code: "no_offer", body: #"{"x402Version":2,"accepts":[]}"#),
    ]

    @Test("every policy refusal has its named reason", arguments: refusals)
    func refusal(_ r: Refusal) throws {
        let offer = try Self.veniceOffer(r.body, from: r.url)
        do {
            let approved = try Self.policy.approve(offer, amount: r.amount, spentToday: r.spent)
            Issue.record("\(r.name): approved \(approved.amount) unexpectedly")
        } catch {
            #expect(error.code == r.code, "\(r.name): \(error)")
        }
    }

    @Test("the refusal table covers every refusal reason")
    func refusalCoverage() {
        #expect(Set(Self.refusals.map(\.code)) == Set(PaymentRefusal.allCases.map(\.code)))
    }

    @Test("a Base entry's refusal is reported over a Solana entry's network refusal")
    func mostRelevantRefusal() throws {
        let offer = try Self.veniceOffer()
        #expect(throws: X402Error.self) { try Self.policy.approve(offer, amount: 1, spentToday: 0) }
        do { _ = try Self.policy.approve(offer, amount: 1, spentToday: 0) } catch {
            #expect(error.code == "below_minimum")
        }
    }

    @Test("PAYMENT-REQUIRED header with sign-in-with-x extension is parsed; malformed entries are skipped")
    func paymentRequiredHeader() throws {
        let json = #"{"x402Version":2,"error":"Authentication required","resource":{"url":"https://api.venice.ai/api/v1/chat/completions"},"accepts":[{"scheme":"exact","network":"eip155:8453","amount":"10000000","asset":"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2"}},{"scheme":"exact","network":"eip155:8453","amount":"-1"}],"extensions":{"sign-in-with-x":{"info":{"domain":"api.venice.ai","nonce":"abc"},"supportedChains":[{"chainId":"eip155:8453","type":"eip191"}]}}}"#
        let pr = try PaymentRequired(headerValue: Fixtures.base64(json))
        #expect(pr.accepts.count == 1 && pr.skippedEntries == 1)
        #expect(pr.accepts[0].amount == UInt256(10_000_000))
        #expect(pr.signInWithX?["info"]?["domain"] == .string("api.venice.ai"))
        #expect(pr.error == "Authentication required")
        #expect(throws: X402Error.self) { try PaymentRequired(headerValue: "%%%") }
        #expect(throws: X402Error.self) { try PaymentRequired(headerValue: Fixtures.base64(#"{"x402Version":3,"accepts":[]}"#)) }
    }

    @Test("Venice's insufficient-balance 402 body is recognised")
    func insufficientBalance() throws {
        let body = #"{"error":"Payment required","code":"PAYMENT_REQUIRED","reason":"insufficient_balance","currentBalanceUsd":0.04,"minimumBalanceUsd":0.1,"description":"Venice API","suggestedTopUpUsd":10,"minimumTopUpUsd":5,"supportedTokens":["USDC"],"supportedChains":["base","solana"],"topUpInstructions":{"step1":"…","receiverWallet":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","tokenAddress":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","tokenDecimals":6,"network":"eip155:8453","minimumAmountUsd":5},"siwxChallenge":{"info":{"domain":"api.venice.ai"},"supportedChains":[]}}"#
        guard case .insufficientBalance(let ib) = Venice402Body(body: Array(body.utf8)) else {
            Issue.record("not recognised"); return
        }
        #expect(ib.isInsufficientBalance && ib.minimumTopUpUsd == 5 && ib.currentBalanceUsd == 0.04)
        #expect(ib.receiverWallet == "0x209693Bc6afc0C5328bA36FaF03C514EF312287C" && ib.network == "eip155:8453")
        #expect(ib.supportedChains == ["base", "solana"])
        guard case .paymentRequired = Venice402Body(body: Array(Self.veniceTopUp.utf8)) else { Issue.record("discovery"); return }
        guard case .other(let error) = Venice402Body(body: Array(#"{"error":"Insufficient USD or Diem balance"}"#.utf8)) else { Issue.record("plain"); return }
        #expect(error == "Insufficient USD or Diem balance")
    }

    @Test("PAYMENT-RESPONSE settlement is decoded")
    func settlement() throws {
        let s = try SettlementResponse(headerValue: Fixtures.base64(#"{"success":true,"network":"eip155:8453","payer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","transaction":"0xabc"}"#))
        #expect(s.success && s.transaction == "0xabc" && s.payer == Fixtures.anvil0Address)
        let f = try SettlementResponse(headerValue: Fixtures.base64(#"{"success":false,"transaction":"","errorReason":"insufficient_funds"}"#))
        #expect(!f.success && f.errorReason == "insufficient_funds")
        #expect(throws: X402Error.self) { try SettlementResponse(headerValue: Fixtures.base64("{}")) }
    }

    @Test("malformed payment headers are rejected with invalid_payment_payload", arguments: [
        "%%%", Fixtures.base64("{}"), Fixtures.base64(#"{"x402Version":2,"payload":{}}"#),
        Fixtures.base64(#"{"x402Version":2,"payload":{"signature":"0x00","authorization":{}},"accepted":{}}"#),
    ])
    func badPayload(_ header: String) {
        #expect(throws: X402Error.self) { try PaymentPayload(headerValue: header) }
        do { _ = try PaymentPayload(headerValue: header) } catch { #expect(error.code == "invalid_payment_payload") }
    }

    @Test("UInt256 decimal and hex round-trip, bounds enforced")
    func uint256() throws {
        let max = String(repeating: "f", count: 64)
        let maxDecimal = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        #expect(try UInt256(hex: "0x" + max).decimalString == maxDecimal)
        #expect(try UInt256(decimal: maxDecimal).bytes32 == [UInt8](repeating: 0xff, count: 32))
        #expect(throws: X402Error.self) { try UInt256(decimal: "115792089237316195423570985008687907853269984665640564039457584007913129639936") }
        #expect(throws: X402Error.self) { try UInt256(decimal: "012") }
        #expect(throws: X402Error.self) { try UInt256(decimal: "-1") }
        #expect(try UInt256(decimal: "18446744073709551616").decimalString == "18446744073709551616")
        #expect(try UInt256(decimal: "18446744073709551616") > UInt256(UInt64.max))
    }

    @Test("upstream origins normalise scheme, host case and default port")
    func origins() throws {
        #expect(try UpstreamOrigin(url: "HTTPS://API.Venice.ai:443/api/v1") == .venice)
        #expect(try UpstreamOrigin(url: "http://127.0.0.1:8080/x").description == "http://127.0.0.1:8080")
        #expect(throws: X402Error.self) { try UpstreamOrigin(url: "https://user@api.venice.ai") }
        #expect(throws: X402Error.self) { try UpstreamOrigin(url: "ftp://api.venice.ai") }
    }
}
