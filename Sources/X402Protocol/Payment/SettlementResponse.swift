public import WalletCrypto

/// `PAYMENT-RESPONSE` (v2) / `X-PAYMENT-RESPONSE` (v1): base64 JSON SettlementResponse.
public struct SettlementResponse: Sendable, Hashable {
    public let success: Bool
    public let transaction: String
    public let network: String?
    public let payer: String?
    public let errorReason: String?
    public let raw: JSONValue

    public static let headerName = "PAYMENT-RESPONSE"

    public init(headerValue: String) throws(X402Error) {
        guard let bytes = Base64.decode(headerValue.trimmingASCIIWhitespace) else {
            throw .invalidSettlementResponse("not base64")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw .invalidSettlementResponse("not JSON (\(error.code))") }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidSettlementResponse("not an object") }
        guard let success = o["success"]?.boolValue else { throw .invalidSettlementResponse("\"success\" missing") }
        self.success = success
        transaction = o["transaction"]?.stringValue ?? ""
        network = o["network"]?.stringValue
        payer = o["payer"]?.stringValue
        errorReason = o["errorReason"]?.stringValue
        raw = json
    }
}
