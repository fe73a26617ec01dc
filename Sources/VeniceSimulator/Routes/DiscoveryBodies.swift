import Foundation
import WalletCrypto

/// The 402 bodies (VENICE.md §2.5, §2.7, §3.2) and their `PAYMENT-REQUIRED` headers.
struct DiscoveryBodies: Sendable {
    let origin: String
    let payTo: String

    static func base64(_ value: JSONValue) -> String { Data(value.serialized().utf8).base64EncodedString() }

    private func baseEntry(amount: String) -> JSONValue {
        ["scheme": "exact", "network": "eip155:8453", "amount": .string(amount), "asset": .string(SimulatorConfiguration.baseUSDC),
         "payTo": .string(payTo), "maxTimeoutSeconds": 300, "extra": ["name": "USD Coin", "version": "2"]]
    }

    private func solanaEntry(amount: String, network: String) -> JSONValue {
        ["scheme": "exact", "network": .string(network), "amount": .string(amount), "asset": .string(SimulatorConfiguration.solanaUSDC),
         "payTo": .string(SimulatorConfiguration.solanaPayTo), "maxTimeoutSeconds": 300,
         "extra": ["name": "USD Coin", "version": "2", "feePayer": .string(SimulatorConfiguration.solanaFeePayer)]]
    }

    private func resource(_ path: String) -> JSONValue {
        ["url": .string(origin + "/api/v1" + path), "description": "Venice API", "mimeType": "application/json"]
    }

    func siwxChallenge(path: String, nowMilliseconds: Int64, nonce: String) -> (info: JSONValue, supportedChains: JSONValue) {
        let info: JSONValue = ["domain": "api.venice.ai", "uri": .string(origin + "/api/v1" + path), "version": "1",
                               "nonce": .string(nonce), "issuedAt": .string(TimeFormat.iso(nowMilliseconds)),
                               "expirationTime": .string(TimeFormat.iso(nowMilliseconds + 300_000)), "statement": "Sign in to Venice AI"]
        let chains: JSONValue = [["chainId": "eip155:8453", "type": "eip191"], ["chainId": "eip155:8453", "type": "eip1271"],
                                 ["chainId": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "type": "ed25519"]]
        return (info, chains)
    }

    private func paymentRequiredHeader(path: String, error: String, accepts: [JSONValue], nowMilliseconds: Int64, nonce: String) -> String {
        let challenge = siwxChallenge(path: path, nowMilliseconds: nowMilliseconds, nonce: nonce)
        return Self.base64(["x402Version": 2, "error": .string(error), "resource": resource(path), "accepts": .array(accepts),
                            "extensions": ["sign-in-with-x": ["info": challenge.info, "supportedChains": challenge.supportedChains]]])
    }

    /// No credentials on a credentialed route: 402 discovery (`accepts: []` on the wallet routes).
    func noCredentials(path: String, emptyAccepts: Bool, nowMilliseconds: Int64, nonce: String) -> SimulatorError {
        let accepts = emptyAccepts ? [] : [baseEntry(amount: "10000000"), solanaEntry(amount: "10000000", network: "solana")]
        let body: JSONValue = [
            "x402Version": 2, "error": "Authentication required", "resource": resource(path), "accepts": .array(accepts),
            "authOptions": [
                "apiKey": ["header": "Authorization: Bearer YOUR_API_KEY", "getKey": "https://venice.ai/settings/api",
                           "docs": "https://docs.venice.ai/api-reference"],
                "x402Wallet": ["header": "SIGN-IN-WITH-X", "legacyHeader": "X-Sign-In-With-X", "topUp": "POST /api/v1/x402/top-up",
                               "docs": "https://docs.venice.ai/api-reference/endpoint/x402/top-up"]]]
        let header = paymentRequiredHeader(path: path, error: "Authentication required", accepts: accepts, nowMilliseconds: nowMilliseconds, nonce: nonce)
        return .json(.payment402, body, headers: [("PAYMENT-REQUIRED", header)])
    }

    /// Wallet credit below $0.10 (VENICE.md §2.5).
    func insufficientBalance(path: String, balanceMicro: Int64, nowMilliseconds: Int64, nonce: String) -> SimulatorError {
        let challenge = siwxChallenge(path: path, nowMilliseconds: nowMilliseconds, nonce: nonce)
        let body: JSONValue = [
            "error": "Payment required", "code": "PAYMENT_REQUIRED", "reason": "insufficient_balance",
            "message": "Insufficient x402 balance", "currentBalanceUsd": .usd(balanceMicro), "minimumBalanceUsd": .decimal(0.1),
            "description": "Venice API", "suggestedTopUpUsd": 10, "minimumTopUpUsd": 5, "supportedTokens": ["USDC"],
            "supportedChains": ["base", "solana"],
            "topUpInstructions": [
                "step1": "POST /api/v1/x402/top-up with no payment header to get payment requirements",
                "step2": "Choose a payment option from accepts and sign a USDC transfer authorization using the x402 SDK (createPaymentHeader)",
                "step3": "POST /api/v1/x402/top-up with the signed X-402-Payment header",
                "receiverWallet": .string(payTo), "tokenAddress": .string(SimulatorConfiguration.baseUSDC), "tokenDecimals": 6,
                "network": "eip155:8453", "minimumAmountUsd": 5],
            "siwxChallenge": ["info": challenge.info, "supportedChains": challenge.supportedChains]]
        let header = paymentRequiredHeader(path: path, error: "Insufficient balance",
                                           accepts: [baseEntry(amount: "10000000"), solanaEntry(amount: "10000000", network: "solana")],
                                           nowMilliseconds: nowMilliseconds, nonce: nonce)
        return .json(.payment402, body, headers: [("PAYMENT-REQUIRED", header)])
    }

    /// `POST /x402/top-up` without a payment header: exactly `{x402Version, accepts}` at the $5 minimum.
    func topUp() -> SimulatorError {
        let body: JSONValue = ["x402Version": 2, "accepts": .array([
            baseEntry(amount: "5000000"), solanaEntry(amount: "5000000", network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")])]
        return .json(.payment402, body, headers: [("PAYMENT-REQUIRED", Self.base64(body))])
    }
}
