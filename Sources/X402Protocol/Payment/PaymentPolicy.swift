public import WalletCrypto

/// Decides whether an x402 requirement may be paid, naming one reason per refusal.
/// Rules (VENICE.md §3, ARCHITECTURE "Security model"): fetched from the configured upstream,
/// scheme `exact`, Base (`eip155:8453` / `base`), Base USDC, EIP-3009 with domain
/// "USD Coin"/"2", amount ≥ the requirement, ≤ the per-top-up cap, ≤ what is left today.
public struct PaymentPolicy: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var upstream: UpstreamOrigin
        /// Per payment, USDC atomic units (6 decimals).
        public var perTopUpCap: UInt64
        /// Per day, USDC atomic units.
        public var dailyCap: UInt64
        /// Optional `payTo` allow-list; nil = whatever the upstream names.
        public var allowedPayTo: Set<EthereumAddress>?

        public init(upstream: UpstreamOrigin = .venice, perTopUpCap: UInt64, dailyCap: UInt64, allowedPayTo: Set<EthereumAddress>? = nil) {
            self.upstream = upstream
            self.perTopUpCap = perTopUpCap
            self.dailyCap = dailyCap
            self.allowedPayTo = allowedPayTo
        }
    }

    public static let baseUSDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Checks one entry of an offer. Throws `.paymentRefused(reason, detail:)`.
    public func check(
        _ requirement: PaymentRequirements, of offer: FetchedPaymentRequired, amount: UInt64, spentToday: UInt64
    ) throws(X402Error) -> ApprovedPayment {
        func refuse(_ r: PaymentRefusal, _ detail: String) -> X402Error { .paymentRefused(r, detail: detail) }
        guard offer.origin == configuration.upstream else {
            throw refuse(.payTo, "requirements came from \(offer.origin), not the configured upstream \(configuration.upstream); never pay a payTo from elsewhere")
        }
        guard requirement.scheme == "exact" else { throw refuse(.scheme, "scheme \(requirement.scheme) is not exact") }
        guard requirement.network == "eip155:8453" || requirement.network == "base" else {
            throw refuse(.network, "network \(requirement.network) is not Base (eip155:8453)")
        }
        guard requirement.asset.lowercased() == Self.baseUSDC.lowercased() else {
            throw refuse(.asset, "asset \(requirement.asset) is not Base USDC \(Self.baseUSDC)")
        }
        guard requirement.assetTransferMethod == "eip3009" else {
            throw refuse(.transferMethod, "assetTransferMethod \(requirement.assetTransferMethod) is not supported; only EIP-3009")
        }
        let name = requirement.extra?["name"]?.stringValue, version = requirement.extra?["version"]?.stringValue
        guard name == "USD Coin", version == "2" else {
            throw refuse(.domain, "EIP-712 domain \(name ?? "nil")/\(version ?? "nil") is not USD Coin/2")
        }
        let payTo: EthereumAddress
        do { payTo = try EthereumAddress(requirement.payTo) } catch {
            throw refuse(.payTo, "payTo \(requirement.payTo.prefix(60)) is not an EVM address")
        }
        if let allowed = configuration.allowedPayTo, !allowed.contains(payTo) {
            throw refuse(.payTo, "payTo \(payTo.checksummed) is not on the allow-list")
        }
        guard (1...3600).contains(requirement.maxTimeoutSeconds) else {
            throw refuse(.timeout, "maxTimeoutSeconds \(requirement.maxTimeoutSeconds) is outside 1…3600")
        }
        guard UInt256(amount) >= requirement.amount else {
            throw refuse(.belowMinimum, "amount \(amount) is below the required \(requirement.amount)")
        }
        guard amount <= configuration.perTopUpCap else {
            throw refuse(.overCap, "amount \(amount) is above the per-top-up cap \(configuration.perTopUpCap)")
        }
        let left = configuration.dailyCap > spentToday ? configuration.dailyCap - spentToday : 0
        guard amount <= left else {
            throw refuse(.dailyCap, "amount \(amount) is above the \(left) left of today's cap \(configuration.dailyCap)")
        }
        let domain = Eip3009Domain(name: "USD Coin", version: "2", chainId: 8453, verifyingContract: Eip3009Domain.baseUSDC.verifyingContract)
        return ApprovedPayment(requirement: requirement, amount: amount, resource: offer.paymentRequired.resource, payTo: payTo, domain: domain)
    }

    /// Picks the first acceptable entry. When none is, throws the refusal of the most relevant
    /// entry: one on Base if any (its reason is the interesting one), else the first.
    public func approve(_ offer: FetchedPaymentRequired, amount: UInt64, spentToday: UInt64) throws(X402Error) -> ApprovedPayment {
        var firstRefusal: X402Error?
        var baseRefusal: X402Error?
        for requirement in offer.paymentRequired.accepts {
            do {
                return try check(requirement, of: offer, amount: amount, spentToday: spentToday)
            } catch {
                if firstRefusal == nil { firstRefusal = error }
                if baseRefusal == nil, case .paymentRefused(let r, _) = error, r != .network { baseRefusal = error }
            }
        }
        throw baseRefusal ?? firstRefusal ?? .paymentRefused(.noOffer, detail: "the 402 offered no payable entry")
    }
}
