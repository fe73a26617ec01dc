public import WalletCrypto

/// EIP-3009 `TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)`.
public struct TransferAuthorization: Sendable, Hashable {
    public var from: EthereumAddress
    public var to: EthereumAddress
    public var value: UInt256
    public var validAfter: UInt256
    public var validBefore: UInt256
    /// 32 random bytes.
    public var nonce: [UInt8]

    public static let typeHash = Keccak256.hash(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")

    public init(from: EthereumAddress, to: EthereumAddress, value: UInt256, validAfter: UInt256, validBefore: UInt256, nonce: [UInt8]) throws(X402Error) {
        guard nonce.count == 32 else { throw .invalidPaymentPayload("authorization nonce must be 32 bytes, got \(nonce.count)") }
        self.from = from
        self.to = to
        self.value = value
        self.validAfter = validAfter
        self.validBefore = validBefore
        self.nonce = nonce
    }

    /// hashStruct(message).
    public var structHash: [UInt8] {
        var data = Self.typeHash
        data.reserveCapacity(224)
        let pad = [UInt8](repeating: 0, count: 12)
        data += pad; data += from.bytes
        data += pad; data += to.bytes
        data += value.bytes32
        data += validAfter.bytes32
        data += validBefore.bytes32
        data += nonce
        return Keccak256.hash(data)
    }

    /// keccak(0x19 0x01 ‖ domainSeparator ‖ structHash).
    public func digest(domain: Eip3009Domain) -> [UInt8] {
        Keccak256.hash([0x19, 0x01] + domain.separator + structHash)
    }

    public func recoverSigner(signature: Signature, domain: Eip3009Domain) throws(X402Error) -> EthereumAddress {
        do {
            return try signature.recoverAddress(digest: digest(domain: domain))
        } catch {
            throw .crypto(error)
        }
    }

    /// The x402 JSON layout: EIP-55 addresses, decimal strings, `0x` nonce.
    func writeJSON(into w: inout JSONWriter) {
        w.raw("{")
        w.key("from", first: true); w.string(from.checksummed)
        w.key("to"); w.string(to.checksummed)
        w.key("value"); w.string(value.decimalString)
        w.key("validAfter"); w.string(validAfter.decimalString)
        w.key("validBefore"); w.string(validBefore.decimalString)
        w.key("nonce"); w.string(Hex.encode(nonce, prefix: true))
        w.raw("}")
    }

    init(json: JSONValue) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidPaymentPayload("\"authorization\" is not an object") }
        func address(_ key: String) throws(X402Error) -> EthereumAddress {
            guard let s = o[key]?.stringValue else { throw .invalidPaymentPayload("authorization.\(key) missing") }
            do { return try EthereumAddress(s) } catch { throw .invalidPaymentPayload("authorization.\(key) is not an address (\(error.code))") }
        }
        func integer(_ key: String) throws(X402Error) -> UInt256 {
            guard let v = o[key] else { throw .invalidPaymentPayload("authorization.\(key) missing") }
            do {
                if let s = v.stringValue {
                    return s.hasPrefix("0x") || s.hasPrefix("0X") ? try UInt256(hex: s) : try UInt256(decimal: s)
                }
                if let n = v.numberLiteral { return try UInt256(decimal: n) }
            } catch {
                throw .invalidPaymentPayload("authorization.\(key): \(error.description)")
            }
            throw .invalidPaymentPayload("authorization.\(key) is not an integer string")
        }
        let nonceText = o["nonce"]?.stringValue ?? ""
        guard nonceText.hasPrefix("0x"), nonceText.utf8.count == 66, let nonce = try? Hex.decode(nonceText) else {
            throw .invalidPaymentPayload("authorization.nonce is not 0x + 64 hex")
        }
        try self.init(from: address("from"), to: address("to"), value: integer("value"),
                      validAfter: integer("validAfter"), validBefore: integer("validBefore"), nonce: nonce)
    }
}
