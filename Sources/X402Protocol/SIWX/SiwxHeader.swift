public import WalletCrypto

/// One `SIGN-IN-WITH-X` proof in Venice's profile (PROTOCOLS §7.2): base64 of
/// `{"address","message","signature","chainId":8453[,"timestamp"]}`.
public struct SiwxHeader: Sendable, Hashable {
    public var address: EthereumAddress
    /// The exact signed SIWE text.
    public var message: String
    public var signature: Signature
    /// Sent as a JSON number (Venice's documented form).
    public var chainId: UInt64
    /// Legacy Unix-ms `timestamp` field; omitted when nil.
    public var timestamp: Int64?

    public static let headerName = "SIGN-IN-WITH-X"

    public init(address: EthereumAddress, message: String, signature: Signature, chainId: UInt64 = 8453, timestamp: Int64? = nil) {
        self.address = address
        self.message = message
        self.signature = signature
        self.chainId = chainId
        self.timestamp = timestamp
    }

    /// The compact JSON document (keys in Venice's documented order).
    public var jsonText: String {
        String(decoding: jsonBytes(checksummedAddress: address.checksummed), as: UTF8.self)
    }

    /// The header value: standard base64 (with padding) of `jsonText`.
    public var headerValue: String { Base64.encode(jsonBytes(checksummedAddress: address.checksummed)) }

    func jsonBytes(checksummedAddress: String) -> [UInt8] {
        var w = JSONWriter(capacity: message.utf8.count + 260)
        w.raw("{")
        w.key("address", first: true); w.string(checksummedAddress)
        w.key("message"); w.string(message)
        w.key("signature"); w.string(signature.hex)
        if let timestamp { w.key("timestamp"); w.raw(String(timestamp)) }
        w.key("chainId"); w.raw(String(chainId))
        w.raw("}")
        return w.bytes
    }
}
