import Foundation
import Testing
import WalletCrypto
@testable import X402Protocol

/// Builds SIWX headers for the verifier tables: a Venice message signed by ANVIL0 at `now`.
struct SiwxCase: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: SignInFailure
    let header: @Sendable (_ now: Int64) throws -> String
    var testDescription: String { "\(expected.code): \(name)" }
}

enum SiwxBuilder {
    static func message(
        domain: String = "api.venice.ai", chain: String = "8453", nonce: String = "0123456789abcdef",
        issued: Int64, expiration: Int64? = nil, notBefore: Int64? = nil
    ) -> String {
        var text = "\(domain) wants you to sign in with your Ethereum account:\n\(Fixtures.anvil0Address)\n\nSign in to Venice AI\n\nURI: https://api.venice.ai\nVersion: 1\nChain ID: \(chain)\nNonce: \(nonce)\nIssued At: \(SiweTimestamp(milliseconds: issued).text)"
        if let expiration { text += "\nExpiration Time: \(SiweTimestamp(milliseconds: expiration).text)" }
        if let notBefore { text += "\nNot Before: \(SiweTimestamp(milliseconds: notBefore).text)" }
        return text
    }

    static func sign(_ text: String, key: String = Fixtures.anvil0Hex) throws -> String {
        try Fixtures.key(key).signPersonalMessage(Array(text.utf8)).hex
    }

    static func header(_ pairs: [(String, JSONValue)]) -> String {
        Fixtures.base64(JSONValue.object(JSONObject(pairs)).serialized())
    }

    /// A complete, valid header with optional overrides (nil value = remove the key).
    static func venice(now: Int64, message: String? = nil, overrides: [(String, JSONValue?)] = [], signKey: String = Fixtures.anvil0Hex) throws -> String {
        let text = message ?? Self.message(issued: now - 1000, expiration: now + 200_000)
        var object = JSONObject([
            ("address", .string(Fixtures.anvil0Address)), ("message", .string(text)),
            ("signature", .string(try sign(text, key: signKey))), ("chainId", .number("8453")),
        ])
        for (key, value) in overrides {
            if let value { object[key] = value } else {
                object = JSONObject(object.pairs.filter { $0.key != key }.map { ($0.key, $0.value) })
            }
        }
        return Fixtures.base64(JSONValue.object(object).serialized())
    }
}

@Suite("SIGN-IN-WITH-X")
struct SiwxTests {
    static let now: Int64 = 1_767_225_600_000 + 60_000

