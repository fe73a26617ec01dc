/// One row of `/x402/transactions/{wallet}` (amounts in USDC atomic units = micro-dollars).
public struct WalletTransaction: Sendable, Equatable {
    public enum Kind: String, Sendable { case topUp = "TOP_UP", charge = "CHARGE", refund = "REFUND" }
    public let id: String
    public let kind: Kind
    public let amountMicro: Int64          // signed: CHARGE negative
    public let balanceAfterMicro: Int64
    public let createdAtMilliseconds: Int64
    public let requestId: String?
    public let modelId: String?
}

/// One billing usage row (`/billing/usage-history`), also the "served request" record: every charge makes one.
public struct UsageRecord: Sendable, Equatable {
    public let timestampMilliseconds: Int64
    public let sku: String
    public let units: Double
    public let pricePerUnitUSD: Double
    public let amountMicro: Int64          // negative for debits
    public let currency: String
    public let notes: String
    public let requestId: String?
    public let apiKeyId: String?
    public let modelId: String
    public let executionMilliseconds: Int
    /// LLM token counts (`inferenceDetails.promptTokens` / `completionTokens`, veniceai/api-docs `swagger.yaml`
    /// `BillingUsageHistoryResponse`: "null for non-LLM usage"); nil for other routes.
    public var promptTokens: Int? = nil
    public var completionTokens: Int? = nil
}

/// Headers of one request as received (names lowercased), for "no credential reached upstream" assertions.
public struct RecordedRequest: Sendable {
    public let method: String
    public let path: String
    public let headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }
}

/// A Bearer key, pre-provisioned or minted through `generate_web3_key`.
public struct APIKeyRecord: Sendable {
    public enum KeyType: String, Sendable { case inference = "INFERENCE", admin = "ADMIN" }
    public let id: String
    public let secret: String
    public let type: KeyType
    public var description: String
    public var expiresAtMilliseconds: Int64?
    public var expiresAtText: String?
    public var limitUSD: Double?
    public var limitDIEM: Double?
    public var limitPeriod: String
    public var modelPrivacy: String
    /// Account whose balance the key spends: "account:default" or a wallet (lowercase address).
    public let account: String
    public let createdAtMilliseconds: Int64
    public var revoked = false
}

/// What a credentialed request was authenticated as.
public enum Caller: Sendable {
    case wallet(address: String)          // lowercase 0x address
    case key(APIKeyRecord)

    var account: String {
        switch self {
        case .wallet(let address): address
        case .key(let record): record.account
        }
    }

    var apiKeyId: String? { if case .key(let record) = self { record.id } else { nil } }
}
