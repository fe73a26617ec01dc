import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// One HTTP answer, body collected.
struct Reply: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: JSONValue? { try? JSONValue(parsing: body) }
    var error: String? { json?["error"]?.stringValue }
    var code: String? { json?["code"]?.stringValue }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Sends one request to the simulator.
func call(_ sim: RunningSimulator, _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [],
          json: String? = nil, body: [UInt8]? = nil, contentType: String? = nil) async throws -> Reply {
    var request = HTTPClientRequest(url: sim.baseURL + path)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let json {
        request.headers.replaceOrAdd(name: "content-type", value: contentType ?? "application/json")
        request.body = .bytes(ByteBuffer(string: json))
    } else if let body {
        if let contentType { request.headers.replaceOrAdd(name: "content-type", value: contentType) }
        request.body = .bytes(ByteBuffer(bytes: body))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
    return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
}

/// A test wallet with a deterministic key.
struct Wallet: Sendable {
    let key: PrivateKey
    var address: EthereumAddress { key.address }
    var lower: String { key.address.lowercasedHex }

    init(_ seed: UInt8) {
        var bytes = [UInt8](repeating: 0, count: 31) + [seed]
        bytes[0] = 0x11
        let key = bytes.withUnsafeBytes { try? PrivateKey(bytes: $0) }
        self.key = key ?? PrivateKey.generate()
    }
}

/// Builds SIWX header values, good or deliberately broken.
struct SignIn {
    let clock: any WallClock

    /// A fresh, valid header from X402Protocol's signer.
    func header(_ wallet: Wallet) throws -> String {
        try SiwxSigner(signer: wallet.key, clock: clock).makeHeaderValue()
    }

    static func randomNonce() -> String { Hex.encode(SecureRandom.bytes(count: 8)) }

    /// A header around a SIWE message built with X402Protocol's `SiweMessage`, with knobs for each rule.
    func custom(_ wallet: Wallet, signer: Wallet? = nil, domain: String = "api.venice.ai", messageChainId: UInt64 = 8453,
                payloadChainId: JSONValue = 8453, issuedAtOffset: Int64 = 0, expirationOffset: Int64? = 240_000,
                notBeforeOffset: Int64? = nil, nonce: String = SignIn.randomNonce(), timestamp: Int64? = nil,
                address: String? = nil) throws -> String {
        let now = clock.nowMilliseconds()
        let message = try SiweMessage(domain: domain, address: wallet.address, statement: "Sign in to Venice AI", uri: "https://api.venice.ai",
                                      chainId: messageChainId, nonce: nonce, issuedAt: SiweTimestamp(milliseconds: now + issuedAtOffset),
                                      expirationTime: expirationOffset.map { SiweTimestamp(milliseconds: now + $0) },
                                      notBefore: notBeforeOffset.map { SiweTimestamp(milliseconds: now + $0) })
        return raw(message: message.text, wallet: wallet, signer: signer, payloadChainId: payloadChainId, timestamp: timestamp, address: address)
    }

    /// Signs any text and wraps it in the Venice payload.
    func raw(message: String, wallet: Wallet, signer: Wallet? = nil, payloadChainId: JSONValue = 8453, timestamp: Int64? = nil,
             address: String? = nil) -> String {
        let signature = (signer ?? wallet).key.signPersonalMessage(Array(message.utf8))
        var object = JSONObject([("address", .string(address ?? wallet.address.checksummed)), ("message", .string(message)),
                                 ("signature", .string(signature.hex)), ("chainId", payloadChainId)])
        if let timestamp { object["timestamp"] = .number(String(timestamp)) }
        return Self.base64(.object(object))
    }

    static func base64(_ value: JSONValue) -> String { Data(value.serialized().utf8).base64EncodedString() }
}

/// Simulator configuration with a manual clock at a fixed instant and quiet logs.
func testConfiguration(clock: ManualWallClock = ManualWallClock(milliseconds: 1_790_000_000_000),
                       funds: [String: Double] = [:]) -> SimulatorConfiguration {
    var configuration = SimulatorConfiguration()
    configuration.clock = clock
    configuration.funds = funds
    configuration.logRequests = false
    configuration.adminKeys = ["admin-key"]
    configuration.inferenceKeys = ["inference-key"]
    configuration.audioProcessingMilliseconds = 1_000
    return configuration
}

/// A tiny paid request (8×8 PNG) used where any inference route will do.
let smallImage = #"{"model":"z-image-turbo","prompt":"a red square","width":8,"height":8,"format":"png","seed":7}"#

/// A signed EIP-3009 top-up through X402Protocol's authorizer.
func topUpHeader(_ wallet: Wallet, amount: UInt64, clock: any WallClock, to: String = SimulatorConfiguration.basePayTo,
                 network: String = "eip155:8453", asset: String = SimulatorConfiguration.baseUSDC, scheme: String = "exact",
                 version: Int = 2, validBeforeOffset: Int64 = 300, signer: Wallet? = nil) throws -> String {
    let now = clock.nowMilliseconds() / 1000
    let authorization = try TransferAuthorization(from: wallet.address, to: try EthereumAddress(to.lowercased()), value: UInt256(amount),
                                                  validAfter: UInt256(UInt64(now - 600)), validBefore: UInt256(UInt64(now + validBeforeOffset)),
                                                  nonce: SecureRandom.bytes(count: 32))
    let signature = try (signer ?? wallet).key.signTypedDataDigest(authorization.digest(domain: .baseUSDC))
    let payload: PaymentPayload
    if version == 1 {
        payload = PaymentPayload(x402Version: 1, authorization: authorization, signature: signature, accepted: nil, scheme: scheme, network: network)
    } else {
        let accepted: JSONValue = ["scheme": .string(scheme), "network": .string(network), "amount": .string(String(amount)), "asset": .string(asset),
                                   "payTo": .string(to), "maxTimeoutSeconds": 300, "extra": ["name": "USD Coin", "version": "2"]]
        payload = PaymentPayload(x402Version: 2, authorization: authorization, signature: signature, accepted: accepted)
    }
    return payload.headerValue
}
