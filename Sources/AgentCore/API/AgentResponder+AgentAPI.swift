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

    func agentAPI(_ request: Request, method: String, path: String, policy: ClientPolicy, requestID: String) async throws(AgentError) -> Response {
        let adminOnly: Set<String> = ["/agent/v1/unlock", "/agent/v1/topup", "/agent/v1/clients", "/agent/v1/apikey", "/agent/v1/apikey/mint", "/agent/v1/audit"]
        if !policy.mayAdminister, adminOnly.contains(path) || path.hasPrefix("/agent/v1/clients/") || path.hasPrefix("/agent/v1/apikey/") {
            throw AgentError(.forbidden, "AGENT_NOT_ALLOWED", "client \(policy.name) may not manage the agent; run this as the owner without a client token")
        }
        if path == "/agent/v1/balance" || path == "/agent/v1/spend", !policy.allows(.wallet), policy.source != .defaultClient {
            throw AgentError(.forbidden, "AGENT_ROUTE_NOT_ALLOWED", "client \(policy.name) may not read wallet information (needs the wallet route group)")
        }
        switch (method, path) {
        case ("GET", "/agent/v1/status"):
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
        case ("POST", "/agent/v1/lock"):
            session.lock()
            ledger.audit("lock", "locked by a client request")
            logger.notice("key locked by client request")
            return Self.json(["locked": true], requestID: requestID)
        case ("POST", "/agent/v1/unlock"):
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
                ledger.audit("unlock_failed", error.code)
                if error == .wrongPasswordOrCorrupted {
                    throw AgentError(.unauthorized, "AGENT_WRONG_PASSWORD", "wrong password for \(session.keystorePath); try again")
                }
                throw AgentError(.internalServerError, "AGENT_UNLOCK_FAILED", error.description)
            }
            ledger.audit("unlock", "unlocked by a client request")
            logger.notice("key unlocked by client request")
            return Self.json(["locked": false, "address": .string(session.address.checksummed)], requestID: requestID)
        case ("POST", "/agent/v1/topup"):
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
        case ("GET", "/agent/v1/balance"):
            return Self.json(try await topUps.balance(), requestID: requestID)
        case ("GET", "/agent/v1/audit"):
            let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 50, 1), 1000)
            let events: [AgentLedger.AuditEvent]
            do { events = try ledger.auditEvents(limit: limit) } catch {
                throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the audit log: \(error)")
            }
            return Self.json(["events": .array(events.map { e in
                ["time": .string(Timestamp.iso(e.time)), "kind": .string(e.kind), "detail": .string(e.detail)]
            })], requestID: requestID)
        case ("POST", "/agent/v1/apikey/mint"):
            let mint = try ApiKeyService.parse(try await Self.jsonBody(request))
            let record = try await apiKeys.mint(mint)
            return Self.json(ApiKeyService.json(record), requestID: requestID)
        case ("GET", "/agent/v1/apikey"):
            // Live keys; `?all=true` includes revoked ones (they stay in the ledger for the audit trail).
            let all = request.uri.queryParameters["all"].map(String.init) == "true"
            let keys = try apiKeys.list().filter { all || $0.revokedAt == nil }
            return Self.json(["keys": .array(keys.map(ApiKeyService.json))], requestID: requestID)
        case ("DELETE", _) where path.hasPrefix("/agent/v1/apikey/"):
            let id = String(path.dropFirst("/agent/v1/apikey/".count))
            try await apiKeys.revoke(id: id)
            return Self.json(["revoked": true, "id": .string(id)], requestID: requestID)
        case ("GET", "/agent/v1/spend"):
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
            do { rows = try requests.spend(since: sinceMilliseconds, by: by) } catch let error as AgentError { throw error } catch {
                throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the ledger: \(error)")
            }
            let scoped = policy.source == .defaultClient ? rows : (by == "client" ? rows.filter { $0.key == policy.name } : rows)
            return Self.json([
                "by": .string(by),
                "rows": .array(scoped.map { ["key": .string($0.key), "requests": .number(String($0.requests)),
                                             "estimate_usd": Money.json($0.estimateMicro), "charged_usd": Money.json($0.chargedMicro)] }),
                "total_estimate_usd": Money.json(scoped.map(\.estimateMicro).reduce(0, +)),
                "total_charged_usd": Money.json(scoped.map(\.chargedMicro).reduce(0, +)),
            ], requestID: requestID)
        case ("POST", "/agent/v1/clients"):
            let body = try await Self.jsonBody(request)
            guard let name = body["name"]?.stringValue else { throw .badRequest("a client needs a \"name\"") }
            var routes: Set<String>?
            if let list = body["routes"] {
                guard let items = list.arrayValue?.compactMap(\.stringValue), items.count == list.arrayValue?.count else {
                    throw .badRequest("\"routes\" must be a list of route groups, e.g. [\"image\", \"audio\"]")
                }
                routes = Set(items)
            }
            let maxRequest = try Self.optionalUSD(body["max_request_usd"], "max_request_usd")
            let daily = try Self.optionalUSD(body["daily_usd"], "daily_usd")
            let created = try clients.create(name: name, routes: routes, maxRequestMicro: maxRequest, dailyMicro: daily)
            var object = Self.clientJSON(created.policy, spentMicro: 0)
            object["token"] = .string(created.token)
            return Self.json(.object(object), requestID: requestID)
        case ("GET", "/agent/v1/clients"):
            let all: [ClientPolicy]
            do { all = try clients.all() } catch { throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read clients: \(error)") }
            let dayStart = Timestamp.utcMidnight(clock.nowMilliseconds())
            return Self.json(["clients": .array(all.map { .object(Self.clientJSON($0, spentMicro: requests.spentToday(client: $0.name, dayStart: dayStart))) })],
                             requestID: requestID)
        case ("DELETE", _) where path.hasPrefix("/agent/v1/clients/"):
            let name = String(path.dropFirst("/agent/v1/clients/".count))
            guard try clients.remove(name: name) else {
                throw AgentError(.notFound, "AGENT_UNKNOWN_CLIENT", "no client named \(name); see venice-agent clients list")
            }
            return Self.json(["removed": true, "name": .string(name)], requestID: requestID)
        default:
            throw .unknownRoute(method: method, path: path)
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
        guard let usd = value.doubleValue, usd >= 0, usd <= 1_000_000 else { throw .badRequest("\(name) must be a non-negative USD amount") }
        return Money.micro(usd: usd)
    }

    static func clientJSON(_ policy: ClientPolicy, spentMicro: Int64) -> JSONObject {
        return JSONObject([
            ("name", .string(policy.name)),
            ("routes", policy.routes.map { .array($0.sorted().map(JSONValue.string)) } ?? .array(ClientPolicy.groupNames.sorted().map(JSONValue.string))),
            ("max_request_usd", Money.json(policy.maxRequestMicro)), ("daily_usd", Money.json(policy.dailyMicro)), ("spent_today_usd", Money.json(spentMicro)),
        ])
    }
}
