public import NIOCore
public import NIOHTTP1
public import WalletCrypto
public import X402Protocol

/// Whatever lends upstream slots (Venice admits 5 signed-in requests per wallet at once): the
/// agent's scheduler. A signed-in call of `VeniceAPI` runs inside one slot.
public protocol UpstreamSlots: Sendable {
    func withSlot<T: Sendable>(_ body: @Sendable () async throws(VeniceClientError) -> T) async throws(VeniceClientError) -> T
}

/// The calls the agent makes to Venice on its own behalf, typed: wallet balance and
/// transactions, top-up discovery and settlement, the web3 key token, minting and revoking,
/// model listings and quotes. Answers are small and read whole; what Venice's status codes
/// and error codes mean is decided here, once.
public struct VeniceAPI: Sendable {
    /// A whole, small answer.
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
        public var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    let client: UpstreamClient
    let slots: any UpstreamSlots
    /// The wallet whose balance and transactions are read (`me` in Venice's paths).
    public let wallet: EthereumAddress
    /// Largest answer read whole.
    let answerLimit: Int

    public init(client: UpstreamClient, slots: any UpstreamSlots, wallet: EthereumAddress, answerLimit: Int = 8 << 20) {
        self.client = client
        self.slots = slots
        self.wallet = wallet
        self.answerLimit = answerLimit
    }

    public var baseURL: UpstreamBaseURL { client.baseURL }

    // MARK: public routes

    /// `GET /models?type=…`: the listed models, by id.
    public func models(type: String) async throws(VeniceClientError) -> [String: JSONValue] {
        let answer = try await fetch("GET", "/models", query: "type=\(type)", group: .models)
        guard answer.status == 200, let list = answer.json?["data"]?.arrayValue else { throw Self.unexpected(answer) }
        var models: [String: JSONValue] = [:]
        for item in list { if let id = item["id"]?.stringValue { models[id] = item } }
        return models
    }

