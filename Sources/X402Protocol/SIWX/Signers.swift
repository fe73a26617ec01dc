public import WalletCrypto

/// A capability that signs EIP-191 `personal_sign` messages for one address. The agent's key
/// session implements it; `PrivateKey` conforms for tests and tools. Nothing here sees key bytes.
public protocol PersonalSigner: Sendable {
    var address: EthereumAddress { get }
    func signPersonalMessage(_ message: [UInt8]) throws(X402Error) -> Signature
}

/// A capability that signs a finished EIP-712 digest (`keccak(0x1901 ‖ domain ‖ struct)`).
public protocol TypedDataSigner: Sendable {
    var address: EthereumAddress { get }
    func signTypedDataDigest(_ digest: [UInt8]) throws(X402Error) -> Signature
}

/// `PrivateKey.signPersonalMessage(_:)` (non-throwing) satisfies `PersonalSigner` as is.
extension PrivateKey: PersonalSigner, TypedDataSigner {
    public func signTypedDataDigest(_ digest: [UInt8]) throws(X402Error) -> Signature {
        do {
            return try sign(digest: digest)
        } catch {
            throw .crypto(error)
        }
    }
}
