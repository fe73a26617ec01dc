/// Why `PaymentPolicy` refused a requirement; `code` is stable (ledger, metrics, JSON errors).
public enum PaymentRefusal: String, Sendable, Hashable, CaseIterable {
    /// Not `eip155:8453` (alias `base`).
    case network
    /// Not Base USDC `0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913`.
    case asset
    /// `payTo` not from a requirement fetched from the configured upstream, malformed, or off the allow-list.
    case payTo
    /// Not `exact`.
    case scheme
    /// More than the per-top-up cap.
    case overCap = "over_cap"
    /// Would exceed what is left of the daily cap.
    case dailyCap = "daily_cap"
    /// Less than the requirement's amount (Venice's minimum).
    case belowMinimum = "below_minimum"
    /// EIP-712 domain from `extra` is not "USD Coin" / "2".
    case domain
    /// `extra.assetTransferMethod` is not EIP-3009 (e.g. `permit2`).
    case transferMethod = "transfer_method"
    /// `maxTimeoutSeconds` is not within 1…3600.
    case timeout
    /// The 402 offered nothing to choose from.
    case noOffer = "no_offer"

    public var code: String { rawValue }
}
