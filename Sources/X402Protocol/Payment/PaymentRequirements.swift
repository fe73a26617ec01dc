public import WalletCrypto

/// One `accepts[]` entry of a 402 (x402 v2, or v1 with `maxAmountRequired`). `raw` is the entry
/// verbatim (key order, number literals) so `accepted` can echo it exactly.
public struct PaymentRequirements: Sendable, Hashable {
    public let x402Version: Int
    public let scheme: String
    public let network: String
    /// v2 `amount` / v1 `maxAmountRequired`, atomic units.
    public let amount: UInt256
    public let asset: String
    public let payTo: String
    public let maxTimeoutSeconds: Int64
    public let extra: JSONObject?
    public let raw: JSONValue

    public init(json: JSONValue, x402Version: Int) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidPaymentRequired("an accepts entry is not an object") }
        func string(_ key: String) throws(X402Error) -> String {
            guard let s = o[key]?.stringValue else { throw .invalidPaymentRequired("accepts entry lacks string \"\(key)\"") }
            return s
        }
        self.x402Version = x402Version
        scheme = try string("scheme")
        network = try string("network")
        let amountKey = x402Version == 1 ? "maxAmountRequired" : "amount"
        let amountText = try string(amountKey)
        do {
            amount = try UInt256(decimal: amountText)
        } catch {
            throw .invalidPaymentRequired("\"\(amountKey)\" \(amountText.prefix(40)) is not a decimal integer")
        }
        asset = try string("asset")
        payTo = try string("payTo")
        guard let timeoutLiteral = o["maxTimeoutSeconds"]?.numberLiteral, let timeout = Int64(timeoutLiteral) else {
            throw .invalidPaymentRequired("accepts entry lacks integer \"maxTimeoutSeconds\"")
        }
        maxTimeoutSeconds = timeout
        if let e = o["extra"], !e.isNull {
            guard let obj = e.objectValue else { throw .invalidPaymentRequired("\"extra\" is not an object") }
            extra = obj
        } else {
            extra = nil
        }
        raw = json
    }

    /// `extra.assetTransferMethod` ("eip3009" when absent).
    public var assetTransferMethod: String { extra?["assetTransferMethod"]?.stringValue ?? "eip3009" }

    /// EIP-155 chain id of `network` (`eip155:N`, or the v1 slugs `base`, `base-sepolia`).
    public var chainId: UInt64? { Networks.chainId(network) }
}

enum Networks {
    static func chainId(_ network: String) -> UInt64? {
        switch network {
        case "base": return 8453
        case "base-sepolia": return 84532
        default:
            guard network.hasPrefix("eip155:") else { return nil }
            let digits = network.dropFirst(7)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), !digits.hasPrefix("0") else { return nil }
            return UInt64(digits)
        }
    }
}
