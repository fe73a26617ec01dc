import Foundation
import Testing
import WalletCrypto
@testable import X402Protocol

struct SiweVector: Sendable, CustomTestStringConvertible {
    let id: String
    let text: String
    let digest: String
    let signature: String
    var testDescription: String { id }
}

@Suite("SIWE messages (EIP-4361)")
struct SiweMessageTests {
    static let vectors: [SiweVector] = (Fixtures.vectors["siwe"]?.arrayValue ?? []).map { v in
        SiweVector(id: v["id"]?.stringValue ?? "?", text: v["message"]?.stringValue ?? "",
                   digest: v["digest"]?.stringValue ?? "", signature: v["signature"]?.stringValue ?? "")
    }

    @Test("the vector file holds S1, S2, S3, SIWX1 and VEN1")
    func vectorFile() {
        #expect(Self.vectors.map(\.id) == ["S1", "S2", "S3", "SIWX1", "VEN1"])
        #expect(Fixtures.s1.utf8.count == 470 && Fixtures.ven1.utf8.count == 307 && Fixtures.siwx1.utf8.count == 376)
    }

    @Test("vector messages parse and re-render byte for byte", arguments: vectors)
    func parseRender(_ v: SiweVector) throws {
        let message = try SiweMessage(parsing: v.text)
        #expect(message.text == v.text, "\(v.id)")
        #expect(Hex.encode(EIP191.personalMessageDigest(Array(message.text.utf8))) == v.digest, "\(v.id)")
    }

    @Test("vector signatures recover to ANVIL0 and ANVIL0 re-signs them identically", arguments: vectors)
    func signatures(_ v: SiweVector) throws {
        let message = try SiweMessage(parsing: v.text)
        let signature = try Signature(hex: v.signature)
        #expect(try message.recoverSigner(signature: signature).checksummed == Fixtures.anvil0Address)
        try message.verify(signature: signature)
        let resigned = try Fixtures.anvil0().signPersonalMessage(Array(message.text.utf8))
        #expect(resigned.hex == v.signature, "\(v.id)")
    }

    @Test("S1 built from fields renders the vector exactly")
    func buildS1() throws {
        let message = try SiweMessage(
            domain: "example.com", address: EthereumAddress(Fixtures.anvil0Address.lowercased()),
            statement: "Sign in to the wallet daemon test suite.", uri: "https://example.com/login",
            chainId: 8453, nonce: "a1b2c3d4e5f67890",
            issuedAt: SiweTimestamp(milliseconds: 1_735_689_600_000),
            expirationTime: SiweTimestamp(milliseconds: 1_735_689_600_000 + 600_000),
            notBefore: SiweTimestamp(parsing: "2025-01-01T00:00:00.000Z"), requestId: "req-42",
            resources: ["https://example.com/terms", "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/"])
        #expect(message.text == Fixtures.s1)
        #expect(message.text.utf8.count == 470)
    }

    @Test("S3 keeps the scheme and the +02:00 timestamp verbatim")
    func schemeAndOffset() throws {
        let message = try SiweMessage(parsing: Fixtures.s3)
        #expect(message.scheme == "https")
        #expect(message.domain == "example.com")
        #expect(message.issuedAt.text == "2025-01-01T00:00:00+02:00")
        #expect(message.issuedAt.milliseconds == 1_735_689_600_000 - 7_200_000)
        #expect(message.statement == "Scheme example.")
    }

    @Test("S2 without a statement has two empty lines and parses to nil statement")
    func noStatement() throws {
        let message = try SiweMessage(parsing: Fixtures.s2)
        #expect(message.statement == nil)
        #expect(message.text.contains("Bdf\n\n\nURI") == false)
        #expect(message.text.contains("92266\n\n\nURI: "))
        #expect(message.resources == nil && message.requestId == nil && message.expirationTime == nil)
    }

