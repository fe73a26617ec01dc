/// Venice's `X402_SIGN_IN_*` reasons, in the order the checks run (VENICE.md §2.3).
public enum SignInFailure: String, Sendable, CaseIterable, Hashable {
    case parseError = "PARSE_ERROR"
    case invalidPayload = "INVALID_PAYLOAD"
    case invalidWallet = "INVALID_WALLET"
    case invalidChainId = "INVALID_CHAIN_ID"
    case invalidMessage = "INVALID_MESSAGE"
    case addressMismatch = "ADDRESS_MISMATCH"
    case chainMismatch = "CHAIN_MISMATCH"
    case unsupportedChain = "UNSUPPORTED_CHAIN"
    case missingNonce = "MISSING_NONCE"
    case domainMismatch = "DOMAIN_MISMATCH"
    case timestampMismatch = "TIMESTAMP_MISMATCH"
    case futureTimestamp = "FUTURE_TIMESTAMP"
    case expired = "EXPIRED"
    case notBefore = "NOT_BEFORE"
    case invalidSignature = "INVALID_SIGNATURE"
    case nonceReused = "NONCE_REUSED"

    /// The wire code, e.g. `X402_SIGN_IN_EXPIRED`.
    public var code: String { "X402_SIGN_IN_" + rawValue }

    /// Check number in VENICE.md §2.3 (1…16).
    public var checkNumber: Int { (Self.allCases.firstIndex(of: self) ?? 0) + 1 }

    /// Parses a wire code (with or without the `X402_SIGN_IN_` prefix).
    public init?(code: String) {
        let raw = code.hasPrefix("X402_SIGN_IN_") ? String(code.dropFirst("X402_SIGN_IN_".count)) : code
        self.init(rawValue: raw)
    }

    /// True for the two answers that a clock correction can cure (re-sign and retry once).
    public var isClockError: Bool { self == .futureTimestamp || self == .expired }

    var advice: String {
        switch self {
        case .futureTimestamp, .expired: "correct the clock offset from the response Date, re-sign and retry once"
        case .nonceReused: "sign a fresh header (new nonce) for every request"
        case .invalidSignature: "sign the exact message text with the address's key"
        default: "build the header as Venice documents it (VENICE.md §2.1) and stop"
        }
    }
}