    @Test("VEN1 header JSON carries the vector message, signature, ms timestamp and numeric chainId")
    func ven1Header() throws {
        let header = SiwxHeader(
            address: try EthereumAddress(Fixtures.anvil0Address), message: Fixtures.ven1,
            signature: try Signature(hex: Fixtures.ven1Signature), chainId: 8453, timestamp: Fixtures.ven1IssuedMs)
        let expected = try JSONValue(parsing: #"{"address":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","message":"\#(Fixtures.ven1.replacingOccurrences(of: "\n", with: "\\n"))","signature":"\#(Fixtures.ven1Signature)","timestamp":1767225600000,"chainId":8453}"#)
        #expect(try JSONValue(parsing: header.jsonText) == expected)
        let decoded = try #require(Data(base64Encoded: header.headerValue))
        #expect(String(decoding: decoded, as: UTF8.self) == header.jsonText)
        let verified = try SiwxVerifier().verify(headerValue: header.headerValue, nowMilliseconds: Fixtures.ven1IssuedMs + 10_000)
        #expect(verified.address.checksummed == Fixtures.anvil0Address)
        #expect(verified.nonce == "0123456789abcdef")
        #expect(verified.expiresAtMilliseconds == Fixtures.ven1IssuedMs + 300_000)
    }

    @Test("a valid header verifies with every accepted chainId form", arguments: [JSONValue.number("8453"), .string("8453"), .string("eip155:8453"), .null])
    func chainForms(_ chain: JSONValue) throws {
        let value = try SiwxBuilder.venice(now: Self.now, overrides: [("chainId", chain)])
        #expect(try SiwxVerifier().verify(headerValue: value, nowMilliseconds: Self.now).message.chainId == 8453)
    }

    @Test("domain scheme, port and path are stripped before the allow-list", arguments: ["api.venice.ai:443", "https://api.venice.ai", "venice.ai", "API.Venice.ai", "user@api.venice.ai:8443",
                                                                                   "https://api.venice.ai:443/x", "api.venice.ai/api/v1?q#f"])
    func domainForms(_ domain: String) throws {
        let text = SiwxBuilder.message(domain: domain, issued: Self.now - 1000)
        let value = try SiwxBuilder.venice(now: Self.now, message: text)
        _ = try SiwxVerifier().verify(headerValue: value, nowMilliseconds: Self.now)
    }

    static let cases: [SiwxCase] = [
        SiwxCase(name: "not base64", expected: .parseError) { _ in "%%%not base64%%%" },
        SiwxCase(name: "base64 of text", expected: .parseError) { _ in Fixtures.base64("hello") },
        SiwxCase(name: "base64 of a JSON array", expected: .parseError) { _ in Fixtures.base64("[1,2]") },
        SiwxCase(name: "no address", expected: .invalidPayload) { now in try SiwxBuilder.venice(now: now, overrides: [("address", nil)]) },
        SiwxCase(name: "no signature", expected: .invalidPayload) { now in try SiwxBuilder.venice(now: now, overrides: [("signature", nil)]) },
        SiwxCase(name: "no message nor structured fields", expected: .invalidPayload) { now in try SiwxBuilder.venice(now: now, overrides: [("message", nil)]) },
        SiwxCase(name: "address not hex", expected: .invalidWallet) { now in try SiwxBuilder.venice(now: now, overrides: [("address", .string("0x12zz"))]) },
        SiwxCase(name: "Solana type", expected: .invalidWallet) { now in try SiwxBuilder.venice(now: now, overrides: [("type", .string("ed25519"))]) },
        SiwxCase(name: "chainId base", expected: .invalidChainId) { now in try SiwxBuilder.venice(now: now, overrides: [("chainId", .string("base"))]) },
        SiwxCase(name: "chainId hex", expected: .invalidChainId) { now in try SiwxBuilder.venice(now: now, overrides: [("chainId", .string("0x2105"))]) },
        SiwxCase(name: "chainId fractional", expected: .invalidChainId) { now in try SiwxBuilder.venice(now: now, overrides: [("chainId", .number("8453.0"))]) },
        SiwxCase(name: "message not SIWE", expected: .invalidMessage) { now in try SiwxBuilder.venice(now: now, message: "hello world") },
        SiwxCase(name: "message with lowercase address", expected: .invalidMessage) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now).replacingOccurrences(of: Fixtures.anvil0Address, with: Fixtures.anvil0Address.lowercased()))
        },
        SiwxCase(name: "address differs from message", expected: .addressMismatch) { now in
            try SiwxBuilder.venice(now: now, overrides: [("address", .string("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"))])
        },
        SiwxCase(name: "chainId 1 vs Chain ID 8453", expected: .chainMismatch) { now in try SiwxBuilder.venice(now: now, overrides: [("chainId", .number("1"))]) },
        SiwxCase(name: "Chain ID 1", expected: .unsupportedChain) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(chain: "1", issued: now), overrides: [("chainId", nil)])
        },
        SiwxCase(name: "no Chain ID line reads as chain 1", expected: .unsupportedChain) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now).replacingOccurrences(of: "\nChain ID: 8453", with: ""), overrides: [("chainId", nil)])
        },
        SiwxCase(name: "empty Nonce line", expected: .missingNonce) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(nonce: "", issued: now))
        },
        SiwxCase(name: "structured form with empty nonce", expected: .missingNonce) { now in
            SiwxBuilder.header([
                ("domain", "api.venice.ai"), ("address", .string(Fixtures.anvil0Address)), ("uri", "https://api.venice.ai"),
                ("version", "1"), ("chainId", "eip155:8453"), ("type", "eip191"), ("nonce", ""),
                ("issuedAt", .string(SiweTimestamp(milliseconds: now).text)), ("signature", .string("0x" + String(repeating: "11", count: 65))),
            ])
        },
        SiwxCase(name: "domain example.com", expected: .domainMismatch) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(domain: "example.com", issued: now))
        },
        SiwxCase(name: "domain example.com with a path", expected: .domainMismatch) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(domain: "https://example.com/api.venice.ai", issued: now))
        },
        SiwxCase(name: "domain api.venice.ai.evil.com", expected: .domainMismatch) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(domain: "api.venice.ai.evil.com", issued: now))
        },
        SiwxCase(name: "legacy timestamp 31 s after Issued At", expected: .timestampMismatch) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now), overrides: [("timestamp", .number(String(now + 31_000)))])
        },
        SiwxCase(name: "Issued At 31 s ahead", expected: .futureTimestamp) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now + 31_000))
        },
        SiwxCase(name: "Issued At 5 min 1 s old", expected: .expired) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now - 301_000))
        },
        SiwxCase(name: "Expiration Time passed", expected: .expired) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now - 10_000, expiration: now))
        },
        SiwxCase(name: "Not Before in the future", expected: .notBefore) { now in
            try SiwxBuilder.venice(now: now, message: SiwxBuilder.message(issued: now, notBefore: now + 1000))
        },
        SiwxCase(name: "signed by another key", expected: .invalidSignature) { now in try SiwxBuilder.venice(now: now, signKey: Fixtures.k1Hex) },
        SiwxCase(name: "signature not hex", expected: .invalidSignature) { now in try SiwxBuilder.venice(now: now, overrides: [("signature", .string("0xnothex"))]) },
        SiwxCase(name: "high-s twin", expected: .invalidSignature) { now in
            let text = SiwxBuilder.message(issued: now)
            let sig = try Fixtures.anvil0().signPersonalMessage(Array(text.utf8))
            return try SiwxBuilder.venice(now: now, message: text, overrides: [("signature", .string(highSTwin(sig)))])
        },
    ]

    @Test("each failing check yields its X402_SIGN_IN_* code", arguments: cases)
    func failures(_ c: SiwxCase) throws {
        let value = try c.header(Self.now)
        do {
            let verified = try SiwxVerifier().verify(headerValue: value, nowMilliseconds: Self.now)
            Issue.record("\(c.name): verified unexpectedly as \(verified.address)")
        } catch {
            #expect(error.code == c.expected.code, "\(c.name): \(error)")
        }
    }

    @Test("the table covers checks 1-15 and the replay guard covers 16")
    func coverage() {
        let covered = Set(Self.cases.map(\.expected))
        #expect(covered == Set(SignInFailure.allCases).subtracting([.nonceReused]))
        #expect(SignInFailure.allCases.map(\.checkNumber) == Array(1...16))
        #expect(SignInFailure(code: "X402_SIGN_IN_EXPIRED") == .expired)
    }

    @Test("a replayed nonce is rejected with NONCE_REUSED, per wallet, for 5.5 minutes")
    func replay() throws {
        let guardStore = SiwxReplayGuard()
        let value = try SiwxBuilder.venice(now: Self.now)
        let verified = try SiwxVerifier().verify(headerValue: value, nowMilliseconds: Self.now)
        try guardStore.consume(verified, nowMilliseconds: Self.now)
        #expect(throws: X402Error.signIn(.nonceReused, detail: "nonce 0123456789abcdef was already used by \(verified.address.lowercasedHex) in the last 5.5 minutes")) {
            try guardStore.consume(verified, nowMilliseconds: Self.now + 329_999)
        }
        try guardStore.consume(wallet: "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23", nonce: verified.nonce, nowMilliseconds: Self.now)
        try guardStore.consume(verified, nowMilliseconds: Self.now + 330_000)
    }

    @Test("a full replay guard fails closed and recovers after expiry")
    func replayBound() throws {
        let guardStore = SiwxReplayGuard(windowMilliseconds: 1000, capacity: 3)
        for i in 0..<3 { try guardStore.consume(wallet: "w", nonce: "nonce000\(i)", nowMilliseconds: 0) }
        #expect(throws: X402Error.self) { try guardStore.consume(wallet: "w", nonce: "nonce0009", nowMilliseconds: 10) }
        try guardStore.consume(wallet: "w", nonce: "nonce0009", nowMilliseconds: 1000)
        #expect(guardStore.count == 1)
    }

    @Test("the structured form (SIWX1, x402 SDK layout) is rebuilt and verified")
    func structuredSIWX1() throws {
        let header = SiwxBuilder.header([
            ("domain", "api.example.com"), ("address", .string(Fixtures.anvil0Address)),
            ("uri", "https://api.example.com/premium-data"), ("version", "1"), ("chainId", "eip155:8453"),
            ("type", "eip191"), ("nonce", "a1b2c3d4e5f67890a1b2c3d4e5f67890"), ("issuedAt", "2024-01-15T10:30:00.000Z"),
            ("statement", "Sign in to access premium data"), ("expirationTime", "2024-01-15T10:35:00.000Z"),
            ("resources", ["https://api.example.com/premium-data"]), ("signature", .string(Fixtures.siwx1Signature)),
        ])
        let verifier = SiwxVerifier(configuration: .init(allowedDomains: ["api.example.com"]))
        let now = try SiweTimestamp(parsing: "2024-01-15T10:31:00Z").milliseconds
        let verified = try verifier.verify(headerValue: header, nowMilliseconds: now)
        #expect(verified.text == Fixtures.siwx1)
    }
}

