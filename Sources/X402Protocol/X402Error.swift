public import WalletCrypto

/// Every failure of the x402 / SIWE layer. Cases carry data, never secrets; `code` is stable
/// (JSON error codes, metric labels) and `description` says what to do next.
public enum X402Error: Error, Sendable, Equatable, CustomStringConvertible {
    // SIWE grammar (EIP-4361) and field rules.
    case siweInvalidScheme(String)
    case siweInvalidDomain(String)
    case siweInvalidAddress(String)
    case siweAddressNotChecksummed(String)
    case siweInvalidStatement(String)
    case siweInvalidURI(field: String, value: String)
    case siweInvalidVersion(String)
    case siweInvalidChainId(String)
    case siweInvalidNonce(String)
    case siweInvalidTimestamp(field: String, value: String)
    case siweInvalidRequestId(String)
    case siweUnexpectedLine(line: Int, expected: String, found: String)
    case siweMissingLine(String)

    // SIWE validation against expectations and a clock (times in Unix milliseconds).
    case siweExpired(atMilliseconds: Int64, nowMilliseconds: Int64)
    case siweNotYetValid(untilMilliseconds: Int64, nowMilliseconds: Int64)
    case siweChainMismatch(expected: UInt64, actual: UInt64)
    case siweDomainNotAllowed(String)
    case siweNonceMismatch(expected: String, actual: String)
    case siweSignerMismatch(expected: String, recovered: String)

    /// A SIGN-IN-WITH-X header failed one of Venice's checks (VENICE.md §2.3).
    case signIn(SignInFailure, detail: String)
    /// A SIWX signer was configured with a lifetime Venice would refuse.
    case ttlOutOfRange(seconds: Int64)
    /// The signing capability refused or failed (e.g. the key session is locked).
    case signerUnavailable(String)
    /// The key session is locked: nothing can be signed until it is unlocked.
    case signerLocked

    // x402 decoding.
    case invalidPaymentRequired(String)
    case invalidPaymentPayload(String)
    case invalidSettlementResponse(String)
    case invalidAmount(String)
    case invalidUpstream(String)
    /// The payment policy refused to pay this requirement.
    case paymentRefused(PaymentRefusal, detail: String)

    /// A lower-level crypto failure (bad signature bytes, recovery failed, …).
    case crypto(WalletCryptoError)

    public var code: String {
        switch self {
        case .siweInvalidScheme: "siwe_invalid_scheme"
        case .siweInvalidDomain: "siwe_invalid_domain"
        case .siweInvalidAddress: "siwe_invalid_address"
        case .siweAddressNotChecksummed: "siwe_address_not_checksummed"
        case .siweInvalidStatement: "siwe_invalid_statement"
        case .siweInvalidURI: "siwe_invalid_uri"
        case .siweInvalidVersion: "siwe_invalid_version"
        case .siweInvalidChainId: "siwe_invalid_chain_id"
        case .siweInvalidNonce: "siwe_invalid_nonce"
        case .siweInvalidTimestamp: "siwe_invalid_timestamp"
        case .siweInvalidRequestId: "siwe_invalid_request_id"
        case .siweUnexpectedLine: "siwe_unexpected_line"
        case .siweMissingLine: "siwe_missing_line"
        case .siweExpired: "siwe_expired"
        case .siweNotYetValid: "siwe_not_yet_valid"
        case .siweChainMismatch: "siwe_chain_mismatch"
        case .siweDomainNotAllowed: "siwe_domain_not_allowed"
        case .siweNonceMismatch: "siwe_nonce_mismatch"
        case .siweSignerMismatch: "siwe_signer_mismatch"
        case .signIn(let failure, _): failure.code
        case .ttlOutOfRange: "siwx_ttl_out_of_range"
        case .signerUnavailable: "signer_unavailable"
        case .signerLocked: "signer_locked"
        case .invalidPaymentRequired: "invalid_payment_required"
        case .invalidPaymentPayload: "invalid_payment_payload"
        case .invalidSettlementResponse: "invalid_settlement_response"
        case .invalidAmount: "invalid_amount"
        case .invalidUpstream: "invalid_upstream"
        case .paymentRefused(let refusal, _): refusal.code
        case .crypto(let error): "crypto_" + error.code
        }
    }

