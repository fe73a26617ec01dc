/// Every failure of the crypto core. Cases carry data, never secrets; `code` is stable
/// (JSON error codes, metric labels) and `description` says what to do next.
public enum WalletCryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidHex(String)
    case invalidLength(what: String, expected: String, actual: Int)
    case invalidPrivateKey
    case invalidPublicKey
    case invalidSignature(String)
    case highS
    case invalidRecoveryId(UInt8)
    case recoveryFailed
    case invalidAddress(String)
    case badChecksum(String)
    case invalidJSON(String)
    case typedData(String)
    case wrongPasswordOrCorrupted
    case unsupportedKeystore(String)
    case invalidKeystore(String)
    case scryptParameters(String)
    case file(path: String, reason: String)
    case cryptoFailure(String)

    public var code: String {
        switch self {
        case .invalidHex: "invalid_hex"
        case .invalidLength: "invalid_length"
        case .invalidPrivateKey: "invalid_private_key"
        case .invalidPublicKey: "invalid_public_key"
        case .invalidSignature: "invalid_signature"
        case .highS: "high_s_signature"
        case .invalidRecoveryId: "invalid_recovery_id"
        case .recoveryFailed: "recovery_failed"
        case .invalidAddress: "invalid_address"
        case .badChecksum: "bad_checksum"
        case .invalidJSON: "invalid_json"
        case .typedData: "invalid_typed_data"
        case .wrongPasswordOrCorrupted: "wrong_password"
        case .unsupportedKeystore: "unsupported_keystore"
        case .invalidKeystore: "invalid_keystore"
        case .scryptParameters: "invalid_scrypt_parameters"
        case .file: "file_error"
        case .cryptoFailure: "crypto_failure"
        }
    }

    public var description: String {
        switch self {
        case .invalidHex(let what):
            "invalid hex: \(what); expected an even number of hex digits, optionally prefixed with 0x"
        case .invalidLength(let what, let expected, let actual):
            "\(what) must be \(expected) bytes, got \(actual)"
        case .invalidPrivateKey:
            "invalid private key: it must be 32 bytes encoding an integer k with 0 < k < n (secp256k1 order)"
        case .invalidPublicKey:
            "invalid public key: not a point on secp256k1 (expected 33, 64 or 65 bytes)"
        case .invalidSignature(let reason):
            "invalid signature: \(reason); expected 65 bytes r||s||v with v in {27, 28}"
        case .highS:
            "signature rejected: s is in the upper half of the curve order (malleable high-s form); re-sign with a low-s signer"
        case .invalidRecoveryId(let v):
            "invalid signature: v = \(v); expected 27 or 28 (or 0/1)"
        case .recoveryFailed:
            "could not recover a public key from this signature and digest"
        case .invalidAddress(let reason):
            "invalid Ethereum address: \(reason); expected 0x followed by 40 hex digits"
        case .badChecksum(let address):
            "address \(address) has mixed case but an invalid EIP-55 checksum; check for a typo or pass it all lowercase"
        case .invalidJSON(let reason):
            "invalid JSON: \(reason)"
        case .typedData(let reason):
            "invalid EIP-712 typed data: \(reason)"
        case .wrongPasswordOrCorrupted:
            "wrong password or corrupted keystore (MAC mismatch)"
        case .unsupportedKeystore(let reason):
            "unsupported keystore: \(reason); supported are version 3 files with aes-128-ctr and scrypt or pbkdf2 (hmac-sha256)"
        case .invalidKeystore(let reason):
            "invalid keystore file: \(reason)"
        case .scryptParameters(let reason):
            "invalid scrypt parameters: \(reason)"
        case .file(let path, let reason):
            "\(path): \(reason)"
        case .cryptoFailure(let what):
            "cryptographic library failure: \(what)"
        }
    }
}