    @Test("timestamps render as RFC 3339 UTC with milliseconds")
    func timestampRendering() throws {
        #expect(SiweTimestamp(milliseconds: 0).text == "1970-01-01T00:00:00.000Z")
        #expect(SiweTimestamp(milliseconds: 1_767_225_600_123).text == "2026-01-01T00:00:00.123Z")
        #expect(SiweTimestamp(milliseconds: 951_782_399_999).text == "2000-02-28T23:59:59.999Z")
        #expect(SiweTimestamp(milliseconds: 951_868_800_000).text == "2000-03-01T00:00:00.000Z")
        for ms: Int64 in [0, 1, 999, 86_399_999, 1_709_164_800_000, 4_102_444_799_999] {
            let t = SiweTimestamp(milliseconds: ms)
            #expect(try SiweTimestamp(parsing: t.text).milliseconds == ms, "\(t.text)")
        }
    }

    @Test("timestamps parse fractions and offsets to the right instant")
    func timestampParsing() throws {
        #expect(try SiweTimestamp(parsing: "2025-01-01T00:00:00Z").milliseconds == 1_735_689_600_000)
        #expect(try SiweTimestamp(parsing: "2025-01-01T00:00:00.5Z").milliseconds == 1_735_689_600_500)
        #expect(try SiweTimestamp(parsing: "2025-01-01T00:00:00.123456789Z").milliseconds == 1_735_689_600_123)
        #expect(try SiweTimestamp(parsing: "2025-01-01T01:30:00+01:30").milliseconds == 1_735_689_600_000)
        #expect(try SiweTimestamp(parsing: "2024-12-31T22:00:00-02:00").milliseconds == 1_735_689_600_000)
        #expect(try SiweTimestamp(parsing: "2024-02-29T00:00:00Z").text == "2024-02-29T00:00:00Z")
    }

    static let badTimestamps = [
        "2025-01-01 00:00:00Z", "2025-01-01T00:00:00", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
        "2025-01-01T24:00:00Z", "2025-01-01T00:60:00Z", "2025-01-01T00:00:00.Z", "2025-1-01T00:00:00Z",
        "2025-01-01T00:00:00+0200", "2025-01-01T00:00:00+24:00", "2025-01-01T00:00:00Zjunk", "",
        "２０２５-01-01T00:00:00Z", "2025-01-01T00:00:00z",
    ]

