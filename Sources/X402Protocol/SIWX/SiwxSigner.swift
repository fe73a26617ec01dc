public import WalletCrypto

/// Produces one fresh `SIGN-IN-WITH-X` header per call (new nonce, skew-corrected `Issued At`,
/// `Expiration Time` = issued + TTL). Safe to call from many tasks at once: the only shared
/// state is the nonce source (a `Mutex`) and the signer.
public final class SiwxSigner: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var domain: String
        public var uri: String
        public var statement: String?
        public var chainId: UInt64
        /// Lifetime in seconds, 1…300 (Venice refuses proofs older than 5 min).
        public var ttlSeconds: Int64
        /// Also send the legacy `timestamp` (Unix ms of `Issued At`).
        public var includeLegacyTimestamp: Bool

        public init(
            domain: String = "api.venice.ai", uri: String = "https://api.venice.ai",
            statement: String? = "Sign in to Venice AI", chainId: UInt64 = 8453, ttlSeconds: Int64 = 240,
            includeLegacyTimestamp: Bool = false
        ) {
            self.domain = domain
            self.uri = uri
            self.statement = statement
            self.chainId = chainId
            self.ttlSeconds = ttlSeconds
            self.includeLegacyTimestamp = includeLegacyTimestamp
        }
    }

    public static let maximumTTLSeconds: Int64 = 300

    public let configuration: Configuration
    public let address: EthereumAddress
    private let signer: any PersonalSigner
    private let clock: any WallClock
    private let nonces: NonceSource
    private let checksummedAddress: String

    /// - Parameters:
    ///   - clock: normally a `SkewClock`; its time is used as `Issued At` as is.
    public init(
        signer: any PersonalSigner, clock: any WallClock, nonces: NonceSource = NonceSource(),
        configuration: Configuration = .init()
    ) throws(X402Error) {
        guard configuration.ttlSeconds >= 1, configuration.ttlSeconds <= Self.maximumTTLSeconds else {
            throw .ttlOutOfRange(seconds: configuration.ttlSeconds)
        }
        // Validate the constant fields once, so the hot path can skip it.
        _ = try SiweMessage(
            domain: configuration.domain, address: signer.address, statement: configuration.statement,
            uri: configuration.uri, chainId: configuration.chainId, nonce: "00000000",
            issuedAt: SiweTimestamp(milliseconds: 0))
        self.configuration = configuration
        self.signer = signer
        self.clock = clock
        self.nonces = nonces
        self.address = signer.address
        self.checksummedAddress = signer.address.checksummed
    }

    /// One fresh proof; `.headerValue` goes into the `SIGN-IN-WITH-X` header.
    public func makeHeader() throws(X402Error) -> SiwxHeader {
        try makeSignedMessage().header
    }

    /// The message and its header (for logging the nonce, or tests).
    public func makeSignedMessage() throws(X402Error) -> (message: SiweMessage, header: SiwxHeader) {
        let now = clock.nowMilliseconds()
        let issuedAt = SiweTimestamp(milliseconds: now)
        let expiration = SiweTimestamp(milliseconds: now + configuration.ttlSeconds * 1000)
        let message = SiweMessage(
            uncheckedDomain: configuration.domain, address: address, statement: configuration.statement,
            uri: configuration.uri, chainId: configuration.chainId, nonce: nonces.next(),
            issuedAt: issuedAt, expirationTime: expiration)
        let text = message.render(checksummedAddress: checksummedAddress)
        let signature = try signer.signPersonalMessage(Array(text.utf8))
        let header = SiwxHeader(
            address: address, message: text, signature: signature, chainId: configuration.chainId,
            timestamp: configuration.includeLegacyTimestamp ? now : nil)
        return (message, header)
    }

    /// Just the header value string, with the address rendered from the cached checksum.
    public func makeHeaderValue() throws(X402Error) -> String {
        let header = try makeHeader()
        return Base64.encode(header.jsonBytes(checksummedAddress: checksummedAddress))
    }
}
