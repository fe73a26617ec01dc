import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import VeniceClient
import WalletCrypto
import X402Protocol

/// Mints Venice API keys with the two-step `generate_web3_key` flow (GET a token, sign that
/// exact string with EIP-191, POST at once; refetch once if the token went stale), stores
/// them sealed, serves the Bearer-only routes with the newest ADMIN key, revokes keys, and
/// renews keys that are about to expire (mint new, switch, revoke old; audited).
public final class ApiKeyService: Service, Sendable {
    let store: ApiKeyStore
    let upstream: AgentUpstream
    let session: KeySession
    let logger: Logger
    let renewalCheck: Duration
    /// Renew when less than this fraction of the key's lifetime is left.
    let renewFraction: Double

    init(ledger: AgentLedger, upstream: AgentUpstream, session: KeySession, logger: Logger,
         renewalCheck: Duration = .seconds(30), renewFraction: Double = 0.1) {
        self.store = ApiKeyStore(ledger: ledger)
        self.upstream = upstream
        self.session = session
        self.logger = logger
        self.renewalCheck = renewalCheck
        self.renewFraction = renewFraction
    }

    var ledger: AgentLedger { store.ledger }

    public struct MintRequest: Sendable {
        public var type: String
        public var description: String?
        public var usdLimit: Double?
        public var diemLimit: Double?
        public var limitPeriod: String?
        public var expiresAt: String?
    }

    static func parse(_ body: JSONValue) throws(AgentError) -> MintRequest {
        guard let type = body["type"]?.stringValue, ["ADMIN", "INFERENCE"].contains(type) else {
            throw .badRequest("\"type\" must be \"ADMIN\" or \"INFERENCE\"")
        }
        let limitPeriod = body["limit_period"]?.stringValue
        if let limitPeriod, !["EPOCH", "MONTH", "LIFETIME"].contains(limitPeriod) {
            throw .badRequest("\"limit_period\" must be EPOCH, MONTH or LIFETIME")
        }
        let description = body["description"]?.stringValue
        if let description, description.count > 64 { throw .badRequest("\"description\" must be at most 64 characters") }
        let expiresAt = body["expires_at"]?.stringValue
        if let expiresAt, !expiresAt.isEmpty, Timestamp.milliseconds(expiresAt) == nil {
            throw .badRequest("\"expires_at\" must be YYYY-MM-DD or an ISO 8601 UTC time like 2027-01-01T00:00:00Z")
        }
        return MintRequest(type: type, description: description, usdLimit: body["usd_limit"]?.doubleValue,
                           diemLimit: body["diem_limit"]?.doubleValue, limitPeriod: limitPeriod,
                           expiresAt: expiresAt?.isEmpty == true ? nil : expiresAt)
    }

    // MARK: mint

