public import WalletCrypto

/// An x402 "exact" EVM payment: the v2 `PAYMENT-SIGNATURE` PaymentPayload
/// (`{x402Version, payload{authorization, signature}, accepted, resource?, extensions?}`) or the
/// v1 `X-PAYMENT` form (`{x402Version, scheme, network, payload}`). Decodes both shapes.
public struct PaymentPayload: Sendable, Hashable {
    public let x402Version: Int
    public let authorization: TransferAuthorization
    public let signature: Signature
    /// v2: the chosen requirement, verbatim.
    public let accepted: JSONValue?
    public let resource: JSONValue?
    public let extensions: JSONValue?
    /// v1 / npm `createPaymentHeader` form: top-level scheme and network.
    public let scheme: String?
    public let network: String?

    public static let headerName = "PAYMENT-SIGNATURE"
    public static let v1HeaderName = "X-PAYMENT"

    public init(
        x402Version: Int, authorization: TransferAuthorization, signature: Signature, accepted: JSONValue?,
        resource: JSONValue? = nil, extensions: JSONValue? = nil, scheme: String? = nil, network: String? = nil
    ) {
        self.x402Version = x402Version
        self.authorization = authorization
        self.signature = signature
        self.accepted = accepted
        self.resource = resource
        self.extensions = extensions
        self.scheme = scheme
        self.network = network
    }

    /// Decodes a `PAYMENT-SIGNATURE` / `X-PAYMENT` / `X-402-Payment` header value (either shape).
    public init(headerValue: String) throws(X402Error) {
        guard headerValue.utf8.count <= 64 * 1024, let bytes = Base64.decode(headerValue.trimmingASCIIWhitespace) else {
            throw .invalidPaymentPayload("header is not base64")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw .invalidPaymentPayload("header is not base64 of JSON (\(error.code))") }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(X402Error) {
        guard let o = json.objectValue else { throw .invalidPaymentPayload("not a JSON object") }
        guard let literal = o["x402Version"]?.numberLiteral, let version = Int(literal), version == 1 || version == 2 else {
            throw .invalidPaymentPayload("x402Version is missing or not 1/2")
        }
        guard let payload = o["payload"]?.objectValue else { throw .invalidPaymentPayload("\"payload\" missing") }
        guard let sigText = payload["signature"]?.stringValue else { throw .invalidPaymentPayload("payload.signature missing") }
        guard let auth = payload["authorization"] else { throw .invalidPaymentPayload("payload.authorization missing") }
        let signature: Signature
        do { signature = try Signature(hex: sigText) } catch { throw .invalidPaymentPayload("payload.signature: \(error.description)") }
        authorization = try TransferAuthorization(json: auth)
        self.signature = signature
        x402Version = version
        accepted = o["accepted"].flatMap { $0.isNull ? nil : $0 }
        if let accepted, accepted.objectValue == nil { throw .invalidPaymentPayload("\"accepted\" is not an object") }
        resource = o["resource"].flatMap { $0.isNull ? nil : $0 }
        extensions = o["extensions"].flatMap { $0.isNull ? nil : $0 }
        scheme = o["scheme"]?.stringValue
        network = o["network"]?.stringValue
        if accepted == nil, scheme == nil || network == nil {
            throw .invalidPaymentPayload("neither \"accepted\" (v2) nor top-level scheme/network (v1)")
        }
    }

    /// Scheme/network from `accepted` (v2) or the top level (v1).
    public var effectiveScheme: String? { accepted?["scheme"]?.stringValue ?? scheme }
    public var effectiveNetwork: String? { accepted?["network"]?.stringValue ?? network }

    /// The token's EIP-712 domain: from `accepted` (`extra.name/version`, network, asset) in v2;
    /// for the v1 shape the known USDC deployment of the named network.
    public func domain() throws(X402Error) -> Eip3009Domain {
        guard let networkName = effectiveNetwork, let chain = Networks.chainId(networkName) else {
            throw .invalidPaymentPayload("network \(effectiveNetwork ?? "nil") is not an EVM network")
        }
        if let accepted {
            guard let name = accepted["extra"]?["name"]?.stringValue, let version = accepted["extra"]?["version"]?.stringValue,
                  let assetText = accepted["asset"]?.stringValue else {
                throw .invalidPaymentPayload("accepted lacks extra.name/extra.version/asset")
            }
            let asset: EthereumAddress
            do { asset = try EthereumAddress(assetText) } catch { throw .invalidPaymentPayload("accepted.asset is not an address") }
            return Eip3009Domain(name: name, version: version, chainId: chain, verifyingContract: asset)
        }
        switch chain {
        case 8453: return .baseUSDC
        case 84532: return .baseSepoliaUSDC
        default: throw .invalidPaymentPayload("no known USDC domain for v1 network \(networkName)")
        }
    }

    /// Recovers the authorization's signer (under `domain`, default `domain()`).
    public func recoverSigner(domain: Eip3009Domain? = nil) throws(X402Error) -> EthereumAddress {
        let d: Eip3009Domain
        if let domain { d = domain } else { d = try self.domain() }
        return try authorization.recoverSigner(signature: signature, domain: d)
    }

    /// How the same signed authorization is laid out in the header.
    public enum Layout: Sendable, Hashable {
        /// `{x402Version, payload, accepted, resource?, extensions?}`: the x402 v2 spec's
        /// PaymentPayload (the chosen requirement echoed in `accepted`).
        case accepted
        /// `{x402Version, scheme, network, payload}`: what Venice's x402 guide builds with the
        /// npm `x402/client` `createPaymentHeader(signer, 2, requirement)` (no `accepted`).
        case schemeAndNetwork
    }

    /// The compact JSON (v2 layout when `accepted` is set, else the v1 layout).
    public var jsonText: String { String(decoding: jsonBytes(), as: UTF8.self) }

    /// Base64 header value (`PAYMENT-SIGNATURE` for v2, `X-PAYMENT` for v1).
    public var headerValue: String { Base64.encode(jsonBytes()) }

    /// The header value in `layout`. A payload without `accepted` has only one layout.
    public func headerValue(_ layout: Layout) -> String { Base64.encode(jsonBytes(layout)) }

    func jsonBytes(_ layout: Layout = .accepted) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.raw("{")
        w.key("x402Version", first: true); w.raw(String(x402Version))
        let echo = layout == .accepted ? accepted : nil
        if echo == nil {
            w.key("scheme"); w.string(accepted?["scheme"]?.stringValue ?? scheme ?? "exact")
            w.key("network"); w.string(accepted?["network"]?.stringValue ?? network ?? "base")
        }
        w.key("payload"); w.raw("{")
        w.key("authorization", first: true); authorization.writeJSON(into: &w)
        w.key("signature"); w.string(signature.hex)
        w.raw("}")
        if let echo {
            w.key("accepted"); w.raw(echo.serialized())
            if let resource { w.key("resource"); w.raw(resource.serialized()) }
            if let extensions { w.key("extensions"); w.raw(extensions.serialized()) }
        }
        w.raw("}")
        return w.bytes
    }
}
