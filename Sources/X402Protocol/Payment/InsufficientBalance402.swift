public import WalletCrypto

/// Venice's insufficient-balance 402 body (VENICE.md §2.5), identified by
/// `code == "PAYMENT_REQUIRED"`. USD figures are display numbers, never used as money.
public struct InsufficientBalance402: Sendable, Hashable {
    public let error: String?
    public let reason: String?
    public let currentBalanceUsd: Double?
    public let minimumBalanceUsd: Double?
    public let suggestedTopUpUsd: Double?
    public let minimumTopUpUsd: Double?
    public let supportedTokens: [String]
    public let supportedChains: [String]
    /// `topUpInstructions.receiverWallet` / `.tokenAddress` / `.network` (Base only; informative).
    public let receiverWallet: String?
    public let tokenAddress: String?
    public let network: String?
    public let siwxChallenge: JSONValue?
    public let raw: JSONValue

    public init(body: [UInt8]) throws(X402Error) {
        let json: JSONValue
        do { json = try JSONValue(parsing: body) } catch { throw .invalidPaymentRequired("402 body is not JSON (\(error.code))") }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidPaymentRequired("402 body is not an object") }
        guard o["code"]?.stringValue == "PAYMENT_REQUIRED" else {
            throw .invalidPaymentRequired("402 body has no code PAYMENT_REQUIRED")
        }
        error = o["error"]?.stringValue
        reason = o["reason"]?.stringValue
        currentBalanceUsd = o["currentBalanceUsd"]?.doubleValue
        minimumBalanceUsd = o["minimumBalanceUsd"]?.doubleValue
        suggestedTopUpUsd = o["suggestedTopUpUsd"]?.doubleValue
        minimumTopUpUsd = o["minimumTopUpUsd"]?.doubleValue
        supportedTokens = o["supportedTokens"]?.arrayValue?.compactMap(\.stringValue) ?? []
        supportedChains = o["supportedChains"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let instructions = o["topUpInstructions"]
        receiverWallet = instructions?["receiverWallet"]?.stringValue
        tokenAddress = instructions?["tokenAddress"]?.stringValue
        network = instructions?["network"]?.stringValue
        siwxChallenge = o["siwxChallenge"]
        raw = json
    }

    /// True for `reason == "insufficient_balance"` (the case a top-up cures).
    public var isInsufficientBalance: Bool { reason == "insufficient_balance" }
}

/// What a Venice 402 body is.
public enum Venice402Body: Sendable {
    case insufficientBalance(InsufficientBalance402)
    case paymentRequired(PaymentRequired)
    /// e.g. `{"error":"Insufficient USD or Diem balance…"}` (not cured by a top-up).
    case other(error: String?)

    public init(body: [UInt8]) {
        guard let json = try? JSONValue(parsing: body) else { self = .other(error: nil); return }
        if let ib = try? InsufficientBalance402(json: json) {
            self = .insufficientBalance(ib)
        } else if let pr = try? PaymentRequired(json: json) {
            self = .paymentRequired(pr)
        } else {
            self = .other(error: json["error"]?.stringValue)
        }
    }
}
