/// A secp256k1 private key held in `SecretBytes` (mlocked, zeroed on release). It never
/// prints: `description`, `debugDescription`, `dump` and interpolation show only the address.
public struct PrivateKey: Sendable {
    private let secret: SecretBytes
    public let publicKey: PublicKey

    /// Takes a copy of 32 bytes; rejects 0 and anything >= n.
    public init(bytes: UnsafeRawBufferPointer) throws(WalletCryptoError) {
        try self.init(secret: SecretBytes(copying: bytes))
    }

    public init(secret: SecretBytes) throws(WalletCryptoError) {
        guard secret.count == 32 else {
            throw .invalidLength(what: "a private key", expected: "32", actual: secret.count)
        }
        let point = secret.withUnsafeBytes { raw -> [UInt8]? in
            guard Secp256k1.verifySecretKey(raw) else { return nil }
            return Secp256k1.publicKey(secret: raw)
        }
        guard let point else { throw .invalidPrivateKey }
        self.secret = secret
        self.publicKey = PublicKey(validatedUncompressed: point)
    }

    /// A fresh key from OpenSSL's CSPRNG (retrying the ~2^-128 chance of an invalid scalar).
    public static func generate() -> PrivateKey {
        while true {
            let candidate = SecretBytes(count: 32)
            candidate.withUnsafeMutableBytes { SecureRandom.fill($0) }
            if let key = try? PrivateKey(secret: candidate) { return key }
        }
    }

    public var address: EthereumAddress { publicKey.address }

    /// Raw ECDSA over a 32-byte digest: RFC 6979 nonce, low-s, v = 27/28.
    public func sign(digest: [UInt8]) throws(WalletCryptoError) -> Signature {
        guard digest.count == 32 else {
            throw .invalidLength(what: "a digest", expected: "32", actual: digest.count)
        }
        return digest.withUnsafeBytes { signValidated(digest: $0) }
    }

    func signValidated(digest: UnsafeRawBufferPointer) -> Signature {
        let result = secret.withUnsafeBytes { Secp256k1.signRecoverable(digest: digest, secret: $0) }
        // Signing a 32-byte digest with a validated key cannot fail in libsecp256k1.
        guard let result else { preconditionFailure("secp256k1_ecdsa_sign_recoverable failed on a validated key: library bug") }
        return Signature(compact: result.rs, recoveryId: result.recid)
    }

    /// EIP-191 `personal_sign` (version 0x45) of arbitrary bytes.
    public func signPersonalMessage(_ message: [UInt8]) -> Signature {
        EIP191.personalMessageDigest(message).withUnsafeBytes { signValidated(digest: $0) }
    }

    /// EIP-712 signature of typed data.
    public func signTypedData(_ typedData: TypedData) throws(WalletCryptoError) -> Signature {
        try sign(digest: typedData.digest())
    }

    /// Lends the 32 secret bytes to `body` (keystore encryption, key derivation). Do not copy them out.
    public func withUnsafeSecretBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try secret.withUnsafeBytes(body)
    }

    /// Zeroes the secret now; the key must not be used afterwards.
    public func zeroize() { secret.zeroize() }
}

extension PrivateKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "PrivateKey(redacted, address: \(address))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["address": address.checksummed]) }
}
