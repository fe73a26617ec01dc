import Foundation
import Testing
import WalletCrypto
@testable import X402Protocol

/// Throwaway keys and vectors from shared/spec/PROTOCOLS.md (public knowledge; never fund them).
enum Fixtures {
    static let anvil0Hex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    static let anvil0Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    static let k1Hex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

    static func key(_ hex: String) throws -> PrivateKey {
        let bytes = try Hex.decode(hex)
        return try bytes.withUnsafeBytes { raw throws(WalletCryptoError) in try PrivateKey(bytes: raw) }
    }

    static func anvil0() throws -> PrivateKey { try key(anvil0Hex) }

    /// S1: full message, 470 bytes.
    static let s1 = """
    example.com wants you to sign in with your Ethereum account:
    0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266

    Sign in to the wallet daemon test suite.

    URI: https://example.com/login
    Version: 1
    Chain ID: 8453
    Nonce: a1b2c3d4e5f67890
    Issued At: 2025-01-01T00:00:00.000Z
    Expiration Time: 2025-01-01T00:10:00.000Z
    Not Before: 2025-01-01T00:00:00.000Z
    Request ID: req-42
    Resources:
    - https://example.com/terms
    - ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
    """
    static let s1Signature = "0x7d0d40bed5741c9e38c837dc2a870d94f03e2b0671712a2e94007dd51b36ccf843606e33cf8757b93b4fdba01d690000e563d84197f3b3a732db798a39379acc1c"
    static let s1Digest = "8badce404a0a84041f24a56845e2d4b8c94318ac9c86675d88d7bfde32f9a779"

    static let s2 = "localhost:8080 wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n\nURI: http://localhost:8080/\nVersion: 1\nChain ID: 1\nNonce: 12345678\nIssued At: 2025-01-01T00:00:00Z"
    static let s2Signature = "0xfcfa6e62fa2a429101f1dea51168599d529154cfc73c1cca33168ecc80b6b46629a46f5e4970b2c38273a95ef46468eeb435c0780d62b61a5e8739bed29a3b0f1b"
    static let s2Digest = "a20027189d57247aa0dc9d6853fcb268efea691d1db211aad9116b9023de7dd7"

    static let s3 = "https://example.com wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nScheme example.\n\nURI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: abcdefgh\nIssued At: 2025-01-01T00:00:00+02:00"
    static let s3Signature = "0xaf61ac27d0d751d572838177e14fbccb5c993c4ec1a7835e799f22bce447ce833bd75be95a05463b396b9f6aae40c4e44707a2eecd4df4e80aac0f792a1f26881c"
    static let s3Digest = "c0fe3dfdc0b7f3659f57e43fc7f97c1e1dc4ac16f604f53284d04d73135d64ca"

    static let ven1 = "api.venice.ai wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nSign in to Venice AI\n\nURI: https://api.venice.ai/api/v1/chat/completions\nVersion: 1\nChain ID: 8453\nNonce: 0123456789abcdef\nIssued At: 2026-01-01T00:00:00.000Z\nExpiration Time: 2026-01-01T00:05:00.000Z"
    static let ven1Signature = "0x8a5db71539d7de073cda91eae83099f4fd3975bcd0fbd6e95acf7341c75e9af409cd5508b7601f3b5ba157d8053511d79530dace4606d1da71507b61e96abfe01b"
    static let ven1Digest = "ef9af33e7ea7bd5a84f43dbbb86249c5a238deff9d958f2e0f740970b32d0460"
    /// 2026-01-01T00:00:00Z
    static let ven1IssuedMs: Int64 = 1_767_225_600_000

    static let siwx1 = "api.example.com wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nSign in to access premium data\n\nURI: https://api.example.com/premium-data\nVersion: 1\nChain ID: 8453\nNonce: a1b2c3d4e5f67890a1b2c3d4e5f67890\nIssued At: 2024-01-15T10:30:00.000Z\nExpiration Time: 2024-01-15T10:35:00.000Z\nResources:\n- https://api.example.com/premium-data"
    static let siwx1Signature = "0x4c261c7acf140d1a136a34d486f56f787ce8c5a25624809f0aa6382aa842b8b65dab28ceb6f8b1f92c2738e0d5e8c09a09c09b6432d1c8fd904bac587a0b35d11c"
    static let siwx1Digest = "458875571fdea978933d39ea26262328c556850721b3f04637399205263f684b"

    static let x1PaymentRequired = #"{"x402Version":2,"error":"PAYMENT-SIGNATURE header is required","resource":{"url":"https://api.example.com/premium-data","description":"Access to premium market data","mimeType":"application/json"},"accepts":[{"scheme":"exact","network":"eip155:8453","amount":"10000","asset":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":300,"extra":{"name":"USD Coin","version":"2"}}]}"#
    static let x1PaymentSignature = "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJhdXRob3JpemF0aW9uIjp7ImZyb20iOiIweGYzOUZkNmU1MWFhZDg4RjZGNGNlNmFCODgyNzI3OWNmZkZiOTIyNjYiLCJ0byI6IjB4MjA5NjkzQmM2YWZjMEM1MzI4YkEzNkZhRjAzQzUxNEVGMzEyMjg3QyIsInZhbHVlIjoiMTAwMDAiLCJ2YWxpZEFmdGVyIjoiMCIsInZhbGlkQmVmb3JlIjoiMTc2NzIyNTkwMCIsIm5vbmNlIjoiMHhmYTliYmViOWNhOWQyNmU4Zjk1MDk2N2I4YmI0OWFlMzliOGRjMjE3YTFlMzQyOThkMjEwMTkxNWVmYjRkYzgyIn0sInNpZ25hdHVyZSI6IjB4ZTFmNDE3OGYzYjM5YzI4Y2JlMWM1NDE4ZDc2OGZjNWZmNDRmZDBkNjAwYTJiYjY3NDMzZTQzNTI0YmFjMTZiODUxZDMxYjBiMTM1ZTJiNmE3MjE2OGY4MDcwYTlhZGYyMjlhZDEyMTZhYWJhZGQxZjFlOGFhODNmYTBkMDkwNTgxYyJ9LCJhY2NlcHRlZCI6eyJzY2hlbWUiOiJleGFjdCIsIm5ldHdvcmsiOiJlaXAxNTU6ODQ1MyIsImFzc2V0IjoiMHg4MzM1ODlmQ0Q2ZURiNkUwOGY0YzdDMzJENGY3MWI1NGJkQTAyOTEzIiwiYW1vdW50IjoiMTAwMDAiLCJwYXlUbyI6IjB4MjA5NjkzQmM2YWZjMEM1MzI4YkEzNkZhRjAzQzUxNEVGMzEyMjg3QyIsIm1heFRpbWVvdXRTZWNvbmRzIjozMDAsImV4dHJhIjp7Im5hbWUiOiJVU0QgQ29pbiIsInZlcnNpb24iOiIyIn19LCJyZXNvdXJjZSI6eyJ1cmwiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9wcmVtaXVtLWRhdGEiLCJkZXNjcmlwdGlvbiI6IkFjY2VzcyB0byBwcmVtaXVtIG1hcmtldCBkYXRhIiwibWltZVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn19"

    static func base64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
}

/// A signer that refuses (a locked key session).
struct LockedSigner: PersonalSigner, TypedDataSigner {
    let address: EthereumAddress
    func signPersonalMessage(_ message: [UInt8]) throws(X402Error) -> Signature { throw .signerUnavailable("locked") }
    func signTypedDataDigest(_ digest: [UInt8]) throws(X402Error) -> Signature { throw .signerUnavailable("locked") }
}
