/// A secp256k1 public key (a point on the curve).
public struct PublicKey: Sendable, Hashable {
    /// SEC1 uncompressed form: `04 || X || Y` (65 bytes).
    public let uncompressed: [UInt8]

    /// Accepts 33-byte compressed, 64-byte `X || Y` or 65-byte uncompressed encodings.
    public init(bytes: [UInt8]) throws(WalletCryptoError) {
        guard let point = Secp256k1.parsePublicKey(bytes) else { throw .invalidPublicKey }
        uncompressed = point
    }

    init(validatedUncompressed: [UInt8]) {
        uncompressed = validatedUncompressed
    }

    /// `X || Y`, the 64 bytes Ethereum hashes.
    public var rawXY: [UInt8] { Array(uncompressed[1...]) }

    /// Last 20 bytes of keccak(X || Y).
    public var address: EthereumAddress {
        let hash = uncompressed.withUnsafeBytes { Keccak256.hash(UnsafeRawBufferPointer(rebasing: $0[1...])) }
        return EthereumAddress(validated: Array(hash[12...]))
    }
}
