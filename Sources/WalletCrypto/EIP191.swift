/// EIP-191 version 0x45 (`personal_sign`): keccak("\x19Ethereum Signed Message:\n" + len + message).
public enum EIP191 {
    static let prefix: [UInt8] = Array("\u{19}Ethereum Signed Message:\n".utf8)

    public static func personalMessageDigest(_ message: [UInt8]) -> [UInt8] {
        var hasher = Keccak256Hasher()
        hasher.update(prefix)
        hasher.update(Array(String(message.count).utf8))
        hasher.update(message)
        return hasher.finalize()
    }

    public static func recoverSigner(message: [UInt8], signature: Signature) throws(WalletCryptoError) -> EthereumAddress {
        try signature.recoverAddress(digest: personalMessageDigest(message))
    }
}
