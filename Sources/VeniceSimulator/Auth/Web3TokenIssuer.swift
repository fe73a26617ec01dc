import Foundation
import WalletCrypto

/// `generate_web3_key` tokens: JWT-shaped `header.claims.mac`, the MAC a Keccak-256 over a per-process
/// secret and the claims (a sponge has no length extension). Valid 15 minutes; wallet-independent
/// (veniceai/api-docs guides/integrations/generating-api-key-agent.mdx, "Request a validation token").
/// The claims carry an issuer and an audience that `check` compares, so a foreign JWT is refused with
/// Venice's "JWT claims are invalid" (same guide, "Error reference"; the values are our own).
struct Web3TokenIssuer: Sendable {
    let secret: [UInt8]
    static let lifetimeMilliseconds: Int64 = 15 * 60 * 1000
    /// Assumption: Venice does not publish its `iss`/`aud`; these are the simulator's.
    static let issuer = "venice-sim"
    static let audience = "generate_web3_key"

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base).map(Array.init)
    }

    func mac(_ text: String) -> String { Self.base64URL(Keccak256.hash(secret + Array(text.utf8))) }

    /// A token issued at `nowMilliseconds`; `expired` makes one whose 15 minutes are already over
    /// (the `web3ExpiredTokens` knob).
    func issue(nowMilliseconds: Int64, expired: Bool = false, claims extra: [(String, JSONValue)] = []) -> String {
        let issuedAt = expired ? nowMilliseconds - Self.lifetimeMilliseconds - 60_000 : nowMilliseconds
        var claims = JSONObject([("iss", .string(Self.issuer)), ("aud", .string(Self.audience)),
                                 ("iat", .number(String(issuedAt / 1000))),
                                 ("exp", .number(String((issuedAt + Self.lifetimeMilliseconds) / 1000))),
                                 ("jti", .string(Hex.encode(SecureRandom.bytes(count: 12))))])
        for (name, value) in extra { claims[name] = value }
        return sign(claims: .object(claims))
    }

    /// Header and claims, MAC'd with the simulator's secret (tests forge tokens with other claims through it).
    func sign(claims: JSONValue) -> String {
        let header = Self.base64URL(Array(#"{"alg":"VSIM-K256","typ":"JWT"}"#.utf8))
        let body = header + "." + Self.base64URL(Array(claims.serialized().utf8))
        return body + "." + mac(body)
    }

    /// Why a submitted token is refused, in the order Venice's error reference lists the JWT cases.
    enum Refusal: Error, Equatable {
        case malformed, badSignature, badClaims, expired

        /// Venice's `error` text (generating-api-key-agent.mdx, "Error reference").
        var message: String {
            switch self {
            case .malformed: "JWT is malformed"
            case .badSignature: "JWT signature is invalid"
            case .badClaims: "JWT claims are invalid"
            case .expired: "JWT has expired"
            }
        }
    }

    /// Checks shape, MAC, issuer/audience, then expiry.
    func check(_ token: String, nowMilliseconds: Int64) -> Refusal? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty,
              let headerBytes = Self.fromBase64URL(String(parts[0])), (try? JSONValue(parsing: headerBytes))?.objectValue != nil,
              let claimsBytes = Self.fromBase64URL(String(parts[1])), let claims = try? JSONValue(parsing: claimsBytes),
              claims.objectValue != nil, Self.fromBase64URL(String(parts[2])) != nil else {
            return .malformed
        }
        let expected = Array(mac(String(parts[0] + "." + parts[1])).utf8)
        let given = Array(parts[2].utf8)
        guard expected.count == given.count, zip(expected, given).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return .badSignature }
        guard claims["iss"]?.stringValue == Self.issuer, claims["aud"]?.stringValue == Self.audience else { return .badClaims }
        guard let exp = claims["exp"]?.intValue else { return .badClaims }
        return Int64(exp) * 1000 > nowMilliseconds ? nil : .expired
    }
}
