public import HTTPTypes
public import Hummingbird
import NIOCore
public import VeniceClient
public import WalletCrypto
public import X402Protocol

/// Everything the agent refuses or fails with itself, answered as
/// `{"error": {"code": "AGENT_…", "message": "…", "type": "…", …}}` — the shape OpenAI's SDKs
/// read, so an app shows the message. Each case has a stable code, a status,
/// and a message that says what to do next; none carries a secret. Control flow switches on
/// cases, never on the text of a code or message.
public enum AgentError: Error, Sendable, CustomStringConvertible, HTTPResponseError {
    // Who is calling.
    case peerUnknown(String)
    case peerRefused(uid: UInt32)
    case peerChanged
    case badClientToken(String)
    case unknownClientToken
    case notAdministrator(ClientPolicy.Source, client: String)
    case routeNotAllowed(client: String, group: String, allowed: String)
    case walletNotAllowed(client: String)
    /// Over TCP every request needs a client token.
    case tokenRequired
    /// Over TCP: a Host that is not the listener's own loopback name (DNS rebinding).
    case hostRefused(host: String, listener: String)
    /// Over TCP: a browser page from a non-loopback origin.
    case originRefused(origin: String)
    /// Over TCP: a route served only over the Unix socket (the owner's API, metrics).
    case socketOnly(path: String)
    /// The listener started for the dashboard serves nothing else.
    case dashboardOnly(path: String)
    /// A dashboard link's code was used already, expired, or is not this agent's.
    case dashboardCodeRefused
    /// A dashboard page or view without a live session cookie.
    case dashboardSessionRequired
    case dashboardUnavailable(String)

    // What is asked.
    case unknownRoute(method: String, path: String)
    case agentOwned(path: String)
    case badRequest(String)
    case bodyTooLarge(limit: Int)

    // The key.
    case locked
    case unlockBusy
    case unlockDelayed(retryAfterSeconds: Int64)
    case wrongPassword(keystore: String)
    case unlockFailed(String)
    case publicKeyRefused(address: String)
    case signingFailed(String)

    // Budgets and clients.
    case budgetExceeded(client: String, limit: BudgetLimit, limitMicro: Int64, spentMicro: Int64, estimateMicro: Int64)
    case priceUnknown(client: String, reason: String)
    case modelNotAllowed(client: String, model: String?, allowed: String)
    case rateLimited(client: String, limit: RateLimit, value: Int, retryAfterSeconds: Int)
    case clientExpired(name: String, at: String)
    case clientTooBroad(name: String, reason: String)
    case clientExists(name: String)
    /// A client without `may_topup` asked for a top-up.
    case topUpNotAllowed(client: String, usd: Double)
    case unknownClient(name: String)

    // The way upstream.
    case queueFull(retryAfterSeconds: Int)
    /// Too many bytes of request bodies are held whole at once.
    case busy(retryAfterSeconds: Int)
    case cancelled
    case shuttingDown
    case upstream(VeniceClientError)
    case noKeyMinted
    case invalidUpstream(String)

    // Payments.
    case paymentPending(id: String)
    case paymentRefused(reason: PaymentRefusal?, detail: String)
    case topUpFailed(String, upstreamStatus: Int? = nil, upstreamCode: String? = nil)
    case topUpUnknown(String)
    case balanceFailed(String)

    // Minted keys.
    case noStakedVVV(String)
    case keyTokenRejected(String)
    case keySignatureRejected(String)
    case mintFailed(String)
    case unknownKey(id: String)
    case unknownRequest(id: String)
    case revokeFailed(String)

    // The ledger.
    case ledger(String)

    public enum BudgetLimit: String, Sendable {
        case perRequest = "max_request_usd"
        case daily = "daily_usd"
        case monthly = "monthly_usd"
    }

    public enum RateLimit: String, Sendable {
        case perMinute = "requests_per_minute"
        case parallel = "max_parallel"
    }

