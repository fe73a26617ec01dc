public import WalletCrypto

/// Signs EIP-3009 `TransferWithAuthorization`s for approved payments and wraps them as x402
/// payloads: random 32-byte nonce, `validAfter` = now − 600 s, `validBefore` = now +
/// `maxTimeoutSeconds`, `accepted` = the chosen entry verbatim (amount = signed value).
public struct Eip3009Authorizer: Sendable {
    public static let validAfterBackdateSeconds: Int64 = 600

    private let signer: any TypedDataSigner
    private let clock: any WallClock
    private let random: @Sendable (Int) -> [UInt8]

    public init(signer: any TypedDataSigner, clock: any WallClock, random: @escaping @Sendable (Int) -> [UInt8] = { SecureRandom.bytes(count: $0) }) {
        self.signer = signer
        self.clock = clock
        self.random = random
    }

    /// One signed payment for an approved requirement (v2 payload, or v1 for v1 requirements).
    public func authorize(_ approved: ApprovedPayment) throws(X402Error) -> PaymentPayload {
        let now = clock.nowMilliseconds() / 1000
        let nonce = Array(random(32).prefix(32))
        guard nonce.count == 32 else { throw .signerUnavailable("random source returned \(nonce.count) bytes") }
        let authorization = try TransferAuthorization(
            from: signer.address, to: approved.payTo, value: UInt256(approved.amount),
            validAfter: UInt256(UInt64(max(0, now - Self.validAfterBackdateSeconds))),
            validBefore: UInt256(UInt64(max(0, now + approved.requirement.maxTimeoutSeconds))),
            nonce: nonce)
        return try sign(authorization, domain: approved.domain, requirement: approved.requirement,
                        accepted: approved.accepted, resource: approved.resource)
    }

    /// Signs a given authorization (fixed nonce/times: vectors, tests) into a payload of the
    /// requirement's version.
    public func sign(
        _ authorization: TransferAuthorization, domain: Eip3009Domain, requirement: PaymentRequirements,
        accepted: JSONValue? = nil, resource: JSONValue? = nil
    ) throws(X402Error) -> PaymentPayload {
        guard authorization.from == signer.address else {
            throw .invalidPaymentPayload("authorization.from \(authorization.from) is not the signer \(signer.address)")
        }
        let signature = try signer.signTypedDataDigest(authorization.digest(domain: domain))
        if requirement.x402Version == 1 {
            return PaymentPayload(x402Version: 1, authorization: authorization, signature: signature, accepted: nil,
                                  scheme: requirement.scheme, network: requirement.network)
        }
        return PaymentPayload(x402Version: 2, authorization: authorization, signature: signature,
                              accepted: accepted ?? requirement.raw, resource: resource)
    }
}
