public import WalletCrypto

/// A `PaymentRequired` together with the upstream it was fetched from. The only way to make one
/// is to name that origin, and `PaymentPolicy` pays only offers whose origin is its configured
/// upstream: a `payTo` can never come from anywhere else (a client, a redirect, a file).
public struct FetchedPaymentRequired: Sendable {
    public let origin: UpstreamOrigin
    public let paymentRequired: PaymentRequired

    /// - Parameters:
    ///   - origin: the origin of the URL the caller itself requested.
    ///   - headerValue: `PAYMENT-REQUIRED`, preferred when present.
    ///   - body: the 402 body (v1 servers, or Venice's top-up discovery body).
    public static func fetched(from origin: UpstreamOrigin, headerValue: String?, body: [UInt8]?) throws(X402Error) -> FetchedPaymentRequired {
        if let headerValue {
            return FetchedPaymentRequired(origin: origin, paymentRequired: try PaymentRequired(headerValue: headerValue))
        }
        guard let body else { throw .invalidPaymentRequired("neither a PAYMENT-REQUIRED header nor a body") }
        return FetchedPaymentRequired(origin: origin, paymentRequired: try PaymentRequired(body: body))
    }

    private init(origin: UpstreamOrigin, paymentRequired: PaymentRequired) {
        self.origin = origin
        self.paymentRequired = paymentRequired
    }
}

/// A requirement the policy accepted, with the amount to sign. Only `PaymentPolicy` makes these,
/// and `Eip3009Authorizer` signs nothing else.
public struct ApprovedPayment: Sendable {
    public let requirement: PaymentRequirements
    /// Atomic USDC units to authorize (≥ requirement.amount for Venice top-ups).
    public let amount: UInt64
    public let resource: JSONValue?
    public let payTo: EthereumAddress
    public let domain: Eip3009Domain

    init(requirement: PaymentRequirements, amount: UInt64, resource: JSONValue?, payTo: EthereumAddress, domain: Eip3009Domain) {
        self.requirement = requirement
        self.amount = amount
        self.resource = resource
        self.payTo = payTo
        self.domain = domain
    }

    /// The entry to echo as `accepted`: verbatim, with `amount` set to the signed value when it
    /// differs (Venice credits any amount from the minimum up; the SDK server matches exactly).
    public var accepted: JSONValue {
        guard requirement.x402Version == 2, requirement.amount != UInt256(amount), var o = requirement.raw.objectValue else {
            return requirement.raw
        }
        o["amount"] = .string(String(amount))
        return .object(o)
    }
}