    public var status: HTTPResponse.Status {
        switch self {
        case .peerUnknown, .peerRefused, .peerChanged, .notAdministrator, .routeNotAllowed, .walletNotAllowed, .agentOwned,
             .publicKeyRefused, .clientTooBroad, .paymentRefused, .noStakedVVV, .hostRefused, .originRefused, .socketOnly:
            .forbidden
        case .badClientToken, .unknownClientToken, .wrongPassword, .tokenRequired, .clientExpired, .dashboardSessionRequired: .unauthorized
        case .dashboardOnly, .dashboardCodeRefused: .forbidden
        case .dashboardUnavailable: .serviceUnavailable
        case .modelNotAllowed, .topUpNotAllowed: .forbidden
        case .rateLimited: .tooManyRequests
        case .unknownRoute, .unknownClient, .unknownKey, .unknownRequest: .notFound
        case .badRequest: .badRequest
        case .bodyTooLarge: .contentTooLarge
        case .locked: .init(code: 423, reasonPhrase: "Locked")
        case .unlockBusy, .unlockDelayed: .tooManyRequests
        case .unlockFailed, .signingFailed, .invalidUpstream, .ledger: .internalServerError
        case .budgetExceeded, .priceUnknown: .init(code: 402, reasonPhrase: "Payment Required")
        case .clientExists, .noKeyMinted, .paymentPending: .conflict
        case .queueFull, .cancelled, .shuttingDown, .busy: .serviceUnavailable
        case .upstream(let error):
            switch error {
            case .signerLocked: .init(code: 423, reasonPhrase: "Locked")
            case .signing: .internalServerError
            case .noBearerKey: .conflict
            case .noSlot: .serviceUnavailable
            case .invalidUpstream: .internalServerError
            case .unreachable, .lostAfterSend, .unexpectedAnswer: .badGateway
            }
        case .topUpFailed, .balanceFailed, .keyTokenRejected, .keySignatureRejected, .mintFailed, .revokeFailed: .badGateway
        case .topUpUnknown: .gatewayTimeout
        }
    }

    public var code: String {
        switch self {
        case .peerUnknown: "AGENT_PEER_UNKNOWN"
        case .peerRefused: "AGENT_PEER_REFUSED"
        case .peerChanged: "AGENT_PEER_CHANGED"
        case .badClientToken: "AGENT_BAD_CLIENT_TOKEN"
        case .unknownClientToken, .unknownClient: "AGENT_UNKNOWN_CLIENT"
        case .notAdministrator: "AGENT_NOT_ALLOWED"
        case .routeNotAllowed, .walletNotAllowed: "AGENT_ROUTE_NOT_ALLOWED"
        case .tokenRequired: "AGENT_TOKEN_REQUIRED"
        case .hostRefused: "AGENT_HOST_REFUSED"
        case .originRefused: "AGENT_ORIGIN_REFUSED"
        case .socketOnly: "AGENT_SOCKET_ONLY"
        case .dashboardOnly: "AGENT_DASHBOARD_ONLY"
        case .dashboardCodeRefused: "AGENT_DASHBOARD_CODE_REFUSED"
        case .dashboardSessionRequired: "AGENT_DASHBOARD_SESSION_REQUIRED"
        case .dashboardUnavailable: "AGENT_DASHBOARD_UNAVAILABLE"
        case .unknownRoute: "AGENT_UNKNOWN_ROUTE"
        case .agentOwned: "AGENT_ROUTE_OWNED"
        case .badRequest: "AGENT_BAD_REQUEST"
        case .bodyTooLarge: "AGENT_BODY_TOO_LARGE"
        case .locked: "AGENT_LOCKED"
        case .unlockBusy: "AGENT_UNLOCK_BUSY"
        case .unlockDelayed: "AGENT_UNLOCK_DELAYED"
        case .wrongPassword: "AGENT_WRONG_PASSWORD"
        case .unlockFailed: "AGENT_UNLOCK_FAILED"
        case .publicKeyRefused: "AGENT_PUBLIC_KEY_REFUSED"
        case .signingFailed: "AGENT_SIGNING_FAILED"
        case .budgetExceeded: "AGENT_BUDGET_EXCEEDED"
        case .priceUnknown: "AGENT_PRICE_UNKNOWN"
        case .modelNotAllowed: "AGENT_MODEL_NOT_ALLOWED"
        case .rateLimited: "AGENT_RATE_LIMITED"
        case .clientExpired: "AGENT_CLIENT_EXPIRED"
        case .clientTooBroad: "AGENT_CLIENT_TOO_BROAD"
        case .clientExists: "AGENT_CLIENT_EXISTS"
        case .topUpNotAllowed: "AGENT_TOPUP_NOT_ALLOWED"
        case .queueFull: "AGENT_QUEUE_FULL"
        case .busy: "AGENT_BUSY"
        case .cancelled: "AGENT_CANCELLED"
        case .shuttingDown: "AGENT_SHUTTING_DOWN"
        case .upstream(let error):
            switch error {
            case .invalidUpstream: "AGENT_INVALID_UPSTREAM"
            case .unreachable: "AGENT_UPSTREAM_UNREACHABLE"
            case .lostAfterSend: "AGENT_UPSTREAM_CONNECTION_LOST"
            case .signing: "AGENT_SIGNING_FAILED"
            case .signerLocked: "AGENT_LOCKED"
            case .noBearerKey: "AGENT_NO_API_KEY"
            case .noSlot: "AGENT_QUEUE_FULL"
            case .unexpectedAnswer: "AGENT_UPSTREAM_ANSWER"
            }
        case .noKeyMinted: "AGENT_NO_API_KEY"
        case .invalidUpstream: "AGENT_INVALID_UPSTREAM"
        case .paymentPending: "AGENT_PAYMENT_PENDING"
        case .paymentRefused: "AGENT_PAYMENT_REFUSED"
        case .topUpFailed: "AGENT_TOPUP_FAILED"
        case .topUpUnknown: "AGENT_TOPUP_UNKNOWN"
        case .balanceFailed: "AGENT_BALANCE_FAILED"
        case .noStakedVVV: "AGENT_NO_STAKED_VVV"
        case .keyTokenRejected: "AGENT_TOKEN_EXPIRED"
        case .keySignatureRejected: "AGENT_BAD_SIGNATURE"
        case .mintFailed: "AGENT_MINT_FAILED"
        case .unknownKey: "AGENT_UNKNOWN_KEY"
        case .unknownRequest: "AGENT_UNKNOWN_REQUEST"
        case .revokeFailed: "AGENT_REVOKE_FAILED"
        case .ledger: "AGENT_LEDGER_ERROR"
        }
    }

