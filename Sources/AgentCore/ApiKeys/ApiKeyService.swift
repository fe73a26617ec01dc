import Foundation
import Logging
import Synchronization
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
    let venice: VeniceAPI
    let session: KeySession
    let logger: Logger
    let renewalCheck: Duration
    /// Renew when less than this fraction of the key's lifetime is left.
    let renewFraction: Double
    /// Pauses before retrying a mint Venice could not verify yet ("Could not verify wallet
    /// signature", 429, 5xx).
    let mintRetryDelays: [Duration]
    /// The `api_keys` table, mirrored in memory: the Bearer key is needed synchronously on
    /// every billing call, and reading it must not touch the database.
    private let records: Mutex<[ApiKeyStore.Record]>

    init(ledger: AgentLedger, venice: VeniceAPI, session: KeySession, logger: Logger,
         renewalCheck: Duration = .seconds(30), renewFraction: Double = 0.1,
         mintRetryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4)]) async throws {
        self.store = ApiKeyStore(ledger: ledger)
        self.venice = venice
        self.session = session
        self.logger = logger
        self.renewalCheck = renewalCheck
        self.renewFraction = renewFraction
        self.mintRetryDelays = mintRetryDelays
        self.records = Mutex(try await store.all())
    }

    var ledger: AgentLedger { store.ledger }

    /// Re-reads the table after a change (the mirror never drifts from what is stored).
    private func reload() async throws(AgentError) {
        do {
            let all = try await store.all()
            records.withLock { $0 = all }
        } catch {
            throw .ledger("cannot read the minted keys: \(error)")
        }
    }

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
        let expiresAt = try expiry(body["expires_at"]?.stringValue, now: AgentLedger.nowMilliseconds())
        let usdLimit = try limit(body["usd_limit"], "usd_limit")
        let diemLimit = try limit(body["diem_limit"], "diem_limit")
        return MintRequest(type: type, description: description, usdLimit: usdLimit, diemLimit: diemLimit, limitPeriod: limitPeriod,
                           expiresAt: expiresAt)
    }

    /// An expiry in the form Venice accepts (veniceai/skills skills/venice-api-keys/SKILL.md:
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm:ss[.sss]Z`): a date stays a date, any RFC 3339 time
    /// (offset, more digits) becomes UTC with milliseconds. Empty means none; the past is refused.
    static func expiry(_ text: String?, now: Int64) throws(AgentError) -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard let milliseconds = Timestamp.milliseconds(text) else {
            throw .badRequest("\"expires_at\" must be YYYY-MM-DD or an RFC 3339 time like 2027-01-01T00:00:00Z")
        }
        let normalized = text.count == 10 ? text : Timestamp.iso(milliseconds)
        // A date means the start of that UTC day at Venice; it must still be ahead.
        guard milliseconds > now else { throw .badRequest("\"expires_at\" \(normalized) is not in the future") }
        return normalized
    }

    static func limit(_ value: JSONValue?, _ name: String) throws(AgentError) -> Double? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.doubleValue, number >= 0, number <= 1_000_000 else {
            throw .badRequest("\"\(name)\" must be a number from 0 to 1000000")
        }
        return number
    }

    // MARK: mint

    func mint(_ request: MintRequest) async throws(AgentError) -> ApiKeyStore.Record {
        guard session.isUnlocked else { throw .locked }
        var refetches = 0
        var pauses = mintRetryDelays[...]
        while true {
            let token: String
            do { token = try await venice.web3KeyToken() } catch {
                throw .mintFailed("Venice did not hand out a key token: \(error.description)")
            }
            let signature: Signature
            do { signature = try session.signPersonalMessage(Array(token.utf8)) } catch {
                if error == .signerLocked { throw .locked }
                throw .signingFailed(error.description)
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
            let outcome: VeniceAPI.MintOutcome
            do { outcome = try await venice.mintWeb3Key(body) } catch { throw AgentError(error) }
            switch outcome {
            case .minted(let id, let secret, let data):
                return try await keep(id: id, secret: secret, data: data, request: request)
            case .refused(let status, let message):
                switch MintRefusal.classify(status: status, message: message) {
                case .final(let error):
                    throw error
                case .refetchToken:
                    refetches += 1
                    guard refetches <= 2 else {
                        throw .keyTokenRejected("Venice refused a fresh generate_web3_key token three times: \(message)")
                    }
                    logger.info("minting: Venice refused the key token, fetching a new one", metadata: ["reason": "\(message.prefix(120))"])
                case .retryLater:
                    guard let pause = pauses.popFirst() else {
                        throw .mintFailed("Venice could not verify the wallet signature after \(mintRetryDelays.count + 1) tries: \(message)")
                    }
                    logger.info("minting: Venice could not verify the signature yet, retrying", metadata: ["after": "\(pause)"])
                    do { try await Task.sleep(for: pause) } catch { throw .cancelled }
                }
            }
        }
    }

    /// Stores a minted key sealed, audits it and returns its record.
    private func keep(id: String, secret: String, data: JSONValue, request: MintRequest) async throws(AgentError) -> ApiKeyStore.Record {
        do {
            try await store.store(id: id, type: request.type, secret: secret,
                                  description: data["description"]?.stringValue ?? request.description ?? "Web3 API Key",
                                  usdLimit: request.usdLimit, diemLimit: request.diemLimit,
                                  limitPeriod: data["limitPeriod"]?.stringValue ?? request.limitPeriod,
                                  expiresAt: data["expiresAt"]?.stringValue ?? request.expiresAt, session: session)
        } catch {
            throw .ledger("the key was minted (id \(id)) but could not be stored; revoke it from Venice's dashboard: \(error)")
        }
        try await reload()
        await ledger.audit(.apiKeyMinted, "\(id) \(request.type) …\(secret.suffix(6))")
        guard let record = records.withLock({ $0.first { $0.id == id } }) else {
            throw .ledger("the minted key could not be read back")
        }
        return record
    }

    // MARK: use, list, revoke

    /// The secret of the newest live ADMIN key, unsealed for one upstream call.
    func activeAdminSecret() -> String? {
        guard session.isUnlocked,
              let record = ApiKeyStore.activeAdmin(in: records.withLock { $0 }, nowMilliseconds: AgentLedger.nowMilliseconds()) else { return nil }
        return try? store.unseal(record, session: session)
    }

    var hasActiveAdminKey: Bool {
        ApiKeyStore.activeAdmin(in: records.withLock { $0 }, nowMilliseconds: AgentLedger.nowMilliseconds()) != nil
    }

    func list() -> [ApiKeyStore.Record] { records.withLock { $0 } }

    func revoke(id: String) async throws(AgentError) {
        guard let record = records.withLock({ $0.first { $0.id == id } }), record.revokedAt == nil else {
            throw .unknownKey(id: id)
        }
        guard session.isUnlocked else { throw .locked }
        // Authenticate with this key itself if it is ADMIN, else with the active ADMIN key.
        let secret = record.type == "ADMIN" ? try? store.unseal(record, session: session) : activeAdminSecret()
        guard let secret else { throw .noKeyMinted }
        let outcome: VeniceAPI.RevokeOutcome
        do { outcome = try await venice.revokeAPIKey(id: id, bearer: secret) } catch { throw AgentError(error) }
        if case .refused(let status, let message) = outcome {
            throw .revokeFailed("Venice did not revoke key \(id): \(status) \(message)")
        }
        do { try await store.markRevoked(id: id) } catch {
            throw .ledger("key \(id) was revoked at Venice but could not be marked here: \(error)")
        }
        try await reload()
        await ledger.audit(.apiKeyRevoked, id)
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
        guard session.isUnlocked else { return }
        for key in list() where key.revokedAt == nil {
            guard let expires = Timestamp.milliseconds(key.expiresAt), expires > now else { continue }
            let lifetime = max(expires - key.createdAt, 60_000)
            guard Double(expires - now) < Double(lifetime) * renewFraction else { continue }
            let newExpiry = Timestamp.iso(now + lifetime)
            do {
                let fresh = try await mint(MintRequest(type: key.type, description: key.description, usdLimit: key.usdLimit,
                                                       diemLimit: key.diemLimit, limitPeriod: key.limitPeriod, expiresAt: newExpiry))
                try? await revoke(id: key.id)
                await ledger.audit(.apiKeyRenewed, "\(key.id) → \(fresh.id) (expires \(newExpiry))")
                logger.notice("renewed an expiring API key", metadata: ["old": "\(key.id)", "new": "\(fresh.id)"])
            } catch {
                await ledger.audit(.apiKeyRenewalFailed, "\(key.id): \(error.message)")
            }
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
