public import WalletCrypto

/// A 402 `PaymentRequired` (x402 v2 header/body, or a v1 body).
public struct PaymentRequired: Sendable, Hashable {
    public let x402Version: Int
    public let error: String?
    public let resource: JSONValue?
    /// Entries that parsed; `skippedEntries` counts malformed ones (kept out, never paid).
    public let accepts: [PaymentRequirements]
    public let skippedEntries: Int
    public let extensions: JSONValue?
    public let raw: JSONValue

    public static let headerName = "PAYMENT-REQUIRED"

    public init(json: JSONValue) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidPaymentRequired("not a JSON object") }
        guard let literal = o["x402Version"]?.numberLiteral, let version = Int(literal), version == 1 || version == 2 else {
            throw .invalidPaymentRequired("x402Version is missing or not 1/2")
        }
        guard let list = o["accepts"]?.arrayValue else { throw .invalidPaymentRequired("\"accepts\" is missing or not an array") }
        var accepts: [PaymentRequirements] = []
        var skipped = 0
        for entry in list {
            if let r = try? PaymentRequirements(json: entry, x402Version: version) { accepts.append(r) } else { skipped += 1 }
        }
        x402Version = version
        error = o["error"]?.stringValue
        resource = o["resource"].flatMap { $0.isNull ? nil : $0 }
        self.accepts = accepts
        skippedEntries = skipped
        extensions = o["extensions"].flatMap { $0.isNull ? nil : $0 }
        raw = json
    }

    /// The base64 `PAYMENT-REQUIRED` header value.
    public init(headerValue: String) throws(X402Error) {
        guard headerValue.utf8.count <= 256 * 1024, let bytes = Base64.decode(headerValue.trimmingASCIIWhitespace) else {
            throw .invalidPaymentRequired("header is not base64")
        }
        try self.init(body: bytes)
    }

    /// A JSON body (v1 servers; Venice also repeats the header JSON in the 402 body).
    public init(body: [UInt8]) throws(X402Error) {
        let json: JSONValue
        do { json = try JSONValue(parsing: body) } catch { throw .invalidPaymentRequired("not JSON (\(error.code))") }
        try self.init(json: json)
    }

    /// `extensions["sign-in-with-x"]` (`{info, supportedChains, schema?}`), if advertised.
    public var signInWithX: JSONValue? { extensions?["sign-in-with-x"] }
}