/// s' = n - s, v flipped: same signer, but non-canonical.
func highSTwin(_ sig: Signature) throws -> String {
    let n: [UInt8] = try Hex.decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
    var s = [UInt8](repeating: 0, count: 32)
    var borrow = 0
    for i in stride(from: 31, through: 0, by: -1) {
        var d = Int(n[i]) - Int(sig.s[i]) - borrow
        borrow = d < 0 ? 1 : 0
        if d < 0 { d += 256 }
        s[i] = UInt8(d)
    }
    return Hex.encode(sig.r + s + [sig.v == 27 ? 28 : 27], prefix: true)
}

@Suite("SIWX signer, nonces, skew clock")
struct SiwxSignerTests {
    @Test("each call yields a fresh Venice header that the verifier accepts")
    func freshHeaders() throws {
        let clock = ManualWallClock(milliseconds: Fixtures.ven1IssuedMs)
        let signer = try SiwxSigner(signer: Fixtures.anvil0(), clock: clock)
        let (message, header) = try signer.makeSignedMessage()
        #expect(message.domain == "api.venice.ai" && message.uri == "https://api.venice.ai")
        #expect(message.statement == "Sign in to Venice AI" && message.chainId == 8453 && message.version == "1")
        #expect(message.issuedAt.text == "2026-01-01T00:00:00.000Z")
        #expect(message.expirationTime?.text == "2026-01-01T00:04:00.000Z")
        #expect(message.nonce.utf8.count == 16)
        #expect(try SiweMessage(parsing: header.message) == message)
        let json = try JSONValue(parsing: header.jsonText)
        #expect(json["chainId"] == .number("8453"))
        #expect(json.objectValue?.keys == ["address", "message", "signature", "chainId"])
        let verified = try SiwxVerifier().verify(headerValue: header.headerValue, nowMilliseconds: clock.nowMilliseconds())
        #expect(verified.nonce == message.nonce)
        let second = try signer.makeSignedMessage().message
        #expect(second.nonce != message.nonce)
        #expect(try signer.makeHeaderValue() != header.headerValue)
    }

