public import HTTPTypes
import Foundation
public import WalletCrypto
import X402Protocol

/// Errors the agent answers itself, as `{"error": {"code": "AGENT_…", "message": "…"}}`.
/// Messages say what to do next and never contain a secret.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: [(String, String)] = []
    /// Extra fields placed beside `code` and `message` (e.g. a refusal `reason`).
    public var extra: [(String, JSONValue)] = []

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func locked() -> AgentError {
        AgentError(.init(code: 423, reasonPhrase: "Locked"), "AGENT_LOCKED",
                   "the agent is locked; unlock it with `venice-agent unlock` (POST /agent/v1/unlock)")
    }

    public static func forbiddenPeer(uid: UInt32) -> AgentError {
        AgentError(.forbidden, "AGENT_PEER_REFUSED",
                   "uid \(uid) may not use this agent; add it to allowed_uids in the agent's config to grant access")
    }

    public static func unknownRoute(method: String, path: String) -> AgentError {
        AgentError(.notFound, "AGENT_UNKNOWN_ROUTE",
                   "\(method) \(path) is not a route the agent serves; see /agent/v1/status and the README for the allow-list")
    }

    public static func agentOwned(path: String) -> AgentError {
        AgentError(.forbidden, "AGENT_ROUTE_OWNED",
                   "\(path) is handled by the agent itself; use POST /agent/v1/topup or /agent/v1/apikey/mint instead")
    }

    public static func queueFull(retryAfter: Int) -> AgentError {
        var e = AgentError(.serviceUnavailable, "AGENT_QUEUE_FULL",
                           "too many requests are waiting for Venice; retry in \(retryAfter) s")
        e.headers = [("Retry-After", String(retryAfter))]
        return e
    }

    public static func bodyTooLarge(limit: Int) -> AgentError {
        AgentError(.contentTooLarge, "AGENT_BODY_TOO_LARGE",
                   "the request body exceeds the agent's limit of \(limit) bytes (max_request_body in the config)")
    }

    public static func noKeyMinted() -> AgentError {
        AgentError(.conflict, "AGENT_NO_API_KEY",
                   "this route needs a minted Venice API key and none exists yet; mint one with `venice-agent apikey mint --type ADMIN`")
    }

    public static func budgetExceeded(client: String, limit: String, limitMicro: Int64, spentMicro: Int64, estimateMicro: Int64) -> AgentError {
        func usd(_ m: Int64) -> String { Money.text(m, decimals: 4) }
        var e = AgentError(.init(code: 402, reasonPhrase: "Payment Required"), "AGENT_BUDGET_EXCEEDED",
                           limit == "daily_usd"
                           ? "client \(client) has spent $\(usd(spentMicro)) of its $\(usd(limitMicro)) daily budget and this request is estimated at $\(usd(estimateMicro)); it resets at 00:00 UTC or the owner can raise daily_usd"
                           : "this request is estimated at $\(usd(estimateMicro)), above client \(client)'s limit of $\(usd(limitMicro)) per request (max_request_usd)")
        e.extra = [("client", .string(client)), ("limit", .string(limit)), ("limit_usd", .number(usd(limitMicro))),
                   ("spent_usd", .number(usd(spentMicro))), ("estimate_usd", .number(usd(estimateMicro)))]
        return e
    }

    public static func priceUnknown(client: String, reason: String) -> AgentError {
        var e = AgentError(.init(code: 402, reasonPhrase: "Payment Required"), "AGENT_PRICE_UNKNOWN",
                           "client \(client) has spending limits and the price of this request cannot be bounded in advance (\(reason)); it was not sent. Use a route and model the agent can price, or ask the owner for a client without limits")
        e.extra = [("client", .string(client)), ("reason", .string(reason))]
        return e
    }

    /// An unlock that was not attempted: another is running, or a failure delay is in force.
    public static func unlockRefused(code: String, message: String, retryAfterSeconds: Int64) -> AgentError {
        var e = AgentError(.tooManyRequests, code, message)
        e.headers = [("Retry-After", String(max(1, retryAfterSeconds)))]
        return e
    }

    /// A management route called by a caller that is not the owner's own program.
    static func notAdministrator(_ caller: Caller) -> AgentError {
        let who: String
        switch caller.policy.source {
        case .token: who = "client \(caller.policy.name) may not manage the agent; run this as the owner without a client token"
        case .binding(let target): who = "programs bound to \(target) may not manage the agent; run this from another program of the owner"
        case .otherUID(let uid): who = "uid \(uid) may not manage the agent; only its owner can"
        case .defaultClient: who = "the owner's programs may not manage this agent ([default] admin = false in its config)"
        }
        return AgentError(.forbidden, "AGENT_NOT_ALLOWED", who)
    }

    public static func badRequest(_ message: String) -> AgentError {
        AgentError(.badRequest, "AGENT_BAD_REQUEST", message)
    }

    public var jsonBody: String {
        var inner = JSONObject([("code", .string(code)), ("message", .string(message))])
        for (key, value) in extra { inner[key] = value }
        return JSONValue.object(JSONObject([("error", .object(inner))])).serialized()
    }
}