    public var message: String {
        func usd(_ micro: Int64) -> String { Money.text(micro, decimals: 4) }
        switch self {
        case .peerUnknown(let why): return why
        case .peerRefused(let uid): return "uid \(uid) may not use this agent; add it to allowed_uids in the agent's config to grant access"
        case .peerChanged:
            return "the process on this connection is not the one that opened it (exec or exit since); open a new connection"
        case .badClientToken(let reason): return "\(reason); the request was not sent"
        case .unknownClientToken:
            return "the client token is not known to this agent (revoked?); ask the owner for a new one: venice-agent clients add NAME"
        case .notAdministrator(let source, let client):
            switch source {
            case .token: return "client \(client) may not manage the agent; run this as the owner without a client token"
            case .binding(let target): return "programs bound to \(target) may not manage the agent; run this from another program of the owner"
            case .otherUID(let uid): return "uid \(uid) may not manage the agent; only its owner can"
            case .defaultClient: return "the owner's programs may not manage this agent ([default] admin = false in its config)"
            }
        case .routeNotAllowed(let client, let group, let allowed):
            return "client \(client) may not use \(group) routes; its policy allows \(allowed)"
        case .walletNotAllowed(let client): return "client \(client) may not read wallet information (needs the wallet route group)"
        case .tokenRequired:
            return "the agent's TCP listener serves client tokens only: send Authorization: Bearer vat_… (the OPENAI_API_KEY that `venice-agent clients add NAME` prints)"
        case .hostRefused(let host, let listener):
            return "Host \(host) is not this agent's listener (\(listener)); call it as localhost, 127.0.0.1 or [::1] with its port"
        case .originRefused(let origin):
            return "requests from the web page \(origin) are refused: only programs on this machine (and loopback pages) may call the agent"
        case .socketOnly(let path):
            return "\(path) is served only over the agent's Unix socket, never over TCP; use the venice-agent command as the owner"
        case .dashboardOnly(let path):
            return "this listener was started for the dashboard only and does not serve \(path); set listen in the agent's config (or serve --listen) to serve apps over TCP"
        case .dashboardCodeRefused:
            return "this dashboard link was used already or has expired (links work once, for 5 minutes); run `venice-agent dashboard` for a new one"
        case .dashboardSessionRequired:
            return "no dashboard session: open the link `venice-agent dashboard` prints (sessions end after 12 h, when the agent locks, or when it restarts)"
        case .dashboardUnavailable(let why): return "the dashboard is unavailable: \(why)"
        case .unknownRoute(let method, let path):
            return "\(method) \(path) is not a route the agent serves; see /agent/v1/status and the README for the allow-list"
        case .agentOwned(let path): return "\(path) is handled by the agent itself; use POST /agent/v1/topup or /agent/v1/apikey/mint instead"
        case .badRequest(let message): return message
        case .bodyTooLarge(let limit): return "the request body exceeds the agent's limit of \(limit) bytes (max_request_body in the config)"
        case .locked: return "the agent is locked; unlock it with `venice-agent unlock` (POST /agent/v1/unlock)"
        case .unlockBusy: return "another unlock is in progress; wait for it to finish"
        case .unlockDelayed(let seconds): return "a wrong password was given recently; wait \(seconds) s before trying again"
        case .wrongPassword(let keystore): return "wrong password for \(keystore); try again"
        case .unlockFailed(let why): return why
        case .publicKeyRefused(let address): return "\(address) is a publicly known test key; it is refused against the real Venice API"
        case .signingFailed(let why): return why
        case .budgetExceeded(let client, let limit, let limitMicro, let spentMicro, let estimateMicro):
            switch limit {
            case .daily:
                return "client \(client) has spent $\(usd(spentMicro)) of its $\(usd(limitMicro)) daily budget and this request is estimated at $\(usd(estimateMicro)); it resets at 00:00 UTC or the owner can raise daily_usd"
            case .monthly:
                return "client \(client) has spent $\(usd(spentMicro)) of its $\(usd(limitMicro)) monthly budget and this request is estimated at $\(usd(estimateMicro)); it resets on the 1st at 00:00 UTC or the owner can raise monthly_usd"
            case .perRequest:
                return "this request is estimated at $\(usd(estimateMicro)), above client \(client)'s limit of $\(usd(limitMicro)) per request (max_request_usd)"
            }
        case .priceUnknown(let client, let reason):
            return "client \(client) has spending limits and the price of this request cannot be bounded in advance (\(reason)); it was not sent. Use a route and model the agent can price, or ask the owner for a client without limits"
        case .modelNotAllowed(let client, let model, let allowed):
            guard let model else {
                return "client \(client) may use only the models \(allowed), and this request names no model the agent can read; add \"model\""
            }
            return "client \(client) may not use the model \(model); its models are \(allowed) (ask the owner to add it with venice-agent clients)"
        case .rateLimited(let client, let limit, let value, let seconds):
            switch limit {
            case .perMinute: return "client \(client) made its \(value) requests of this minute (requests_per_minute); retry in \(seconds) s"
            case .parallel: return "client \(client) already has \(value) requests being answered (max_parallel); retry when one finishes"
            }
        case .clientExpired(let name, let at):
            return "the token of client \(name) expired at \(at); the owner can add the client again with a new expiry (venice-agent clients add)"
        case .clientTooBroad(let name, let reason):
            return "client \(name) would be broader than the policy creating it (\(reason)); narrow it or change [default] in the config"
        case .topUpNotAllowed(let client, let usd):
            let amount = Money.micro(usd: usd).map { $0 % 1_000_000 == 0 ? Money.text($0, decimals: 0) : Money.text($0) } ?? "10"
            return "client \(client) may not top up the wallet; nothing was paid. Ask the owner to run `venice-agent topup \(amount)`, "
                + "or to add the client with --may-topup to let it top up within the agent's caps"
        case .clientExists(let name): return "a client named \(name) already exists; remove it first or pick another name"
        case .unknownClient(let name): return "no client named \(name); see venice-agent clients list"
        case .queueFull(let seconds): return "too many requests are waiting for Venice; retry in \(seconds) s"
        case .busy(let seconds):
            return "the agent is holding too many large request bodies at once; retry in \(seconds) s, or send smaller bodies"
        case .cancelled: return "the request was cancelled while waiting for an upstream slot"
        case .shuttingDown: return "the agent is shutting down; retry once it is restarted"
        case .upstream(let error):
            switch error {
            case .signerLocked: return AgentError.locked.message
            case .noBearerKey: return AgentError.noKeyMinted.message
            default: return error.description
            }
        case .noKeyMinted:
            return "this route needs a minted Venice API key and none exists yet; mint one with `venice-agent apikey mint --type ADMIN`"
        case .invalidUpstream(let why): return why
        case .paymentPending(let id):
            return "a previous top-up (\(id)) has no known outcome yet; no new payment is made until it is resolved — retry in a minute"
        case .paymentRefused(let reason, let detail):
            return reason.map { X402Error.paymentRefused($0, detail: detail).description } ?? detail
        case .topUpFailed(let why, _, _), .topUpUnknown(let why), .balanceFailed(let why): return why
        case .noStakedVVV(let why), .keyTokenRejected(let why), .keySignatureRejected(let why), .mintFailed(let why), .revokeFailed(let why):
            return why
        case .unknownKey(let id): return "no live minted key with id \(id); see venice-agent apikey list"
        case .unknownRequest(let id): return "the ledger has no request with id \(id); use the X-Agent-Request-Id header of an answer from this agent"
        case .ledger(let why): return why
        }
    }

