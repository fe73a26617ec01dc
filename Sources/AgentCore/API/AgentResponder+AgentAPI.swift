import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeniceClient
import Logging
import WalletCrypto
import X402Protocol

/// `/agent/v1/*`: the agent's own API (status, lock/unlock, top-up, balance, audit).
extension AgentResponder {
    // MARK: /agent/v1

    func agentAPI(_ request: Request, method: String, path: String, caller: Caller, requestID: String,
                  routeLabel: inout String) async throws(AgentError) -> Response {
        let policy = caller.policy
        // Routes any client may call, about itself.
        switch (method, path) {
        case ("GET", "/agent/v1/status"):
            routeLabel = path
            return await status(requestID: requestID)
        case ("GET", "/agent/v1/balance"):
            routeLabel = path
            guard caller.administrator != nil || policy.allows(.wallet) else {
                throw AgentError(.forbidden, "AGENT_ROUTE_NOT_ALLOWED", "client \(policy.name) may not read wallet information (needs the wallet route group)")
            }
            return Self.json(try await topUps.balance(), requestID: requestID)
        case ("GET", "/agent/v1/spend"):
            routeLabel = path
            // Only the owner sees every client's totals; any other caller sees its own rows.
            return try spend(request, only: caller.administrator == nil ? policy.name : nil, requestID: requestID)
        default:
            break
        }
        // The owner's management API: a handler needs the `Administrator` only the resolver makes.
        guard let route = AdminRoute(method: method, path: path) else {
            throw .unknownRoute(method: method, path: path)
        }
        routeLabel = route.template
        guard let admin = caller.administrator else { throw .notAdministrator(caller) }
        return try await administer(admin, route, request, policy: policy, requestID: requestID)
    }

    /// The owner's routes, by template (metrics and logs carry the template, never the path).
    struct AdminRoute {
        enum Kind { case lock, unlock, topUp, audit, mintKey, listKeys, revokeKey, addClient, listClients, removeClient }
        let kind: Kind
        let template: String
        /// The `:name` or `:id` of the path, if the template has one.
        let parameter: String?

        init?(method: String, path: String) {
            func fixed(_ kind: Kind) -> (Kind, String, String?) { (kind, path, nil) }
            let found: (Kind, String, String?)?
            switch (method, path) {
            case ("POST", "/agent/v1/lock"): found = fixed(.lock)
            case ("POST", "/agent/v1/unlock"): found = fixed(.unlock)
            case ("POST", "/agent/v1/topup"): found = fixed(.topUp)
            case ("GET", "/agent/v1/audit"): found = fixed(.audit)
            case ("POST", "/agent/v1/apikey/mint"): found = fixed(.mintKey)
            case ("GET", "/agent/v1/apikey"): found = fixed(.listKeys)
            case ("POST", "/agent/v1/clients"): found = fixed(.addClient)
            case ("GET", "/agent/v1/clients"): found = fixed(.listClients)
            case ("DELETE", _) where path.hasPrefix("/agent/v1/apikey/") && path.count > "/agent/v1/apikey/".count:
                found = (.revokeKey, "/agent/v1/apikey/:id", String(path.dropFirst("/agent/v1/apikey/".count)))
            case ("DELETE", _) where path.hasPrefix("/agent/v1/clients/") && path.count > "/agent/v1/clients/".count:
                found = (.removeClient, "/agent/v1/clients/:name", String(path.dropFirst("/agent/v1/clients/".count)))
            default: found = nil
            }
            guard let found else { return nil }
            (kind, template, parameter) = found
        }
    }

    func status(requestID: String) async -> Response {
        let snapshot = await scheduler.snapshot
        let status: JSONValue = [
            "address": .string(session.address.checksummed),
            "locked": .bool(!session.isUnlocked),
            "upstream": .string(configuration.upstream),
            "clock_offset_ms": .number(String(clock.offsetMilliseconds)),
            "in_flight": .number(String(snapshot.inFlight)),
            "queued": .number(String(snapshot.queued)),
            "max_in_flight": .number(String(configuration.maxInFlight)),
            "peak_in_flight": .number(String(snapshot.peakInFlight)),
            "signatures": .number(String(session.signatureCount)),
            "version": .string(AgentConfiguration.version),
            "unexplained_charges": .number(String(reconciler.unexplainedCharges)),
        ]
        return Self.json(status, requestID: requestID)
    }