    public var description: String {
        switch self {
        case .siweInvalidScheme(let s): "SIWE scheme \(Self.quote(s)) is not an RFC 3986 scheme; use e.g. https or omit it"
        case .siweInvalidDomain(let d): "SIWE domain \(Self.quote(d)) is not an RFC 3986 authority (host[:port], no scheme or path); fix the first line"
        case .siweInvalidAddress(let a): "SIWE address \(Self.quote(a)) is not 0x + 40 hex digits; use the signer's EIP-55 address"
        case .siweAddressNotChecksummed(let a): "SIWE address \(Self.quote(a)) is not EIP-55 checksummed; render it with its checksum"
        case .siweInvalidStatement(let s): "SIWE statement \(Self.quote(s)) must be one line of RFC 3986 reserved/unreserved ASCII characters and spaces; rephrase it"
        case .siweInvalidURI(let field, let value): "SIWE \(field) \(Self.quote(value)) is not an RFC 3986 URI; fix it"
        case .siweInvalidVersion(let v): "SIWE version \(Self.quote(v)) is unsupported; only \"1\" exists"
        case .siweInvalidChainId(let c): "SIWE chain id \(Self.quote(c)) is not a decimal EIP-155 id without leading zeros; fix it"
        case .siweInvalidNonce(let n): "SIWE nonce \(Self.quote(n)) must be at least 8 ASCII letters or digits; draw a new one"
        case .siweInvalidTimestamp(let field, let value): "SIWE \(field) \(Self.quote(value)) is not an RFC 3339 date-time (e.g. 2025-01-01T00:00:00.000Z); fix it"
        case .siweInvalidRequestId(let r): "SIWE request id \(Self.quote(r)) has characters outside RFC 3986 pchar; percent-encode them"
        case .siweUnexpectedLine(let line, let expected, let found): "SIWE line \(line) is \(Self.quote(found)) where \(expected) was expected; the message is malformed or misordered"
        case .siweMissingLine(let what): "SIWE message ends before the \(what) line; send the complete message"
        case .siweExpired(let at, let now): "SIWE message expired at \(at) ms (now \(now) ms); sign a fresh one"
        case .siweNotYetValid(let until, let now): "SIWE message is not valid before \(until) ms (now \(now) ms); wait or fix the clock"
        case .siweChainMismatch(let expected, let actual): "SIWE chain id \(actual) is not the expected \(expected); sign for the right chain"
        case .siweDomainNotAllowed(let d): "SIWE domain \(Self.quote(d)) is not on the allow-list; sign for an allowed domain"
        case .siweNonceMismatch(let expected, let actual): "SIWE nonce \(Self.quote(actual)) is not the issued \(Self.quote(expected)); use the server's nonce"
        case .siweSignerMismatch(let expected, let recovered): "signature recovers to \(recovered), not \(expected); sign with the message's address"
        case .signIn(let failure, let detail): "\(failure.code): \(detail); \(failure.advice)"
        case .ttlOutOfRange(let s): "SIWX lifetime \(s) s is outside 1…300 s (Venice rejects proofs older than 5 min); use the default 240 s"
        case .signerUnavailable(let why): "the signing key is unavailable (\(why)); unlock the agent and retry"
        case .signerLocked: "the agent is locked; unlock it with `venice-agent unlock`"
        case .invalidPaymentRequired(let why): "x402 PaymentRequired is malformed (\(why)); the upstream answer cannot be paid"
        case .invalidPaymentPayload(let why): "x402 payment payload is malformed (\(why)); send a PAYMENT-SIGNATURE built from the chosen requirement"
        case .invalidSettlementResponse(let why): "x402 PAYMENT-RESPONSE is malformed (\(why)); check the balance before paying again"
        case .invalidAmount(let why): "amount is not a non-negative decimal integer below 2^256 (\(why)); use USDC atomic units"
        case .invalidUpstream(let why): "upstream origin is invalid (\(why)); configure scheme://host[:port]"
        case .paymentRefused(let refusal, let detail): "payment refused [\(refusal.code)]: \(detail)"
        case .crypto(let error): error.description
        }
    }

    static func quote(_ s: String) -> String {
        let limited = s.count > 120 ? String(s.prefix(120)) + "…" : s
        var out = "\""
        for scalar in limited.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\"": out += "\\\""
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
