public import WalletCrypto

/// An EIP-4361 (Sign-In with Ethereum) message: build from fields, render byte-exactly,
/// parse strictly, validate against a clock and expectations, recover its signer.
public struct SiweMessage: Sendable, Hashable {
    public var scheme: String?
    public var domain: String
    public var address: EthereumAddress
    public var statement: String?
    public var uri: String
    public var version: String
    public var chainId: UInt64
    public var nonce: String
    public var issuedAt: SiweTimestamp
    public var expirationTime: SiweTimestamp?
    public var notBefore: SiweTimestamp?
    /// `nil` = no line; `""` = an empty `Request ID: ` line.
    public var requestId: String?
    /// `nil` = no `Resources:` line; `[]` = the line with no entries.
    public var resources: [String]?

    static let headerSuffix = " wants you to sign in with your Ethereum account:"

    /// Builds a message, checking every field against the EIP-4361 grammar.
    public init(
        scheme: String? = nil, domain: String, address: EthereumAddress, statement: String?,
        uri: String, version: String = "1", chainId: UInt64, nonce: String, issuedAt: SiweTimestamp,
        expirationTime: SiweTimestamp? = nil, notBefore: SiweTimestamp? = nil,
        requestId: String? = nil, resources: [String]? = nil
    ) throws(X402Error) {
        self.scheme = scheme
        self.domain = domain
        self.address = address
        self.statement = statement
        self.uri = uri
        self.version = version
        self.chainId = chainId
        self.nonce = nonce
        self.issuedAt = issuedAt
        self.expirationTime = expirationTime
        self.notBefore = notBefore
        self.requestId = requestId
        self.resources = resources
        try checkFields()
    }

    /// Unchecked memberwise init for callers that have validated the pieces (the signer's hot path).
    init(
        uncheckedDomain domain: String, address: EthereumAddress, statement: String?, uri: String,
        chainId: UInt64, nonce: String, issuedAt: SiweTimestamp, expirationTime: SiweTimestamp?
    ) {
        self.scheme = nil
        self.domain = domain
        self.address = address
        self.statement = statement
        self.uri = uri
        self.version = "1"
        self.chainId = chainId
        self.nonce = nonce
        self.issuedAt = issuedAt
        self.expirationTime = expirationTime
        self.notBefore = nil
        self.requestId = nil
        self.resources = nil
    }

    func checkFields() throws(X402Error) {
        if let scheme, !RFC3986.isScheme(Array(scheme.utf8)[...]) { throw .siweInvalidScheme(scheme) }
        try Self.checkDomain(domain)
        try Self.checkStatement(statement)
        guard RFC3986.isURI(uri) else { throw .siweInvalidURI(field: "URI", value: uri) }
        guard version == "1" else { throw .siweInvalidVersion(version) }
        try Self.checkNonce(nonce)
        if let requestId {
            guard RFC3986.isValid(Array(requestId.utf8)[...], allowed: RFC3986.isPchar) else {
                throw .siweInvalidRequestId(requestId)
            }
        }
        for resource in resources ?? [] where !RFC3986.isURI(resource) {
            throw .siweInvalidURI(field: "resource", value: resource)
        }
        // Timestamps are validated by SiweTimestamp itself; re-check text built elsewhere.
        for (field, ts) in [("Issued At", issuedAt), ("Expiration Time", expirationTime), ("Not Before", notBefore)] {
            if let ts, SiweTimestamp.parseMilliseconds(Array(ts.text.utf8)) == nil {
                throw .siweInvalidTimestamp(field: field, value: ts.text)
            }
        }
    }

    static func checkDomain(_ domain: String) throws(X402Error) {
        let b = Array(domain.utf8)
        guard !b.isEmpty, RFC3986.isAuthority(b[...]) else { throw .siweInvalidDomain(domain) }
        // The host part must not be empty ("user@", ":80").
        var host = b[...]
        if let at = host.lastIndex(of: 64) { host = host[(at + 1)...] }
        if host.first != 91, let colon = host.lastIndex(of: 58) { host = host[host.startIndex..<colon] }
        guard !host.isEmpty else { throw .siweInvalidDomain(domain) }
    }