    @Test("the pre-rendered hot path is byte-identical to the value-built header", arguments: [false, true])
    func fastPathEquivalence(_ legacyTimestamp: Bool) throws {
        let clock = ManualWallClock(milliseconds: Fixtures.ven1IssuedMs + 123)
        func counter() -> NonceSource {
            let state = ManualWallClock(milliseconds: 0)
            return NonceSource(random: { n in
                state.advance(by: 1)
                return (0..<n).map { UInt8(truncatingIfNeeded: state.nowMilliseconds() &* 31 &+ Int64($0)) }
            })
        }
        let config = SiwxSigner.Configuration(ttlSeconds: 180, includeLegacyTimestamp: legacyTimestamp)
        let slow = try SiwxSigner(signer: Fixtures.anvil0(), clock: clock, nonces: counter(), configuration: config)
        let fast = try SiwxSigner(signer: Fixtures.anvil0(), clock: clock, nonces: counter(), configuration: config)
        for _ in 0..<5 {
            let expected = try slow.makeHeader().headerValue
            #expect(try fast.makeHeaderValue() == expected)
        }
        let value = try fast.makeHeaderValue()
        let verified = try SiwxVerifier().verify(headerValue: value, nowMilliseconds: clock.nowMilliseconds())
        #expect(verified.message.expirationTime?.milliseconds == Fixtures.ven1IssuedMs + 123 + 180_000)
    }

