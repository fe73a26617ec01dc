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
        /// Also send `timestamp` (Unix ms of `Issued At`), as Venice's x402 guide and SDK do.
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
    /// Constant message bytes up to and including `Nonce: ` (hot path).
    private let messagePrefix: [UInt8]
    /// `{"address":"…","message":"` + JSON-escaped `messagePrefix` (hot path).
    private let jsonPrefix: [UInt8]

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
        // Everything before the nonce is the same in every message: render it once.
        let template = SiweMessage(
            uncheckedDomain: configuration.domain, address: signer.address, statement: configuration.statement,
            uri: configuration.uri, chainId: configuration.chainId, nonce: "", issuedAt: SiweTimestamp(milliseconds: 0),
            expirationTime: nil).render(checksummedAddress: checksummedAddress)
        let cut = template.utf8.count - "\nIssued At: ".utf8.count - 24
        self.messagePrefix = Array(template.utf8.prefix(cut))
        var w = JSONWriter(capacity: 512)
        w.raw("{")
        w.key("address", first: true); w.string(checksummedAddress)
        w.key("message")
        w.string(String(decoding: messagePrefix, as: UTF8.self))
        w.bytes.removeLast()   // reopen the string: the dynamic tail follows
        self.jsonPrefix = w.bytes
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

    /// Just the header value (the hot path: constant parts pre-rendered, no intermediate
    /// values). Byte-identical to `makeHeader().headerValue` for the same nonce and time.
    public func makeHeaderValue() throws(X402Error) -> String {
        let now = clock.nowMilliseconds()
        // The variable tail: nonce and the two timestamps (no character needs JSON escaping but LF).
        var tail = [UInt8]()
        tail.reserveCapacity(96)
        tail.append(contentsOf: nonces.next().utf8)
        tail.append(contentsOf: "\nIssued At: ".utf8)
        tail.append(contentsOf: SiweTimestamp.render(now).utf8)
        tail.append(contentsOf: "\nExpiration Time: ".utf8)
        tail.append(contentsOf: SiweTimestamp.render(now + configuration.ttlSeconds * 1000).utf8)
        var message = messagePrefix
        message.append(contentsOf: tail)
        let signature = try signer.signPersonalMessage(message)
        var json = jsonPrefix
        json.reserveCapacity(jsonPrefix.count + tail.count + 200)
        for byte in tail {
            if byte == 10 { json.append(92); json.append(110) } else { json.append(byte) }
        }
        json.append(contentsOf: "\",\"signature\":\"".utf8)
        json.append(contentsOf: signature.hex.utf8)
        json.append(contentsOf: "\"".utf8)
        if configuration.includeLegacyTimestamp {
            json.append(contentsOf: ",\"timestamp\":".utf8)
            json.append(contentsOf: String(now).utf8)
        }
        json.append(contentsOf: ",\"chainId\":".utf8)
        json.append(contentsOf: String(configuration.chainId).utf8)
        json.append(125)
        return Base64.encode(json)
    }
}
