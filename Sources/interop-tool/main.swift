// interop-tool: JSON on stdin -> JSON on stdout, so the Python interop suite (Tests/Interop) can
// compare our bytes with eth-account, siwe and x402. Test keys only; never point it at a real key.
import Foundation
import WalletCrypto
import X402Protocol

enum ToolError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self { case .usage(let s): s }
    }
}

func readInput() throws -> JSONValue {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    return try JSONValue(parsing: [UInt8](data))
}

func write(_ value: JSONValue) {
    FileHandle.standardOutput.write(Data((value.serialized() + "\n").utf8))
}

func key(_ hex: String?) throws -> PrivateKey {
    guard let hex else { throw ToolError.usage("missing \"key\"") }
    let bytes = try Hex.decode(hex)
    return try bytes.withUnsafeBytes { raw throws(WalletCryptoError) in try PrivateKey(bytes: raw) }
}

func errorObject(_ error: any Error) -> JSONValue {
    if let e = error as? X402Error { return ["error": .string(e.code), "description": .string(e.description)] }
    if let e = error as? WalletCryptoError { return ["error": .string(e.code), "description": .string(e.description)] }
    return ["error": .string("other"), "description": .string("\(error)")]
}

func timestamp(_ value: JSONValue?, field: String) throws -> SiweTimestamp? {
    guard let value, !value.isNull else { return nil }
    if let s = value.stringValue { return try SiweTimestamp(parsing: s, field: field) }
    if let ms = value.numberLiteral.flatMap({ Int64($0) }) { return SiweTimestamp(milliseconds: ms) }
    throw ToolError.usage("\(field) must be a string or Unix ms")
}

func fields(of m: SiweMessage) -> JSONValue {
    var o = JSONObject()
    o["scheme"] = m.scheme.map { .string($0) } ?? .null
    o["domain"] = .string(m.domain)
    o["address"] = .string(m.address.checksummed)
    o["statement"] = m.statement.map { .string($0) } ?? .null
    o["uri"] = .string(m.uri)
    o["version"] = .string(m.version)
    o["chainId"] = .number(String(m.chainId))
    o["nonce"] = .string(m.nonce)
    o["issuedAt"] = .string(m.issuedAt.text)
    o["expirationTime"] = m.expirationTime.map { .string($0.text) } ?? .null
    o["notBefore"] = m.notBefore.map { .string($0.text) } ?? .null
    o["requestId"] = m.requestId.map { .string($0) } ?? .null
    o["resources"] = m.resources.map { .array($0.map { .string($0) }) } ?? .null
    return .object(o)
}

/// {"key": hex, "messages": [{domain, statement?, uri, chainId, nonce, issuedAt, …}]} -> [{message, signature, address} | {error}]
func siweRender(_ input: JSONValue) throws -> JSONValue {
    let signer = try key(input["key"]?.stringValue)
    var out: [JSONValue] = []
    for f in input["messages"]?.arrayValue ?? [] {
        do {
            let resources = try f["resources"].flatMap { v -> [String]? in
                if v.isNull { return nil }
                guard let a = v.arrayValue else { throw ToolError.usage("resources must be an array") }
                return a.compactMap(\.stringValue)
            }
            guard let issued = try timestamp(f["issuedAt"], field: "Issued At") else { throw ToolError.usage("issuedAt missing") }
            let message = try SiweMessage(
                scheme: f["scheme"]?.stringValue, domain: f["domain"]?.stringValue ?? "",
                address: signer.address, statement: f["statement"]?.stringValue, uri: f["uri"]?.stringValue ?? "",
                version: f["version"]?.stringValue ?? "1", chainId: UInt64(f["chainId"]?.numberLiteral ?? "1") ?? 0,
                nonce: f["nonce"]?.stringValue ?? "", issuedAt: issued,
                expirationTime: timestamp(f["expirationTime"], field: "Expiration Time"),
                notBefore: timestamp(f["notBefore"], field: "Not Before"),
                requestId: f["requestId"]?.stringValue, resources: resources)
            let text = message.text
            out.append(["message": .string(text), "signature": .string(signer.signPersonalMessage(Array(text.utf8)).hex),
                        "address": .string(signer.address.checksummed)])
        } catch {
            out.append(errorObject(error))
        }
    }
    return .array(out)
}

/// ["message", …] -> [fields | {error}]
func siweParse(_ input: JSONValue) -> JSONValue {
    .array((input.arrayValue ?? []).map { item in
        do { return fields(of: try SiweMessage(parsing: item.stringValue ?? "")) } catch { return errorObject(error) }
    })
}