    func mint(_ request: MintRequest) async throws(AgentError) -> ApiKeyStore.Record {
        guard session.isUnlocked else { throw .locked() }
        var lastError: AgentError?
        for _ in 0..<2 {
            let token = try await fetchToken()
            let signature: Signature
            do { signature = try session.signPersonalMessage(Array(token.utf8)) } catch {
                throw session.isUnlocked ? AgentError(.internalServerError, "AGENT_SIGNING_FAILED", error.description) : .locked()
            }
            var body = JSONObject([("address", .string(session.address.checksummed)), ("signature", .string(signature.hex)),
                                   ("token", .string(token)), ("apiKeyType", .string(request.type))])
            if let d = request.description { body["description"] = .string(d) }
            if let e = request.expiresAt { body["expiresAt"] = .string(e) }
            if request.usdLimit != nil || request.diemLimit != nil {
                body["consumptionLimit"] = .object(JSONObject([
                    ("usd", request.usdLimit.map { .number(String($0)) } ?? .null),
                    ("diem", request.diemLimit.map { .number(String($0)) } ?? .null),
                ]))
            }
            if let p = request.limitPeriod { body["limitPeriod"] = .string(p) }
            let answer = try await call("POST", "/api_keys/generate_web3_key", json: .object(body))
            if answer.status == 200, let data = answer.json?["data"], let id = data["id"]?.stringValue,
               let secret = data["apiKey"]?.stringValue {
                do {
                    try store.store(id: id, type: request.type, secret: secret, description: data["description"]?.stringValue ?? request.description ?? "Web3 API Key",
                                    usdLimit: request.usdLimit, diemLimit: request.diemLimit,
                                    limitPeriod: data["limitPeriod"]?.stringValue ?? request.limitPeriod,
                                    expiresAt: data["expiresAt"]?.stringValue ?? request.expiresAt, session: session)
                } catch {
                    throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "the key was minted (id \(id)) but could not be stored; revoke it from Venice's dashboard: \(error)")
                }
                ledger.audit("apikey_minted", "\(id) \(request.type) …\(secret.suffix(6))")
                guard let record = try? store.record(id: id) else {
                    throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "the minted key could not be read back")
                }
                return record
            }
            let message = answer.json?["error"]?.stringValue ?? answer.json?["message"]?.stringValue ?? "status \(answer.status)"
            let lower = message.lowercased()
            if lower.contains("staked vvv") {
                throw AgentError(.forbidden, "AGENT_NO_STAKED_VVV",
                                 "Venice mints API keys only for wallets with staked VVV on Base: \(message)")
            }
            if lower.contains("token") && (lower.contains("expired") || lower.contains("invalid")) {
                lastError = AgentError(.badGateway, "AGENT_TOKEN_EXPIRED", "the generate_web3_key token was stale twice: \(message)")
                continue  // fetch a fresh token and try once more
            }
            if lower.contains("signature") {
                throw AgentError(.badGateway, "AGENT_BAD_SIGNATURE", "Venice rejected the signature of the key token: \(message)")
            }
            throw AgentError(.badGateway, "AGENT_MINT_FAILED", "Venice refused to mint the key: \(message)")
        }
        throw lastError ?? AgentError(.badGateway, "AGENT_MINT_FAILED", "minting failed")
    }

    func fetchToken() async throws(AgentError) -> String {
        let answer = try await call("GET", "/api_keys/generate_web3_key", json: nil)
        guard answer.status == 200, let token = answer.json?["data"]?["token"]?.stringValue, !token.isEmpty else {
            throw AgentError(.badGateway, "AGENT_MINT_FAILED", "Venice did not hand out a key token (status \(answer.status))")
        }
        return token
    }

    // MARK: use, list, revoke

    /// The secret of the newest live ADMIN key, unsealed for one upstream call.
    func activeAdminSecret() -> String? {
        guard session.isUnlocked, let record = try? store.activeAdmin(nowMilliseconds: AgentLedger.nowMilliseconds()) else { return nil }
        return try? store.unseal(record, session: session)
    }

    var hasActiveAdminKey: Bool { (try? store.activeAdmin(nowMilliseconds: AgentLedger.nowMilliseconds())) != nil }

    func list() throws(AgentError) -> [ApiKeyStore.Record] {
        do { return try store.all() } catch { throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read keys: \(error)") }
    }

    func revoke(id: String) async throws(AgentError) {
        guard let record = try? store.record(id: id), record.revokedAt == nil else {
            throw AgentError(.notFound, "AGENT_UNKNOWN_KEY", "no live minted key with id \(id); see venice-agent apikey list")
        }
        guard session.isUnlocked else { throw .locked() }
        // Authenticate with this key itself if it is ADMIN, else with the active ADMIN key.
        let secret = record.type == "ADMIN" ? try? store.unseal(record, session: session) : activeAdminSecret()
        guard let secret else {
            throw AgentError(.conflict, "AGENT_NO_API_KEY", "revoking an INFERENCE key needs a live ADMIN key; mint one with venice-agent apikey mint --type ADMIN")
        }
        let answer = try await call("DELETE", "/api_keys", query: "id=\(id)", json: nil, bearer: secret)
        let message = answer.json?["error"]?.stringValue ?? ""
        guard answer.status == 200 || message.contains("could not be found") else {
            throw AgentError(.badGateway, "AGENT_REVOKE_FAILED", "Venice did not revoke key \(id): \(answer.status) \(message)")
        }
        try? store.markRevoked(id: id)
        ledger.audit("apikey_revoked", id)
    }

    // MARK: renewal

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.renewalCheck) }
            if Task.isShuttingDownGracefully { break }
            await renewExpiring(now: AgentLedger.nowMilliseconds())
        }
    }

    /// Renews live keys with less than `renewFraction` of their lifetime left.
    func renewExpiring(now: Int64) async {
        guard session.isUnlocked, let keys = try? store.all() else { return }
        for key in keys where key.revokedAt == nil {
            guard let expires = Timestamp.milliseconds(key.expiresAt), expires > now else { continue }
            let lifetime = max(expires - key.createdAt, 60_000)
            guard Double(expires - now) < Double(lifetime) * renewFraction else { continue }
            let newExpiry = Timestamp.iso(now + lifetime)
            do {
                let fresh = try await mint(MintRequest(type: key.type, description: key.description, usdLimit: key.usdLimit,
                                                       diemLimit: key.diemLimit, limitPeriod: key.limitPeriod, expiresAt: newExpiry))
                try? await revoke(id: key.id)
                ledger.audit("apikey_renewed", "\(key.id) → \(fresh.id) (expires \(newExpiry))")
                logger.notice("renewed an expiring API key", metadata: ["old": "\(key.id)", "new": "\(fresh.id)"])
            } catch {
                ledger.audit("apikey_renewal_failed", "\(key.id): \(error.message)")
            }
        }
    }

    // MARK: plumbing

    struct Answer {
        let status: Int
        let json: JSONValue?
    }

    func call(_ method: String, _ path: String, query: String? = nil, json: JSONValue?, bearer: String? = nil) async throws(AgentError) -> Answer {
        var headers = HTTPHeaders()
        var body: UpstreamRequest.Body = .none
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            body = .buffered(ByteBuffer(string: json.serialized()))
        }
        if let bearer { headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        let route = VeniceRoute(method: method, path: path, auth: .none, group: .billing)
        do {
            let answer = try await upstream.fetch(UpstreamRequest(route: route, query: query, headers: headers, body: body))
            return Answer(status: answer.status, json: try? JSONValue(parsing: answer.body))
        } catch {
            throw AgentError(.badGateway, error.code, error.description)
        }
    }


    static func json(_ r: ApiKeyStore.Record) -> JSONValue {
        .object(JSONObject([
            ("id", .string(r.id)), ("type", .string(r.type)), ("last6", .string(r.last6)), ("description", .string(r.description)),
            ("usd_limit", r.usdLimit.map { .number(String($0)) } ?? .null), ("diem_limit", r.diemLimit.map { .number(String($0)) } ?? .null),
            ("limit_period", r.limitPeriod.map(JSONValue.string) ?? .null), ("expires_at", r.expiresAt.map(JSONValue.string) ?? .null),
            ("revoked", .bool(r.revokedAt != nil)),
        ]))
    }
}