    @Test("a TTL above 300 s (or below 1 s) is refused", arguments: [Int64(301), 0, -5, 600])
    func ttl(_ seconds: Int64) throws {
        let key = try Fixtures.anvil0()
        #expect(throws: X402Error.ttlOutOfRange(seconds: seconds)) {
            try SiwxSigner(signer: key, clock: SystemWallClock(), configuration: .init(ttlSeconds: seconds))
        }
        _ = try SiwxSigner(signer: key, clock: SystemWallClock(), configuration: .init(ttlSeconds: 300))
    }

    @Test("a locked signer surfaces signerUnavailable")
    func lockedSigner() throws {
        let signer = try SiwxSigner(signer: LockedSigner(address: EthereumAddress(Fixtures.anvil0Address)), clock: SystemWallClock())
        #expect(throws: X402Error.signerUnavailable("locked")) { try signer.makeHeader() }
    }

    @Test("many tasks signing at once get distinct nonces and valid headers")
    func concurrent() async throws {
        let signer = try SiwxSigner(signer: Fixtures.anvil0(), clock: SystemWallClock())
        let nonces = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 { group.addTask { try signer.makeSignedMessage().message.nonce } }
            var all: [String] = []
            for try await n in group { all.append(n) }
            return all
        }
        #expect(Set(nonces).count == 200)
    }

    @Test("nonces are 16 lowercase hex characters and never repeat in the window, even from a stuck generator")
    func nonceSource() {
        let clock = ManualWallClock(milliseconds: 0)
        let stuck = NonceSource(clock: clock, random: { [UInt8](repeating: 0xab, count: $0) })
        let first = stuck.next()
        #expect(first == "abababababababab")
        let more = (0..<20).map { _ in stuck.next() }
        #expect(Set(more + [first]).count == 21)
        #expect(more.allSatisfy { $0.utf8.count == 16 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } })
        let real = NonceSource()
        let many = (0..<1000).map { _ in real.next() }
        #expect(Set(many).count == 1000)
    }

    @Test("the nonce memory forgets after 5.5 minutes and stays under its capacity")
    func nonceMemoryBounded() {
        let clock = ManualWallClock(milliseconds: 0)
        let source = NonceSource(clock: clock, capacity: 50)
        for _ in 0..<120 { _ = source.next() }
        #expect(source.rememberedCount == 50)
        clock.advance(by: 329_999)
        #expect(source.rememberedCount == 50)
        clock.advance(by: 1)
        #expect(source.rememberedCount == 0)
    }

    @Test("the skew clock takes the median offset, ignoring one bad Date sample")
    func skewMedian() {
        let base = ManualWallClock(milliseconds: 1_000_000_000)
        let clock = SkewClock(base: base, sampleCount: 5)
        for offset: Int64 in [5000, 5000, 900_000, 5000] {
            clock.observe(serverDateMilliseconds: base.nowMilliseconds() + offset)
        }
        #expect(clock.offsetMilliseconds == 5000)
        #expect(clock.nowMilliseconds() == 1_000_005_000)
    }

    @Test("the skew clock parses HTTP Date headers and resets on a clock error, counting each correction that moved it")
    func skewCorrection() throws {
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        let base = ManualWallClock(milliseconds: 784_111_777_000 - 120_000)
        let clock = SkewClock(base: base)
        clock.observe(httpDate: "Sun, 06 Nov 1994 08:47:37 GMT")
        #expect(clock.offsetMilliseconds == 0)
        clock.observe(httpDate: "garbage")
        #expect(clock.offsetMilliseconds == 0)
        #expect(clock.mark.corrections == 0)
        #expect(clock.correct(after: .futureTimestamp, httpDate: "Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(clock.offsetMilliseconds == 120_000)
        #expect(clock.mark == .init(offsetMilliseconds: 120_000, corrections: 1))
        #expect(!clock.correct(after: .invalidSignature, httpDate: "Sun, 06 Nov 1994 09:49:37 GMT"))
        #expect(clock.offsetMilliseconds == 120_000)
        #expect(!clock.correct(after: .futureTimestamp, httpDate: "Sun, 06 Nov 1994 08:49:37 GMT"), "the same offset again moves nothing")
        #expect(clock.mark.corrections == 1)
    }

    @Test("a signer on a corrected skew clock stamps the server's time")
    func signerUsesSkew() throws {
        let base = ManualWallClock(milliseconds: Fixtures.ven1IssuedMs - 600_000)
        let skew = SkewClock(base: base)
        skew.observe(serverDateMilliseconds: Fixtures.ven1IssuedMs)
        let signer = try SiwxSigner(signer: Fixtures.anvil0(), clock: skew)
        #expect(try signer.makeSignedMessage().message.issuedAt.milliseconds == Fixtures.ven1IssuedMs)
    }
}

@Suite("HTTP dates (RFC 9110 IMF-fixdate)")
struct HTTPDateTests {
    @Test("format writes IMF-fixdate with the right weekday, and parse reads it back to the second", arguments: [
        (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"), (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_825_600, "Tue, 29 Feb 2000 12:00:00 GMT"), (1798761599, "Thu, 31 Dec 2026 23:59:59 GMT"),
    ])
    func roundTrip(seconds: Int64, text: String) {
        #expect(HTTPDate.format(secondsSince1970: seconds) == text)
        #expect(HTTPDate.parse(text) == seconds * 1000)
    }

    @Test("times before 1970 are written as its first second, never trapped on")
    func beforeEpoch() {
        #expect(HTTPDate.format(secondsSince1970: -5) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: .min) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
