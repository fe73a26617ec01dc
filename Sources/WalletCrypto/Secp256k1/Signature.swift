/// A 65-byte recoverable ECDSA signature `r || s || v`, v = 27 + recovery id.
public struct Signature: Sendable, Hashable {
    public let r: [UInt8]
    public let s: [UInt8]
    /// 27 or 28.
    public let v: UInt8

    /// Parses 65 bytes. `v` may be 27/28 or 0/1 (normalised to 27/28); r and s must lie in
    /// [1, n-1]. A high-s signature parses (so it can be shown and reported) but never recovers.
    public init(bytes: [UInt8]) throws(WalletCryptoError) {
        guard bytes.count == 65 else {
            throw .invalidLength(what: "a signature", expected: "65", actual: bytes.count)
        }
        let r = Array(bytes[0..<32]), s = Array(bytes[32..<64])
        let rawV = bytes[64]
        let v: UInt8
        switch rawV {
        case 27, 28: v = rawV
        case 0, 1: v = rawV + 27
        default: throw .invalidRecoveryId(rawV)
        }
        guard !Secp256k1.isZero(r), Secp256k1.compare(r, Secp256k1.orderN) < 0 else {
            throw .invalidSignature("r is not in [1, n-1]")
        }
        guard !Secp256k1.isZero(s), Secp256k1.compare(s, Secp256k1.orderN) < 0 else {
            throw .invalidSignature("s is not in [1, n-1]")
        }
        self.r = r
        self.s = s
        self.v = v
    }

    public init(hex: String) throws(WalletCryptoError) {
        try self.init(bytes: Hex.decode(hex))
    }

    init(compact rs: [UInt8], recoveryId: Int32) {
        r = Array(rs[0..<32])
        s = Array(rs[32..<64])
        v = UInt8(27 + recoveryId)
    }

    public var recoveryId: Int32 { Int32(v) - 27 }

    public var bytes: [UInt8] { r + s + [v] }

    /// `0x` + 130 lowercase hex digits.
    public var hex: String { Hex.encode(bytes, prefix: true) }

    /// s <= n/2, the only form Ethereum contracts (USDC's ECRecover among them) accept.
    public var isLowS: Bool { Secp256k1.compare(s, Secp256k1.halfOrder) <= 0 }

    /// Recovers the signer's public key from a 32-byte digest. Rejects high-s.
    public func recoverPublicKey(digest: [UInt8]) throws(WalletCryptoError) -> PublicKey {
        guard digest.count == 32 else {
            throw .invalidLength(what: "a digest", expected: "32", actual: digest.count)
        }
        guard isLowS else { throw .highS }
        guard let point = Secp256k1.recover(digest: digest, rs: r + s, recid: recoveryId) else {
            throw .recoveryFailed
        }
        return PublicKey(validatedUncompressed: point)
    }

    public func recoverAddress(digest: [UInt8]) throws(WalletCryptoError) -> EthereumAddress {
        try recoverPublicKey(digest: digest).address
    }

    /// True when this signature over `digest` recovers to `address`.
    public func verify(digest: [UInt8], signer address: EthereumAddress) -> Bool {
        (try? recoverAddress(digest: digest)) == address
    }
}

extension Signature: CustomStringConvertible {
    public var description: String { hex }
}
