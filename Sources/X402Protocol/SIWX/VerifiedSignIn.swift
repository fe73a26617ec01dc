public import WalletCrypto

/// A SIWX proof that passed checks 1–15; hand it to `SiwxReplayGuard.consume` for check 16.
public struct VerifiedSignIn: Sendable, Hashable {
    public let address: EthereumAddress
    public let message: SiweMessage
    /// The signed text (as sent, or rebuilt from the structured form).
    public let text: String
    public var nonce: String { message.nonce }
    /// min(issuedAt + max age, expirationTime): after this the proof is refused anyway.
    public let expiresAtMilliseconds: Int64
}
