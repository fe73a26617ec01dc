public import WalletCrypto
import Foundation

/// Server-side SIGN-IN-WITH-X checks 1–15 of VENICE.md §2.3, in that order, each failure named
/// after Venice's `X402_SIGN_IN_*` code. Stateless; check 16 is `SiwxReplayGuard`.
public struct SiwxVerifier: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Hosts allowed after stripping scheme, userinfo, port and path (lower-case).
        public var allowedDomains: Set<String>
        public var chainId: UInt64
        /// `Issued At` may be at most this old.
        public var maxAgeMilliseconds: Int64
        /// `Issued At` may be at most this far ahead of now.
        public var maxFutureMilliseconds: Int64
        /// Legacy `timestamp` must be within this of `Issued At`.
        public var timestampToleranceMilliseconds: Int64
        /// Upper bound on the header value (base64 text).
        public var maximumHeaderLength: Int

        public init(
            allowedDomains: Set<String> = ["api.venice.ai", "venice.ai"], chainId: UInt64 = 8453,
            maxAgeMilliseconds: Int64 = 300_000, maxFutureMilliseconds: Int64 = 30_000,
            timestampToleranceMilliseconds: Int64 = 30_000, maximumHeaderLength: Int = 32 * 1024
        ) {
            self.allowedDomains = Set(allowedDomains.map { $0.lowercased() })
            self.chainId = chainId
            self.maxAgeMilliseconds = maxAgeMilliseconds
            self.maxFutureMilliseconds = maxFutureMilliseconds
            self.timestampToleranceMilliseconds = timestampToleranceMilliseconds
            self.maximumHeaderLength = maximumHeaderLength
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Decodes and verifies a header value at `now` (Unix ms). Throws `.signIn(reason, detail:)`.
    public func verify(headerValue: String, nowMilliseconds now: Int64) throws(X402Error) -> VerifiedSignIn {
        // 1 PARSE_ERROR
        guard headerValue.utf8.count <= configuration.maximumHeaderLength else {
            throw .signIn(.parseError, detail: "header longer than \(configuration.maximumHeaderLength) bytes")
        }
        let trimmed = headerValue.trimmingASCIIWhitespace
        guard let bytes = Base64.decode(trimmed) else {
            throw .signIn(.parseError, detail: "header is not standard base64")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: bytes)
        } catch {
            throw .signIn(.parseError, detail: "header is not base64 of JSON (\(error.code))")
        }
        guard let object = json.objectValue else {
            throw .signIn(.parseError, detail: "header JSON is not an object")
        }
        return try verify(payload: object, nowMilliseconds: now)
    }

    /// Verifies an already-decoded payload object (checks 2–15).
    public func verify(payload object: JSONObject, nowMilliseconds now: Int64) throws(X402Error) -> VerifiedSignIn {
        // 2 INVALID_PAYLOAD
        guard let addressText = object["address"]?.stringValue else {
            throw .signIn(.invalidPayload, detail: "\"address\" is missing or not a string")
        }
        guard let signatureText = object["signature"]?.stringValue else {
            throw .signIn(.invalidPayload, detail: "\"signature\" is missing or not a string")
        }
        let messageText = object["message"]?.stringValue
        if object["message"] != nil, messageText == nil {
            throw .signIn(.invalidPayload, detail: "\"message\" is not a string")
        }
        if messageText == nil {
            for field in ["domain", "uri", "nonce", "issuedAt", "chainId"] where object[field] == nil {
                throw .signIn(.invalidPayload, detail: "\"message\" is missing and so is structured field \"\(field)\"")
            }
        }
        // 3 INVALID_WALLET
        if object["type"]?.stringValue == "ed25519" {
            throw .signIn(.invalidWallet, detail: "Solana (ed25519) proofs are not supported here")
        }
        let address: EthereumAddress
        do {
            address = try EthereumAddress(addressText)
        } catch {
            throw .signIn(.invalidWallet, detail: "\"address\" is not an EVM address (\(error.code))")
        }
        // 4 INVALID_CHAIN_ID
        var payloadChain: UInt64?
        if let chainValue = object["chainId"], !chainValue.isNull {
            guard let chain = Self.parseChainId(chainValue) else {
                throw .signIn(.invalidChainId, detail: "chainId \(chainValue.serialized()) is not 8453, \"8453\" or \"eip155:8453\" form")
            }
            payloadChain = chain
        }
        // 5 INVALID_MESSAGE (9 MISSING_NONCE for an empty nonce)
        let text: String
        if let messageText {
            text = messageText
        } else {
            text = try Self.rebuildStructured(object, chainId: payloadChain ?? 0)
        }
        let message = try parseMessage(text)
        // 6 ADDRESS_MISMATCH
        guard message.address == address else {
            throw .signIn(.addressMismatch, detail: "message address \(message.address.checksummed) is not \(addressText)")
        }
        // 7 CHAIN_MISMATCH
        if let payloadChain, payloadChain != message.chainId {
            throw .signIn(.chainMismatch, detail: "chainId \(payloadChain) differs from the message's Chain ID \(message.chainId)")
        }
        // 8 UNSUPPORTED_CHAIN
        guard message.chainId == configuration.chainId else {
            throw .signIn(.unsupportedChain, detail: "chain \(message.chainId) is not \(configuration.chainId)")
        }
        // 9 MISSING_NONCE (the strict parser already refuses an empty Nonce line)
        guard !message.nonce.isEmpty else { throw .signIn(.missingNonce, detail: "empty nonce") }
        // 10 DOMAIN_MISMATCH
        let host = Self.host(ofDomain: message.domain)
        guard configuration.allowedDomains.contains(host) else {
            throw .signIn(.domainMismatch, detail: "domain \(message.domain) (host \(host)) is not allowed")
        }
        let issued = message.issuedAt.milliseconds
        // 11 TIMESTAMP_MISMATCH
        if let stamp = object["timestamp"], !stamp.isNull {
            guard let literal = stamp.numberLiteral ?? stamp.stringValue, let ms = Int64(literal) else {
                throw .signIn(.timestampMismatch, detail: "legacy timestamp \(stamp.serialized()) is not Unix milliseconds")
            }
            let (delta, overflow) = ms.subtractingReportingOverflow(issued)
            guard !overflow, delta.magnitude <= configuration.timestampToleranceMilliseconds.magnitude else {
                throw .signIn(.timestampMismatch, detail: "legacy timestamp \(ms) is more than \(configuration.timestampToleranceMilliseconds) ms from Issued At \(issued)")
            }
        }
        // 12 FUTURE_TIMESTAMP
        guard issued <= now + configuration.maxFutureMilliseconds else {
            throw .signIn(.futureTimestamp, detail: "Issued At \(message.issuedAt.text) is \(issued - now) ms ahead of server time")
        }
        // 13 EXPIRED
        guard issued >= now - configuration.maxAgeMilliseconds else {
            throw .signIn(.expired, detail: "Issued At \(message.issuedAt.text) is \(now - issued) ms old (max \(configuration.maxAgeMilliseconds))")
        }
        if let expiration = message.expirationTime, now >= expiration.milliseconds {
            throw .signIn(.expired, detail: "Expiration Time \(expiration.text) has passed")
        }
        // 14 NOT_BEFORE
        if let notBefore = message.notBefore, now < notBefore.milliseconds {
            throw .signIn(.notBefore, detail: "Not Before \(notBefore.text) is in the future")
        }
        // 15 INVALID_SIGNATURE
        let signature: Signature
        do {
            signature = try Signature(hex: signatureText)
        } catch {
            throw .signIn(.invalidSignature, detail: "signature is not 0x + 130 hex (\(error.code))")
        }
        let recovered: EthereumAddress
        do {
            recovered = try EIP191.recoverSigner(message: Array(text.utf8), signature: signature)
        } catch {
            throw .signIn(.invalidSignature, detail: "signature does not recover (\(error.code))")
        }
        guard recovered == address else {
            throw .signIn(.invalidSignature, detail: "signature recovers to \(recovered.checksummed), not \(address.checksummed)")
        }
        var expiresAt = issued + configuration.maxAgeMilliseconds
        if let expiration = message.expirationTime { expiresAt = min(expiresAt, expiration.milliseconds) }
        return VerifiedSignIn(address: address, message: message, text: text, expiresAtMilliseconds: expiresAt)
    }

    /// Strict parse, with the two leniencies Venice shows: a path after the domain is stripped
    /// (`https://api.venice.ai:443/x wants you…`), and a missing `Chain ID` line reads as chain 1.
    /// The signature is always checked over the original text.
    private func parseMessage(_ text: String) throws(X402Error) -> SiweMessage {
        var candidate = text
        var firstError: X402Error?
        for _ in 0..<3 {
            do {
                return try SiweMessage(parsing: candidate)
            } catch {
                if case .siweInvalidNonce(let nonce) = error, nonce.isEmpty {
                    throw .signIn(.missingNonce, detail: "the Nonce line is empty")
                }
                if firstError == nil { firstError = error }
                if case .siweInvalidDomain(let domain) = error,
                   let cut = domain.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }),
                   let range = candidate.range(of: domain + SiweMessage.headerSuffix) {
                    candidate.replaceSubrange(range, with: String(domain[domain.startIndex..<cut]) + SiweMessage.headerSuffix)
                    continue
                }
                if !candidate.contains("\nChain ID: "), let range = candidate.range(of: "\nNonce: ") {
                    candidate.replaceSubrange(range, with: "\nChain ID: 1\nNonce: ")
                    continue
                }
                break
            }
        }
        throw .signIn(.invalidMessage, detail: firstError?.description ?? "not a SIWE message")
    }

    /// 8453, "8453", "eip155:8453" (any decimal chain in those forms); nil for other forms.
    static func parseChainId(_ value: JSONValue) -> UInt64? {
        var text: Substring
        if let literal = value.numberLiteral {
            text = Substring(literal)
        } else if let s = value.stringValue {
            text = Substring(s)
            if text.hasPrefix("eip155:") { text = text.dropFirst(7) }
        } else {
            return nil
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), text == "0" || !text.hasPrefix("0") else { return nil }
        return UInt64(text)
    }

    /// Lower-case host of a SIWE domain with scheme, userinfo, port and path removed.
    public static func host(ofDomain domain: String) -> String {
        var s = Substring(domain)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let slash = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { s = s[s.startIndex..<slash] }
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        if s.hasPrefix("[") {
            if let close = s.firstIndex(of: "]") { s = s[s.startIndex...close] }
        } else if let colon = s.lastIndex(of: ":") {
            s = s[s.startIndex..<colon]
        }
        return s.lowercased()
    }

    /// Rebuilds the SIWE text from the structured (x402 extension) form, bare `Chain ID`.
    static func rebuildStructured(_ object: JSONObject, chainId: UInt64) throws(X402Error) -> String {
        func string(_ key: String, required: Bool) throws(X402Error) -> String? {
            guard let value = object[key], !value.isNull else {
                if required { throw .signIn(.invalidPayload, detail: "structured field \"\(key)\" is missing") }
                return nil
            }
            guard let s = value.stringValue else {
                throw .signIn(.invalidMessage, detail: "structured field \"\(key)\" is not a string")
            }
            return s
        }
        let domain = try string("domain", required: true) ?? ""
        let address = try string("address", required: true) ?? ""
        let uri = try string("uri", required: true) ?? ""
        let version = try string("version", required: false) ?? "1"
        let nonce = try string("nonce", required: true) ?? ""
        if nonce.isEmpty { throw .signIn(.missingNonce, detail: "structured nonce is empty") }
        let issuedAt = try string("issuedAt", required: true) ?? ""
        let statement = try string("statement", required: false)
        let expiration = try string("expirationTime", required: false)
        let notBefore = try string("notBefore", required: false)
        let requestId = try string("requestId", required: false)
        var resources: [String]?
        if let list = object["resources"], !list.isNull {
            guard let items = list.arrayValue else { throw .signIn(.invalidMessage, detail: "\"resources\" is not an array") }
            var out: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw .signIn(.invalidMessage, detail: "a resource is not a string") }
                out.append(s)
            }
            resources = out.isEmpty ? nil : out
        }
        var text = domain + SiweMessage.headerSuffix + "\n" + address + "\n\n"
        if let statement { text += statement + "\n" }
        text += "\nURI: " + uri + "\nVersion: " + version + "\nChain ID: " + String(chainId) + "\nNonce: " + nonce
        text += "\nIssued At: " + issuedAt
        if let expiration { text += "\nExpiration Time: " + expiration }
        if let notBefore { text += "\nNot Before: " + notBefore }
        if let requestId { text += "\nRequest ID: " + requestId }
        if let resources {
            text += "\nResources:"
            for r in resources { text += "\n- " + r }
        }
        return text
    }
}

extension String {
    var trimmingASCIIWhitespace: Substring {
        var s = Substring(self)
        while let f = s.utf8.first, f == 32 || f == 9 { s = s.dropFirst() }
        while let l = s.utf8.last, l == 32 || l == 9 { s = s.dropLast() }
        return s
    }
}