    public var description: String { "\(code): \(message)" }

    /// Response headers the error brings (Retry-After).
    public var headers: [(String, String)] {
        switch self {
        case .queueFull(let seconds), .busy(let seconds): [("Retry-After", String(seconds))]
        case .rateLimited(_, _, _, let seconds): [("Retry-After", String(max(1, seconds)))]
        case .unlockBusy: [("Retry-After", "1")]
        case .unlockDelayed(let seconds): [("Retry-After", String(max(1, seconds)))]
        default: []
        }
    }

    /// Fields placed beside `code` and `message`, for programs to act on.
    public var extra: [(String, JSONValue)] {
        func usd(_ micro: Int64) -> JSONValue { .number(Money.text(micro, decimals: 4)) }
        switch self {
        case .budgetExceeded(let client, let limit, let limitMicro, let spentMicro, let estimateMicro):
            return [("client", .string(client)), ("limit", .string(limit.rawValue)), ("limit_usd", usd(limitMicro)),
                    ("spent_usd", usd(spentMicro)), ("estimate_usd", usd(estimateMicro))]
        case .priceUnknown(let client, let reason):
            return [("client", .string(client)), ("reason", .string(reason))]
        case .modelNotAllowed(let client, let model, let allowed):
            return [("client", .string(client)), ("model", model.map(JSONValue.string) ?? .null), ("allowed", .string(allowed))]
        case .rateLimited(let client, let limit, let value, let seconds):
            return [("client", .string(client)), ("limit", .string(limit.rawValue)), ("limit_value", .number(String(value))),
                    ("retry_after_s", .number(String(seconds)))]
        case .paymentRefused(let reason?, _):
            return [("reason", .string(reason.rawValue))]
        case .topUpFailed(_, let status?, let code):
            return [("upstream_status", .number(String(status))), ("upstream_code", code.map(JSONValue.string) ?? .null)]
        default:
            return []
        }
    }

    /// OpenAI's error `type` for this status, so OpenAI-compatible apps classify it.
    public var openAIType: String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 402: "insufficient_quota"
        case 429: "rate_limit_error"
        case 400..<500: "invalid_request_error"
        default: "server_error"
        }
    }

    public var jsonBody: String {
        var inner = JSONObject([("code", .string(code)), ("message", .string(message)), ("type", .string(openAIType))])
        for (key, value) in extra { inner[key] = value }
        return JSONValue.object(JSONObject([("error", .object(inner))])).serialized()
    }

    /// Hummingbird renders a thrown `AgentError` with this (`HTTPResponseError`).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    public func response() -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: jsonBody)))
    }

    /// A failure of the upstream client, as the agent answers it.
    init(_ error: VeniceClientError) {
        switch error {
        case .signerLocked: self = .locked
        case .noBearerKey: self = .noKeyMinted
        default: self = .upstream(error)
        }
    }
}