/// {"key", "domain": {name, version, chainId, verifyingContract}, "authorizations": [{to, value, validAfter, validBefore, nonce}]}
func eip3009Sign(_ input: JSONValue) throws -> JSONValue {
    let signer = try key(input["key"]?.stringValue)
    let d = input["domain"]
    let domain = Eip3009Domain(
        name: d?["name"]?.stringValue ?? "USD Coin", version: d?["version"]?.stringValue ?? "2",
        chainId: UInt64(d?["chainId"]?.numberLiteral ?? "8453") ?? 8453,
        verifyingContract: try EthereumAddress(d?["verifyingContract"]?.stringValue ?? "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"))
    var out: [JSONValue] = []
    for a in input["authorizations"]?.arrayValue ?? [] {
        let auth = try TransferAuthorization(
            from: signer.address, to: EthereumAddress(a["to"]?.stringValue ?? ""),
            value: UInt256(decimal: a["value"]?.stringValue ?? ""), validAfter: UInt256(decimal: a["validAfter"]?.stringValue ?? ""),
            validBefore: UInt256(decimal: a["validBefore"]?.stringValue ?? ""), nonce: Hex.decode(a["nonce"]?.stringValue ?? ""))
        let digest = auth.digest(domain: domain)
        let sig = try signer.signTypedDataDigest(digest)
        out.append(["from": .string(signer.address.checksummed), "digest": .string(Hex.encode(digest, prefix: true)), "signature": .string(sig.hex)])
    }
    return .array(out)
}

/// {"key", "paymentRequired": <header base64>, "url", "amount", "nowMs"} -> {header, json} (policy + authorizer, real nonce)
func paymentHeader(_ input: JSONValue) throws -> JSONValue {
    let signer = try key(input["key"]?.stringValue)
    let url = input["url"]?.stringValue ?? "https://api.venice.ai/api/v1/x402/top-up"
    let origin = try UpstreamOrigin(url: url)
    let offer = try FetchedPaymentRequired.fetched(from: origin, headerValue: input["paymentRequired"]?.stringValue, body: nil)
    let amount = UInt64(input["amount"]?.numberLiteral ?? "0") ?? 0
    let policy = PaymentPolicy(configuration: .init(upstream: origin, perTopUpCap: 10_000_000_000, dailyCap: 10_000_000_000))
    let approved = try policy.approve(offer, amount: amount, spentToday: 0)
    let clock = ManualWallClock(milliseconds: Int64(input["nowMs"]?.numberLiteral ?? "") ?? SystemWallClock().nowMilliseconds())
    let payload = try Eip3009Authorizer(signer: signer, clock: clock).authorize(approved)
    return ["header": .string(payload.headerValue), "json": .string(payload.jsonText)]
}

/// {"headers": [..], "nowMs", "allowedDomains"?} -> [{address, nonce} | {error}]  (our SIWX verifier on foreign headers)
func siwxVerify(_ input: JSONValue) -> JSONValue {
    var config = SiwxVerifier.Configuration()
    if let domains = input["allowedDomains"]?.arrayValue { config.allowedDomains = Set(domains.compactMap(\.stringValue)) }
    let verifier = SiwxVerifier(configuration: config)
    let now = Int64(input["nowMs"]?.numberLiteral ?? "") ?? SystemWallClock().nowMilliseconds()
    return .array((input["headers"]?.arrayValue ?? []).map { h in
        do {
            let v = try verifier.verify(headerValue: h.stringValue ?? "", nowMilliseconds: now)
            return ["address": .string(v.address.checksummed), "nonce": .string(v.nonce), "text": .string(v.text)]
        } catch { return errorObject(error) }
    })
}

/// {"key", "count", "nowMs"} -> [header values] from SiwxSigner
func siwxSign(_ input: JSONValue) throws -> JSONValue {
    let clock = ManualWallClock(milliseconds: Int64(input["nowMs"]?.numberLiteral ?? "") ?? SystemWallClock().nowMilliseconds())
    let signer = try SiwxSigner(signer: key(input["key"]?.stringValue), clock: clock)
    let count = Int(input["count"]?.numberLiteral ?? "1") ?? 1
    return .array(try (0..<count).map { _ in .string(try signer.makeHeaderValue()) })
}

let commands: [String: (JSONValue) throws -> JSONValue] = [
    "siwe-render": siweRender, "siwe-parse": siweParse, "eip3009-sign": eip3009Sign,
    "payment-header": paymentHeader, "siwx-verify": siwxVerify, "siwx-sign": siwxSign,
]

let args = CommandLine.arguments
guard args.count == 2, let command = commands[args[1]] else {
    FileHandle.standardError.write(Data("usage: interop-tool <\(commands.keys.sorted().joined(separator: "|"))> < input.json\n".utf8))
    exit(64)
}
do {
    write(try command(try readInput()))
} catch {
    FileHandle.standardError.write(Data("interop-tool \(args[1]): \(error)\n".utf8))
    exit(1)
}