    /// `POST /audio/quote`: the quoted price in USD, as Venice wrote it (not yet money).
    public func audioQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
        let answer = try await fetch("POST", "/audio/quote", json: body, group: .audio)
        guard answer.status == 200, let usd = answer.json?["quote"]?.doubleValue else { throw Self.unexpected(answer) }
        return usd
    }

    /// `POST /video/quote`: the quoted price in USD, as Venice wrote it (not yet money). With
    /// the minted key when there is one (Venice answers upscale models only to a key).
    public func videoQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
        let answer = try await fetch("POST", "/video/quote", json: body, auth: .bearerIfAvailable, group: .video)
        guard answer.status == 200, let usd = answer.json?["quote"]?.doubleValue else { throw Self.unexpected(answer) }
        return usd
    }

    /// `POST /audio/voice-changer/quote` (`model`, `duration_seconds`): the quoted price in USD,
    /// as Venice wrote it (not yet money). Public, like `/audio/quote`.
    public func voiceChangerQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
        let answer = try await fetch("POST", "/audio/voice-changer/quote", json: body, group: .audio)
        guard answer.status == 200, let usd = answer.json?["quote"]?.doubleValue else { throw Self.unexpected(answer) }
        return usd
    }

    // MARK: wallet (signed in)

    /// `GET /x402/balance/{wallet}`: the `data` object (`balanceUsd`, `canConsume`, …).
    public func balance() async throws(VeniceClientError) -> JSONValue {
        let answer = try await fetch("GET", "/x402/balance/\(wallet.lowercasedHex)", template: "/x402/balance/me", auth: .signIn, group: .wallet)
        guard answer.status == 200, let data = answer.json?["data"], data.objectValue != nil else { throw Self.unexpected(answer) }
        return data
    }

    /// `GET /x402/transactions/{wallet}`: one page of ledger rows, newest first.
    public func transactions(limit: Int, offset: Int) async throws(VeniceClientError) -> [JSONValue] {
        let answer = try await fetch("GET", "/x402/transactions/\(wallet.lowercasedHex)", template: "/x402/transactions/me",
                                     query: "limit=\(max(1, min(limit, 100)))&offset=\(max(0, offset))", auth: .signIn, group: .wallet)
        guard answer.status == 200, let rows = answer.json?["data"]?["transactions"]?.arrayValue else { throw Self.unexpected(answer) }
        return rows
    }

    // MARK: top-up

    /// `POST /x402/top-up` without payment: the 402 with the payment requirements, bound to the
    /// origin this client itself called (so a `payTo` can only come from there).
    public func topUpRequirements() async throws(VeniceClientError) -> FetchedPaymentRequired {
        let answer = try await fetch("POST", "/x402/top-up", group: .wallet)
        guard answer.status == 402 else {
            throw .unexpectedAnswer(status: answer.status, message: "top-up discovery should answer 402 with payment requirements")
        }
        do {
            return try FetchedPaymentRequired.fetched(from: client.baseURL.origin, headerValue: answer.headers.first(name: "payment-required"),
                                                      body: answer.body)
        } catch {
            throw .unexpectedAnswer(status: 402, message: "the payment requirements are unreadable: \(error.description)")
        }
    }

    /// What Venice made of a signed top-up.
    public enum TopUpOutcome: Sendable, Equatable {
        case credited(amountUSD: Double?, newBalanceUSD: Double?, paymentId: String?, transaction: String?)
        /// This very authorization was credited by an earlier submission.
        case alreadyProcessed
        /// Settling, timed out or busy: resubmit the same payload later, never re-sign.
        case notYetKnown(status: Int, code: String?)
        /// The authorization no longer verifies (it may have been used by an earlier send).
        case verificationFailed
        case refused(status: Int, code: String?, message: String?)
    }

    /// `POST /x402/top-up` with `PAYMENT-SIGNATURE`.
    public func submitTopUp(paymentSignature: String) async throws(VeniceClientError) -> TopUpOutcome {
        var headers = HTTPHeaders()
        headers.add(name: "PAYMENT-SIGNATURE", value: paymentSignature)
        let answer = try await fetch("POST", "/x402/top-up", headers: headers, group: .wallet)
        let code = Self.errorCode(answer.json)
        switch answer.status {
        case 200:
            let data = answer.json?["data"]
            let transaction = answer.headers.first(name: "payment-response").flatMap { try? SettlementResponse(headerValue: $0) }?.transaction
            return .credited(amountUSD: data?["amountCredited"]?.doubleValue, newBalanceUSD: data?["newBalance"]?.doubleValue,
                             paymentId: data?["paymentId"]?.stringValue, transaction: transaction)
        case 409 where code == "PAYMENT_ALREADY_PROCESSED":
            return .alreadyProcessed
        case 409, 504, 429, 503:
            return .notYetKnown(status: answer.status, code: code)
        case 400 where code == "PAYMENT_VERIFICATION_FAILED":
            return .verificationFailed
        default:
            return .refused(status: answer.status, code: code, message: Self.errorMessage(answer.json))
        }
    }

    // MARK: web3 API keys

    /// `GET /api_keys/generate_web3_key`: the token to sign (valid a few minutes).
    public func web3KeyToken() async throws(VeniceClientError) -> String {
        let answer = try await fetch("GET", "/api_keys/generate_web3_key", group: .billing)
        guard answer.status == 200, let token = answer.json?["data"]?["token"]?.stringValue, !token.isEmpty else { throw Self.unexpected(answer) }
        return token
    }

    public enum MintOutcome: Sendable {
        /// `data` of the answer; `id` and `secret` are checked to be there.
        case minted(id: String, secret: String, data: JSONValue)
        case refused(status: Int, message: String)
    }

    /// `POST /api_keys/generate_web3_key` with the signed token.
    public func mintWeb3Key(_ body: JSONObject) async throws(VeniceClientError) -> MintOutcome {
        let answer = try await fetch("POST", "/api_keys/generate_web3_key", json: .object(body), group: .billing)
        if answer.status == 200, let data = answer.json?["data"], let id = data["id"]?.stringValue, let secret = data["apiKey"]?.stringValue {
            return .minted(id: id, secret: secret, data: data)
        }
        return .refused(status: answer.status, message: Self.errorMessage(answer.json) ?? "status \(answer.status)")
    }

    public enum RevokeOutcome: Sendable, Equatable {
        case revoked
        /// Venice no longer knows the key.
        case unknownKey
        case refused(status: Int, message: String)
    }

    /// `DELETE /api_keys?id=…`, authenticated with `bearer` (an ADMIN key).
    public func revokeAPIKey(id: String, bearer: String) async throws(VeniceClientError) -> RevokeOutcome {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(bearer)")
        let answer = try await fetch("DELETE", "/api_keys", query: "id=\(RFC3986.percentEncoded(id))", headers: headers, group: .billing)
        let message = Self.errorMessage(answer.json) ?? ""
        if answer.status == 200 { return .revoked }
        if message.contains("could not be found") { return .unknownKey }
        return .refused(status: answer.status, message: message)
    }

    // MARK: plumbing

    /// One call, read whole; signed-in calls take a slot for their duration.
    func fetch(_ method: String, _ path: String, template: String? = nil, query: String? = nil, headers: HTTPHeaders = HTTPHeaders(),
               json: JSONValue? = nil, auth: VeniceRoute.Auth = .none, group: VeniceRoute.Group) async throws(VeniceClientError) -> Answer {
        var headers = headers
        var body: UpstreamRequest.Body = .none
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            body = .buffered(ByteBuffer(bytes: json.serializedBytes()))
        }
        let request = UpstreamRequest(route: VeniceRoute(method: method, path: path, template: template, auth: auth, group: group),
                                      query: query, headers: headers, body: body)
        let client = self.client
        let limit = answerLimit
        let call: @Sendable () async throws(VeniceClientError) -> Answer = {
            try await Self.readWhole(try await client.execute(request), limit: limit)
        }
        return auth == .signIn ? try await slots.withSlot(call) : try await call()
    }

    static func readWhole(_ response: UpstreamResponse, limit: Int) async throws(VeniceClientError) -> Answer {
        let buffer: ByteBuffer
        switch response.body {
        case .buffered(let b):
            buffer = b
        case .stream(let stream):
            do { buffer = try await stream.collect(upTo: limit) } catch {
                throw .lostAfterSend("the answer could not be read whole (\(type(of: error)))")
            }
        }
        return Answer(status: response.status, headers: response.headers, body: Array(buffer.readableBytesView))
    }

    static func unexpected(_ answer: Answer) -> VeniceClientError {
        .unexpectedAnswer(status: answer.status, message: errorMessage(answer.json) ?? "")
    }

    /// Venice's error code, with the `X402_` prefix of payment errors dropped (the sign-in
    /// codes keep theirs): `PAYMENT_ALREADY_PROCESSED`, `INVALID_PAYMENT`, …
    static func errorCode(_ json: JSONValue?) -> String? {
        guard let code = json?["code"]?.stringValue ?? json?["error"]?.stringValue else { return nil }
        return code.hasPrefix("X402_") && !code.hasPrefix("X402_SIGN_IN") && code != "X402_NOT_CONFIGURED" && code != "X402_CONCURRENCY_LIMIT"
            ? String(code.dropFirst(5)) : code
    }

    static func errorMessage(_ json: JSONValue?) -> String? {
        json?["message"]?.stringValue ?? json?["error"]?.stringValue ?? json?["error"]?["message"]?.stringValue
    }
}
