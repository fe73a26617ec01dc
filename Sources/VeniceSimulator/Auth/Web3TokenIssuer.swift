import Foundation
import WalletCrypto

/// `generate_web3_key` tokens: JWT-shaped `header.claims.mac`, the MAC a Keccak-256 over a per-process
/// secret and the claims (a sponge has no length extension). Valid 15 minutes; wallet-independent.
struct Web3TokenIssuer: Sendable {
    let secret: [UInt8]
    static let lifetimeMilliseconds: Int64 = 15 * 60 * 1000

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: String) -> [UInt8]? {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base).map(Array.init)
    }

    func mac(_ text: String) -> String { Self.base64URL(Keccak256.hash(secret + Array(text.utf8))) }

    func issue(nowMilliseconds: Int64) -> String {
        let header = Self.base64URL(Array(#"{"alg":"VSIM-K256","typ":"JWT"}"#.utf8))
        let claims: JSONValue = ["iat": .number(String(nowMilliseconds / 1000)), "exp": .number(String((nowMilliseconds + Self.lifetimeMilliseconds) / 1000)),
                                 "jti": .string(Hex.encode(SecureRandom.bytes(count: 12)))]
        let body = header + "." + Self.base64URL(Array(claims.serialized().utf8))
        return body + "." + mac(body)
    }

    /// True if the token is unaltered and not expired.
    func isValid(_ token: String, nowMilliseconds: Int64) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        let body = parts[0] + "." + parts[1]
        let expected = Array(mac(String(body)).utf8)
        let given = Array(parts[2].utf8)
        guard expected.count == given.count, zip(expected, given).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return false }
        guard let claimsBytes = Self.fromBase64URL(String(parts[1])), let claims = try? JSONValue(parsing: claimsBytes),
              let exp = claims["exp"]?.intValue else { return false }
        return Int64(exp) * 1000 > nowMilliseconds
    }
}