    @Test("malformed timestamps are rejected", arguments: badTimestamps)
    func badTimestamp(_ text: String) {
        #expect(throws: X402Error.siweInvalidTimestamp(field: "timestamp", value: text)) {
            try SiweTimestamp(parsing: text)
        }
    }

    struct BadMessage: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let code: String
        var testDescription: String { name }
    }

    static func mutate(_ from: String, _ to: String, in base: String = Fixtures.s1) -> String {
        base.replacingOccurrences(of: from, with: to)
    }

    static let badMessages: [BadMessage] = [
        BadMessage(name: "domain with a path", text: mutate("example.com wants", "example.com/x wants"), code: "siwe_invalid_domain"),
        BadMessage(name: "domain with a space", text: mutate("example.com wants", "exa mple.com wants"), code: "siwe_invalid_domain"),
        BadMessage(name: "empty domain", text: mutate("example.com wants", " wants"), code: "siwe_invalid_domain"),
        BadMessage(name: "domain with bad port", text: mutate("example.com wants", "example.com:80a wants"), code: "siwe_invalid_domain"),
        BadMessage(name: "bad scheme", text: mutate("example.com wants", "1http://example.com wants"), code: "siwe_invalid_scheme"),
        BadMessage(name: "lowercase address", text: mutate(Fixtures.anvil0Address, Fixtures.anvil0Address.lowercased()), code: "siwe_address_not_checksummed"),
        BadMessage(name: "wrong checksum", text: mutate(Fixtures.anvil0Address, "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), code: "siwe_address_not_checksummed"),
        BadMessage(name: "short address", text: mutate(Fixtures.anvil0Address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb9226"), code: "siwe_invalid_address"),
        BadMessage(name: "statement with a newline", text: mutate("Sign in to the wallet daemon test suite.", "Sign in\nto the suite."), code: "siwe_unexpected_line"),
        BadMessage(name: "statement with a non-ASCII character", text: mutate("Sign in to the wallet", "Sign in to the wället"), code: "siwe_invalid_statement"),
        BadMessage(name: "statement with a quote", text: mutate("Sign in to the wallet", "Sign \"in\" to the wallet"), code: "siwe_invalid_statement"),
        BadMessage(name: "nonce under 8 characters", text: mutate("Nonce: a1b2c3d4e5f67890", "Nonce: a1b2c3d"), code: "siwe_invalid_nonce"),
        BadMessage(name: "nonce with a dash", text: mutate("Nonce: a1b2c3d4e5f67890", "Nonce: abcd-1234"), code: "siwe_invalid_nonce"),
        BadMessage(name: "malformed issued-at", text: mutate("Issued At: 2025-01-01T00:00:00.000Z", "Issued At: 2025-01-01"), code: "siwe_invalid_timestamp"),
        BadMessage(name: "malformed expiration", text: mutate("Expiration Time: 2025-01-01T00:10:00.000Z", "Expiration Time: tomorrow"), code: "siwe_invalid_timestamp"),
        BadMessage(name: "version 2", text: mutate("Version: 1", "Version: 2"), code: "siwe_invalid_version"),
        BadMessage(name: "chain id with leading zero", text: mutate("Chain ID: 8453", "Chain ID: 08453"), code: "siwe_invalid_chain_id"),
        BadMessage(name: "chain id hex", text: mutate("Chain ID: 8453", "Chain ID: 0x2105"), code: "siwe_invalid_chain_id"),
        BadMessage(name: "URI with a space", text: mutate("URI: https://example.com/login", "URI: https://example.com/log in"), code: "siwe_invalid_uri"),
        BadMessage(name: "URI without scheme", text: mutate("URI: https://example.com/login", "URI: example.com/login"), code: "siwe_invalid_uri"),
        BadMessage(name: "resource not a URI", text: mutate("- https://example.com/terms", "- not a uri"), code: "siwe_invalid_uri"),
        BadMessage(name: "request id with a space", text: mutate("Request ID: req-42", "Request ID: req 42"), code: "siwe_invalid_request_id"),
        BadMessage(name: "misordered Version and URI", text: mutate("URI: https://example.com/login\nVersion: 1", "Version: 1\nURI: https://example.com/login"), code: "siwe_unexpected_line"),
        BadMessage(name: "misordered Not Before and Expiration", text: mutate("Expiration Time: 2025-01-01T00:10:00.000Z\nNot Before: 2025-01-01T00:00:00.000Z", "Not Before: 2025-01-01T00:00:00.000Z\nExpiration Time: 2025-01-01T00:10:00.000Z"), code: "siwe_unexpected_line"),
        BadMessage(name: "unknown line", text: mutate("Request ID: req-42", "Request ID: req-42\nFoo: bar"), code: "siwe_unexpected_line"),
        BadMessage(name: "duplicate Request ID", text: mutate("Request ID: req-42", "Request ID: req-42\nRequest ID: req-43"), code: "siwe_unexpected_line"),
        BadMessage(name: "trailing newline", text: Fixtures.s1 + "\n", code: "siwe_unexpected_line"),
        BadMessage(name: "CRLF line ends", text: Fixtures.s2.replacingOccurrences(of: "\n", with: "\r\n"), code: "siwe_unexpected_line"),
        BadMessage(name: "missing Nonce", text: mutate("\nNonce: 12345678", "", in: Fixtures.s2), code: "siwe_unexpected_line"),
        BadMessage(name: "truncated after Chain ID", text: String(Fixtures.s2.prefix(while: { $0 != "N" })) .trimmingCharacters(in: .newlines), code: "siwe_missing_line"),
        BadMessage(name: "missing blank line after statement", text: mutate("suite.\n\nURI", "suite.\nURI"), code: "siwe_unexpected_line"),
        BadMessage(name: "wrong header", text: mutate("wants you to sign in", "wants you to log in"), code: "siwe_unexpected_line"),
        BadMessage(name: "resource without dash", text: mutate("- https://example.com/terms", "https://example.com/terms"), code: "siwe_unexpected_line"),
        BadMessage(name: "empty message", text: "", code: "siwe_unexpected_line"),
    ]

    @Test("the strict parser rejects what the grammar rejects, with a typed error", arguments: badMessages)
    func rejects(_ bad: BadMessage) {
        #expect(bad.text != Fixtures.s1 || bad.name == "trailing newline")
        do {
            let parsed = try SiweMessage(parsing: bad.text)
            Issue.record("\(bad.name): parsed unexpectedly as \(parsed.text)")
        } catch {
            #expect(error.code == bad.code, "\(bad.name): \(error)")
        }
    }

    @Test("building from fields refuses a statement with a newline and a short nonce")
    func builderRejects() throws {
        let address = try EthereumAddress(Fixtures.anvil0Address)
        let issued = SiweTimestamp(milliseconds: 0)
        #expect(throws: X402Error.siweInvalidStatement("a\nb")) {
            try SiweMessage(domain: "example.com", address: address, statement: "a\nb", uri: "https://example.com", chainId: 1, nonce: "12345678", issuedAt: issued)
        }
        #expect(throws: X402Error.siweInvalidNonce("1234567")) {
            try SiweMessage(domain: "example.com", address: address, statement: nil, uri: "https://example.com", chainId: 1, nonce: "1234567", issuedAt: issued)
        }
        #expect(throws: X402Error.siweInvalidDomain("https://example.com")) {
            try SiweMessage(domain: "https://example.com", address: address, statement: nil, uri: "https://example.com", chainId: 1, nonce: "12345678", issuedAt: issued)
        }
    }

    @Test("expired SIWE message is rejected")
    func expired() throws {
        let message = try SiweMessage(parsing: Fixtures.s1)
        let expiry = message.expirationTime?.milliseconds ?? 0
        try message.validate(nowMilliseconds: expiry - 1)
        #expect(throws: X402Error.siweExpired(atMilliseconds: expiry, nowMilliseconds: expiry)) {
            try message.validate(nowMilliseconds: expiry)
        }
    }

    @Test("SIWE message before Not Before is rejected")
    func notYetValid() throws {
        let message = try SiweMessage(parsing: Fixtures.s1)
        let nbf = message.notBefore?.milliseconds ?? 0
        try message.validate(nowMilliseconds: nbf)
        #expect(throws: X402Error.siweNotYetValid(untilMilliseconds: nbf, nowMilliseconds: nbf - 1)) {
            try message.validate(nowMilliseconds: nbf - 1)
        }
    }

    @Test("SIWE validation checks chain, domain allow-list and nonce")
    func expectations() throws {
        let message = try SiweMessage(parsing: Fixtures.s1)
        let now = message.issuedAt.milliseconds
        try message.validate(nowMilliseconds: now, expectations: .init(allowedDomains: ["EXAMPLE.com"], chainId: 8453, nonce: "a1b2c3d4e5f67890"))
        #expect(throws: X402Error.siweChainMismatch(expected: 1, actual: 8453)) {
            try message.validate(nowMilliseconds: now, expectations: .init(chainId: 1))
        }
        #expect(throws: X402Error.siweDomainNotAllowed("example.com")) {
            try message.validate(nowMilliseconds: now, expectations: .init(allowedDomains: ["api.venice.ai"]))
        }
        #expect(throws: X402Error.siweNonceMismatch(expected: "zzzzzzzz", actual: "a1b2c3d4e5f67890")) {
            try message.validate(nowMilliseconds: now, expectations: .init(nonce: "zzzzzzzz"))
        }
    }

    @Test("a signature from another key is reported as a signer mismatch")
    func signerMismatch() throws {
        let message = try SiweMessage(parsing: Fixtures.s1)
        let other = try Fixtures.key(Fixtures.k1Hex).signPersonalMessage(Array(message.text.utf8))
        #expect(throws: X402Error.siweSignerMismatch(expected: Fixtures.anvil0Address, recovered: "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")) {
            try message.verify(signature: other)
        }
    }

    @Test("empty Resources line and empty Request ID round-trip")
    func emptyOptionalLines() throws {
        let text = Fixtures.s2 + "\nRequest ID: \nResources:"
        let message = try SiweMessage(parsing: text)
        #expect(message.requestId == "")
        #expect(message.resources == [])
        #expect(message.text == text)
    }
}