    /// `statement = *( reserved / unreserved / " " )`: ASCII only, one line. Empty is refused
    /// (it renders like "no statement" plus a blank line, which no library round-trips).
    static func checkStatement(_ statement: String?) throws(X402Error) {
        guard let statement else { return }
        guard !statement.isEmpty,
              statement.utf8.allSatisfy({ RFC3986.isReserved($0) || RFC3986.isUnreserved($0) || $0 == 32 })
        else { throw .siweInvalidStatement(statement) }
    }

    static func checkNonce(_ nonce: String) throws(X402Error) {
        guard nonce.utf8.count >= 8, nonce.utf8.allSatisfy({ RFC3986.isAlpha($0) || RFC3986.isDigit($0) }) else {
            throw .siweInvalidNonce(nonce)
        }
    }

    // MARK: Rendering

    /// The exact text to sign: LF-separated, no trailing newline, EIP-55 address.
    public var text: String { render(checksummedAddress: address.checksummed) }

    /// Renders with a pre-computed checksummed address (saves a Keccak on hot paths).
    func render(checksummedAddress: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(320 + (statement?.utf8.count ?? 0) + (resources?.reduce(0) { $0 + $1.utf8.count + 3 } ?? 0))
        func line(_ parts: String...) {
            for p in parts { out.append(contentsOf: p.utf8) }
        }
        if let scheme { line(scheme, "://") }
        line(domain, Self.headerSuffix, "\n", checksummedAddress, "\n\n")
        if let statement { line(statement, "\n") }
        line("\nURI: ", uri, "\nVersion: ", version, "\nChain ID: ", String(chainId), "\nNonce: ", nonce,
             "\nIssued At: ", issuedAt.text)
        if let expirationTime { line("\nExpiration Time: ", expirationTime.text) }
        if let notBefore { line("\nNot Before: ", notBefore.text) }
        if let requestId { line("\nRequest ID: ", requestId) }
        if let resources {
            line("\nResources:")
            for r in resources { line("\n- ", r) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Validation

    /// Checks time bounds (`now < expiration`, `now >= notBefore`) and the expectations.
    public func validate(nowMilliseconds now: Int64, expectations: SiweExpectations = .init()) throws(X402Error) {
        if let allowed = expectations.allowedDomains, !allowed.contains(domain.lowercased()) {
            throw .siweDomainNotAllowed(domain)
        }
        if let chain = expectations.chainId, chain != chainId { throw .siweChainMismatch(expected: chain, actual: chainId) }
        if let expected = expectations.nonce, expected != nonce { throw .siweNonceMismatch(expected: expected, actual: nonce) }
        if let expirationTime, now >= expirationTime.milliseconds {
            throw .siweExpired(atMilliseconds: expirationTime.milliseconds, nowMilliseconds: now)
        }
        if let notBefore, now < notBefore.milliseconds {
            throw .siweNotYetValid(untilMilliseconds: notBefore.milliseconds, nowMilliseconds: now)
        }
    }

    /// EIP-191 signer of `text` under `signature`.
    public func recoverSigner(signature: Signature) throws(X402Error) -> EthereumAddress {
        do {
            return try EIP191.recoverSigner(message: Array(text.utf8), signature: signature)
        } catch {
            throw .crypto(error)
        }
    }

    /// Recovers and compares with `address`.
    public func verify(signature: Signature) throws(X402Error) {
        let signer = try recoverSigner(signature: signature)
        guard signer == address else {
            throw .siweSignerMismatch(expected: address.checksummed, recovered: signer.checksummed)
        }
    }
}

/// What a verifier expects of a SIWE message (all optional).
public struct SiweExpectations: Sendable, Hashable {
    /// Lower-case authorities that may appear as `domain`.
    public var allowedDomains: Set<String>?
    public var chainId: UInt64?
    public var nonce: String?

    public init(allowedDomains: Set<String>? = nil, chainId: UInt64? = nil, nonce: String? = nil) {
        self.allowedDomains = allowedDomains.map { Set($0.map { $0.lowercased() }) }
        self.chainId = chainId
        self.nonce = nonce
    }
}