    func spend(_ request: Request, only client: String?, requestID: String) throws(AgentError) -> Response {
        let by = request.uri.queryParameters["by"].map(String.init) ?? "client"
        let since = request.uri.queryParameters["since"].map(String.init)
        var sinceMilliseconds: Int64 = 0
        if let since {
            guard let ts = try? SiweTimestamp(parsing: since.count == 10 ? since + "T00:00:00Z" : since) else {
                throw .badRequest("since must be a date (YYYY-MM-DD) or an RFC 3339 time")
            }
            sinceMilliseconds = ts.milliseconds
        }
        let rows: [RequestLedger.SpendRow]
        do { rows = try requests.spend(since: sinceMilliseconds, by: by, client: client) } catch let error as AgentError { throw error } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the ledger: \(error)")
        }
        return Self.json([
            "by": .string(by),
            "rows": .array(rows.map { ["key": .string($0.key), "requests": .number(String($0.requests)),
                                       "estimate_usd": Money.json($0.estimateMicro), "charged_usd": Money.json($0.chargedMicro)] }),
            "total_estimate_usd": Money.json(rows.map(\.estimateMicro).reduce(0, +)),
            "total_charged_usd": Money.json(rows.map(\.chargedMicro).reduce(0, +)),
        ], requestID: requestID)
    }

    func administer(_ admin: Administrator, _ route: AdminRoute, _ request: Request, policy: ClientPolicy,
                    requestID: String) async throws(AgentError) -> Response {
        switch route.kind {
        case .lock:
            session.lock()
            ledger.audit("lock", "locked by a client request")
            logger.notice("key locked by client request")
            return Self.json(["locked": true], requestID: requestID)
        case .unlock:
            // The password goes from the request body straight into locked, zeroed memory:
            // never a String, and the body buffer is wiped once it has been read.
            var buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: 64 * 1024)
            } catch {
                throw .badRequest("the unlock body must be a JSON object {\"password\": \"…\"} under 64 KiB")
            }
            defer { buffer.withUnsafeMutableReadableBytes { SecretBytes.wipe($0) } }
            let secret: SecretBytes
            do {
                secret = try buffer.withUnsafeReadableBytes { raw in
                    try SecretJSONField.string("password", in: raw)
                }
            } catch {
                throw .badRequest("the unlock body must be a JSON object {\"password\": \"…\"}: \(error)")
            }
            if configuration.upstreamIsRealVenice, AgentConfiguration.isPubliclyKnown(session.address) {
                throw AgentError(.forbidden, "AGENT_PUBLIC_KEY_REFUSED",
                                 "\(session.address) is a publicly known test key; it is refused against the real Venice API")
            }
            do {
                try await session.unlock(password: secret)
            } catch {
                switch error {
                case .busy:
                    throw .unlockRefused(code: "AGENT_UNLOCK_BUSY", message: error.message, retryAfterSeconds: 1)
                case .tooSoon(let wait):
                    throw .unlockRefused(code: "AGENT_UNLOCK_DELAYED", message: error.message, retryAfterSeconds: wait.components.seconds + 1)
                case .failed(let failure):
                    ledger.audit("unlock_failed", failure.code)
                    if failure == .wrongPasswordOrCorrupted {
                        throw AgentError(.unauthorized, "AGENT_WRONG_PASSWORD", "wrong password for \(session.keystorePath); try again")
                    }
                    throw AgentError(.internalServerError, "AGENT_UNLOCK_FAILED", failure.description)
                }
            }
            ledger.audit("unlock", "unlocked by a client request")
            logger.notice("key unlocked by client request")
            return Self.json(["locked": false, "address": .string(session.address.checksummed)], requestID: requestID)
        case .topUp:
            let body = try await Self.jsonBody(request)
            guard let usd = body["usd"]?.doubleValue else {
                throw .badRequest("the top-up body must be {\"usd\": AMOUNT}, e.g. {\"usd\": 10}")
            }
            let result = try await topUps.topUp(usd: usd)
            return Self.json([
                "amount_credited": .number(String(result.amountCreditedUSD)),
                "new_balance": result.newBalanceUSD.map { .number(String($0)) } ?? .null,
                "payment_id": .string(result.paymentId),
                "transaction": result.transaction.map(JSONValue.string) ?? .null,
            ], requestID: requestID)
        case .audit:
            let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 50, 1), 1000)
            let events: [AgentLedger.AuditEvent]
            do { events = try ledger.auditEvents(limit: limit) } catch {
                throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the audit log: \(error)")
            }
            return Self.json(["events": .array(events.map { e in
                ["time": .string(Timestamp.iso(e.time)), "kind": .string(e.kind), "detail": .string(e.detail)]
            })], requestID: requestID)
        case .mintKey:
            let mint = try ApiKeyService.parse(try await Self.jsonBody(request))
            let record = try await apiKeys.mint(mint)
            return Self.json(ApiKeyService.json(record), requestID: requestID)
        case .listKeys:
            // Live keys; `?all=true` includes revoked ones (they stay in the ledger for the audit trail).
            let all = request.uri.queryParameters["all"].map(String.init) == "true"
            let keys = try apiKeys.list().filter { all || $0.revokedAt == nil }
            return Self.json(["keys": .array(keys.map(ApiKeyService.json))], requestID: requestID)
        case .revokeKey:
            let id = route.parameter ?? ""
            try await apiKeys.revoke(id: id)
            return Self.json(["revoked": true, "id": .string(id)], requestID: requestID)
        case .addClient:
            let body = try await Self.jsonBody(request)
            guard let name = body["name"]?.stringValue else { throw .badRequest("a client needs a \"name\"") }
            var routes: Set<String>?
            if let list = body["routes"] {
                guard let items = list.arrayValue?.compactMap(\.stringValue), items.count == list.arrayValue?.count else {
                    throw .badRequest("\"routes\" must be a list of route groups, e.g. [\"image\", \"audio\"]")
                }
                routes = Set(items)
            }
            // A client is never broader than the policy that creates it: what is left out is
            // inherited from the creator, what would go beyond it is refused.
            let requested = ClientPolicy(name: name, routes: routes ?? policy.routes,
                                         maxRequestMicro: try Self.optionalUSD(body["max_request_usd"], "max_request_usd") ?? policy.maxRequestMicro,
                                         dailyMicro: try Self.optionalUSD(body["daily_usd"], "daily_usd") ?? policy.dailyMicro, source: .token)
            if let broader = requested.broadening(beyond: policy) {
                throw AgentError(.forbidden, "AGENT_CLIENT_TOO_BROAD",
                                 "client \(name) would be broader than the policy creating it (\(broader)); narrow it or change [default] in the config")
            }
            let created = try clients.create(name: name, routes: requested.routes, maxRequestMicro: requested.maxRequestMicro,
                                             dailyMicro: requested.dailyMicro)
            var object = Self.clientJSON(created.policy, spentMicro: 0)
            object["token"] = .string(created.token)
            return Self.json(.object(object), requestID: requestID)
        case .listClients:
            let all: [ClientPolicy]
            do { all = try clients.all() } catch { throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read clients: \(error)") }
            let dayStart = Timestamp.utcMidnight(clock.nowMilliseconds())
            return Self.json(["clients": .array(all.map { .object(Self.clientJSON($0, spentMicro: requests.spentToday(client: $0.name, dayStart: dayStart))) })],
                             requestID: requestID)
        case .removeClient:
            let name = route.parameter ?? ""
            guard try clients.remove(name: name) else {
                throw AgentError(.notFound, "AGENT_UNKNOWN_CLIENT", "no client named \(name); see venice-agent clients list")
            }
            return Self.json(["removed": true, "name": .string(name)], requestID: requestID)
        }
    }


    static func jsonBody(_ request: Request, limit: Int = 64 * 1024) async throws(AgentError) -> JSONValue {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            let value = try JSONValue(parsing: Array(buffer.readableBytesView))
            guard value.objectValue != nil else { throw AgentError.badRequest("the body must be a JSON object") }
            return value
        } catch let error as AgentError {
            throw error
        } catch {
            throw .badRequest("the body must be a JSON object under \(limit / 1024) KiB")
        }
    }

    static func optionalUSD(_ value: JSONValue?, _ name: String) throws(AgentError) -> Int64? {
        guard let value, !value.isNull else { return nil }
        guard let usd = value.doubleValue, usd >= 0, usd <= 1_000_000, let micro = Money.micro(usd: usd) else {
            throw .badRequest("\(name) must be a USD amount between 0 and 1000000")
        }
        return micro
    }

    static func clientJSON(_ policy: ClientPolicy, spentMicro: Int64) -> JSONObject {
        return JSONObject([
            ("name", .string(policy.name)),
            ("routes", policy.routes.map { .array($0.sorted().map(JSONValue.string)) } ?? .array(ClientPolicy.groupNames.sorted().map(JSONValue.string))),
            ("max_request_usd", Money.json(policy.maxRequestMicro)), ("daily_usd", Money.json(policy.dailyMicro)), ("spent_today_usd", Money.json(spentMicro)),
        ])
    }
}
