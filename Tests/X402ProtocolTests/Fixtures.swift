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

    /// Vectors/x402.json (copied from PROTOCOLS.md; provenance inside the file).
    static let vectors: JSONValue = {
        guard let url = Bundle.module.url(forResource: "x402", withExtension: "json", subdirectory: "Vectors"),
              let data = try? Data(contentsOf: url), let value = try? JSONValue(parsing: [UInt8](data)) else { return .null }
        return value
    }()

    static func entry(_ section: String, _ id: String) -> JSONValue {
        vectors[section]?.arrayValue?.first { $0["id"] == .string(id) } ?? .null
    }

    static func siwe(_ id: String, _ key: String = "message") -> String { entry("siwe", id)[key]?.stringValue ?? "" }

    static var s1: String { siwe("S1") }
    static var s2: String { siwe("S2") }
    static var s3: String { siwe("S3") }
    static var ven1: String { siwe("VEN1") }
    static var ven1Signature: String { siwe("VEN1", "signature") }
    static var siwx1: String { siwe("SIWX1") }
    static var siwx1Signature: String { siwe("SIWX1", "signature") }
    /// 2026-01-01T00:00:00Z
    static let ven1IssuedMs: Int64 = 1_767_225_600_000

    static var x1PaymentRequired: String { entry("x402", "X1")["paymentRequired"]?.stringValue ?? "" }
    static var x1PaymentSignature: String { entry("x402", "X1")["paymentSignature"]?.stringValue ?? "" }

    static func base64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
}

/// A signer that refuses (a locked key session).
struct LockedSigner: PersonalSigner, TypedDataSigner {
    let address: EthereumAddress
    func signPersonalMessage(_ message: [UInt8]) throws(X402Error) -> Signature { throw .signerUnavailable("locked") }
    func signTypedDataDigest(_ digest: [UInt8]) throws(X402Error) -> Signature { throw .signerUnavailable("locked") }
}
