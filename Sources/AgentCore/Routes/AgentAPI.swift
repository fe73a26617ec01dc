import Foundation
import Hummingbird
import Logging
import NIOCore
import VeniceClient
import X402Protocol
import WalletCrypto

/// `/agent/v1/*`: the agent's own API. `status`, `balance` and `spend` answer any caller
/// about itself; the management routes live in a group whose context is `OwnerRequestContext`,
/// which exists only for the owner's own programs.
struct AgentAPI: Sendable {
    let configuration: AgentConfiguration
    let session: KeySession
    let scheduler: UpstreamScheduler
    let clock: SkewClock
    let logger: Logger
    let ledger: AgentLedger
    let requests: RequestLedger
    let clients: ClientStore
    let topUps: TopUpService
    let apiKeys: ApiKeyService
    let reconciler: ChargeReconciler
    let inFlight: InFlightTracker
    let connections: ConnectionRegistry
    let listener: ListenerAddress

    func register(on router: Router<AgentRequestContext>) {
        router.get("/agent/v1/status") { _, context in
            // Over TCP a token client hears about itself and the wallet only, not the agent's internals.
            // The dashboard (the owner's browser) sees what the owner sees.
            if context.connection?.transport == .loopbackTCP {
                let caller = try context.requireCaller()
                if caller.viewer == nil { return selfStatus(caller) }
            }
            return await status()
        }
        router.get("/agent/v1/balance") { _, context in
            let caller = try context.requireCaller()
            guard caller.reader != nil || caller.policy.allows(.wallet) else { throw AgentError.walletNotAllowed(client: caller.policy.name) }
            // The dashboard's polling must not keep an idle key unlocked.
            guard caller.viewer != nil else { return Response.json(try await topUps.balance()) }
            return Response.json(try await KeySession.withoutKeepingAlive { try await topUps.balance() })
        }
        router.get("/agent/v1/spend") { request, context in
            let caller = try context.requireCaller()
            // Only the owner sees every client's totals; any other caller sees its own rows.
            return try await spend(request, only: caller.reader == nil ? caller.policy.name : nil)
        }

        router.get("/agent/v1/budget") { _, context in
            // Any caller: the limits of the policy it acts under and what is left of them.
            budget(try context.requireCaller().policy)
        }

        // Reading the owner's view: the owner's programs and its dashboard session (GETs only).
        let reader = router.group("/agent/v1", context: ReaderRequestContext.self)
        reader.get("audit") { request, context in try await audit(context.reader, request) }
        reader.get("clients") { _, context in try await listClients(context.reader) }
        reader.get("topups") { request, context in try await recentTopUps(context.reader, request) }
        reader.get("requests") { request, context in try await recentRequests(context.reader, request) }
        reader.get("balance/history") { request, context in try await balanceHistory(context.reader, request) }

        router.post("/agent/v1/topup/request") { request, context in try await requestTopUp(try context.requireCaller(), request) }

        let owner = router.group("/agent/v1", context: OwnerRequestContext.self)
        owner.post("lock") { _, context in await lock(context.administrator) }
        owner.post("unlock") { request, context in try await unlock(context.administrator, request) }
        owner.post("topup") { request, context in try await topUp(context.administrator, request) }
        owner.post("apikey/mint") { request, context in
            _ = context.administrator
            let record = try await apiKeys.mint(try ApiKeyService.parse(try await Self.jsonBody(request)))
            return Response.json(ApiKeyService.json(record))
        }
        owner.get("apikey") { request, context in
            _ = context.administrator
            // Live keys; `?all=true` includes revoked ones (they stay in the ledger for the audit trail).
            let all = request.uri.queryParameters["all"].map(String.init) == "true"
            return Response.json(["keys": .array(apiKeys.list().filter { all || $0.revokedAt == nil }.map(ApiKeyService.json))])
        }
        owner.delete("apikey/:id") { _, context in
            let id = try context.parameters.require("id")
            try await apiKeys.revoke(id: id)
            return Response.json(["revoked": true, "id": .string(id)])
        }
        owner.get("requests/:id") { _, context in try await requestRow(context.administrator, id: try context.parameters.require("id")) }
        owner.get("paths") { _, context in paths(context.administrator) }
        owner.post("clients") { request, context in try await addClient(context.caller.policy, request) }
        owner.delete("clients/:name") { _, context in
            let name = try context.parameters.require("name")
            guard try await clients.remove(name: name) else { throw AgentError.unknownClient(name: name) }
            return Response.json(["removed": true, "name": .string(name)])
        }
    }

    // MARK: any caller

    func status() async -> Response {
        let snapshot = await scheduler.snapshot
        return Response.json([
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
            "requests_in_progress": .number(String(inFlight.count)),
            "connections": .number(String(connections.snapshot.open)),
            "listen": listener.value.map { .string($0.description) } ?? .null,
        ])
    }

    /// The caller's own limits, spending (charged, or held until reconciled) and what is left
    /// today and this UTC month; `null` where the policy sets no limit.
    func budget(_ policy: ClientPolicy) -> Response {
        let spentToday = requests.spentToday(client: policy.name)
        let spentMonth = requests.spentThisMonth(client: policy.name)
        var object = Self.clientJSON(policy, spentTodayMicro: spentToday, spentMonthMicro: spentMonth)
        object["left_today_usd"] = Money.json(Self.left(policy.dailyMicro, spent: spentToday))
        object["left_month_usd"] = Money.json(Self.left(policy.monthlyMicro, spent: spentMonth))
        return Response.json(.object(object))
    }

    static func left(_ limit: Int64?, spent: Int64) -> Int64? {
        limit.map { max(0, $0 - min(spent, $0)) }
    }

    /// A token client's view over TCP: the wallet it spends from, whether it can sign, and itself.
    func selfStatus(_ caller: Caller) -> Response {
        Response.json([
            "address": .string(session.address.checksummed),
            "locked": .bool(!session.isUnlocked),
            "version": .string(AgentConfiguration.version),
            "listen": listener.value.map { .string($0.description) } ?? .null,
            "client": .string(caller.policy.name),
        ])
    }

    func spend(_ request: Request, only client: String?) async throws(AgentError) -> Response {
        let by = request.uri.queryParameters["by"].map(String.init) ?? "client"
        var sinceMilliseconds: Int64 = 0
        if let since = request.uri.queryParameters["since"].map(String.init) {
            guard let ts = try? SiweTimestamp(parsing: since.count == 10 ? since + "T00:00:00Z" : since) else {
                throw .badRequest("since must be a date (YYYY-MM-DD) or an RFC 3339 time")
            }
            sinceMilliseconds = ts.milliseconds
        }
        // `by=day&stack=client|model`: each day's spending split per client or model (charts).
        if by == "day", let stack = request.uri.queryParameters["stack"].map(String.init) {
            let stacked: [RequestLedger.StackedRow]
            do { stacked = try await requests.spendPerDay(since: sinceMilliseconds, stack: stack, client: client) } catch let error as AgentError {
                throw error
            } catch {
                throw .ledger("cannot read the ledger: \(error)")
            }
            var days: [(String, [RequestLedger.StackedRow])] = []
            for row in stacked {
                if days.last?.0 == row.day { days[days.count - 1].1.append(row) } else { days.append((row.day, [row])) }
            }
            return Response.json([
                "by": "day", "stack": .string(stack),
                "rows": .array(days.map { day, parts in
                    ["key": .string(day), "requests": .number(String(parts.map(\.requests).reduce(0, &+))),
                     "estimate_usd": Money.json(Self.total(parts.map(\.estimateMicro))),
                     "charged_usd": Money.json(Self.total(parts.map(\.chargedMicro))),
                     "parts": .array(parts.map { ["key": .string($0.key), "requests": .number(String($0.requests)),
                                                  "estimate_usd": Money.json($0.estimateMicro), "charged_usd": Money.json($0.chargedMicro)] })]
                }),
                "total_estimate_usd": Money.json(Self.total(stacked.map(\.estimateMicro))),
                "total_charged_usd": Money.json(Self.total(stacked.map(\.chargedMicro))),
            ])
        }
        let rows: [RequestLedger.SpendRow]
        do { rows = try await requests.spend(since: sinceMilliseconds, by: by, client: client) } catch let error as AgentError { throw error } catch {
            throw .ledger("cannot read the ledger: \(error)")
        }
        return Response.json([
            "by": .string(by),
            "rows": .array(rows.map { ["key": .string($0.key), "requests": .number(String($0.requests)),
                                       "estimate_usd": Money.json($0.estimateMicro), "charged_usd": Money.json($0.chargedMicro)] }),
            "total_estimate_usd": Money.json(Self.total(rows.map(\.estimateMicro))),
            "total_charged_usd": Money.json(Self.total(rows.map(\.chargedMicro))),
        ])
    }

    // MARK: the owner's

    func lock(_ admin: Administrator) async -> Response {
        session.lock()
        await ledger.audit(.lock, "locked by a client request")
        logger.notice("key locked by client request")
        return Response.json(["locked": true])
    }

    func unlock(_ admin: Administrator, _ request: Request) async throws(AgentError) -> Response {
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
            secret = try buffer.withUnsafeReadableBytes { raw in try SecretJSONField.string("password", in: raw) }
        } catch {
            throw .badRequest("the unlock body must be a JSON object {\"password\": \"…\"}: \(error)")
        }
        if configuration.upstreamIsRealVenice, AgentConfiguration.isPubliclyKnown(session.address) {
            throw .publicKeyRefused(address: session.address.checksummed)
        }
        do {
            try await session.unlock(password: secret)
        } catch {
            switch error {
            case .busy:
                throw .unlockBusy
            case .tooSoon(let wait):
                throw .unlockDelayed(retryAfterSeconds: wait.components.seconds + 1)
            case .failed(let failure):
                await ledger.audit(.unlockFailed, failure.code)
                if failure == .wrongPasswordOrCorrupted { throw .wrongPassword(keystore: session.keystorePath) }
                throw .unlockFailed(failure.description)
            }
        }
        await ledger.audit(.unlock, "unlocked by a client request")
        logger.notice("key unlocked by client request")
        return Response.json(["locked": false, "address": .string(session.address.checksummed)])
    }

    func topUp(_ admin: Administrator, _ request: Request) async throws(AgentError) -> Response {
        let body = try await Self.jsonBody(request)
        guard let usd = body["usd"]?.doubleValue else {
            throw .badRequest("the top-up body must be {\"usd\": AMOUNT}, e.g. {\"usd\": 10}")
        }
        return Self.topUpAnswer(try await topUps.topUp(usd: usd))
    }

    /// `POST /agent/v1/topup/request {"usd": N}` from any caller: the owner's programs and clients
    /// given `may_topup` get the top-up, within the agent's caps like every other; anyone else is
    /// told the owner's command and nothing is paid.
    func requestTopUp(_ caller: Caller, _ request: Request) async throws(AgentError) -> Response {
        let body = try await Self.jsonBody(request)
        guard let usd = body["usd"]?.doubleValue, usd.isFinite, usd > 0, usd <= 1_000_000 else {
            throw .badRequest("the body must be {\"usd\": AMOUNT}, e.g. {\"usd\": 10}")
        }
        guard caller.administrator != nil || caller.policy.mayTopUp else {
            throw .topUpNotAllowed(client: caller.policy.name, usd: usd)
        }
        if caller.administrator == nil {
            await ledger.audit(.clientTopUp, "\(caller.policy.name) asked for \(Money.micro(usd: usd).map { Money.text($0) } ?? String(usd)) USD")
        }
        return Self.topUpAnswer(try await topUps.topUp(usd: usd))
    }

    static func topUpAnswer(_ result: TopUpService.Result) -> Response {
        Response.json([
            "amount_credited": .number(String(result.amountCreditedUSD)),
            "new_balance": result.newBalanceUSD.map { .number(String($0)) } ?? .null,
            "payment_id": .string(result.paymentId),
            "transaction": result.transaction.map(JSONValue.string) ?? .null,
        ])
    }

    func audit(_ reader: Reader, _ request: Request) async throws(AgentError) -> Response {
        let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 50, 1), 1000)
        let events: [AgentLedger.AuditEvent]
        do { events = try await ledger.auditEvents(limit: limit) } catch {
            throw .ledger("cannot read the audit log: \(error)")
        }
        return Response.json(["events": .array(events.map { e in
            ["time": .string(Timestamp.iso(e.time)), "kind": .string(e.kind), "detail": .string(e.detail)]
        })])
    }

    /// One request's ledger row by its `X-Agent-Request-Id`: the estimate held, what Venice
    /// charged once reconciled, and whether it has been. A successful, priced request still
    /// waiting for its charge asks the reconciler to look (coalesced and paced by it).
    func requestRow(_ admin: Administrator, id: String) async throws(AgentError) -> Response {
        guard id.utf8.count <= 128 else { throw .unknownRequest(id: String(id.prefix(128))) }
        let found: RequestLedger.RequestRow?
        do { found = try await requests.row(id: id) } catch let error as AgentError { throw error } catch {
            throw .ledger("cannot read the ledger: \(error)")
        }
        guard let row = found else { throw .unknownRequest(id: id) }
        let succeeded = row.status.map { $0 < 400 } ?? false
        if succeeded, row.chargedMicro == nil, row.estimateMicro > 0 { await reconciler.requestFinished() }
        return Response.json([
            "id": .string(row.id), "client": .string(row.client), "method": .string(row.method), "route": .string(row.route),
            "model": row.model.map(JSONValue.string) ?? .null,
            "status": row.status.map { .number(String($0)) } ?? .null,
            "estimate_usd": Money.json(row.estimateMicro),
            "charged_usd": Money.json(row.chargedMicro),
            "reconciled": .bool(row.chargedMicro != nil),
            "upstream_request_id": row.upstreamRequestID.map(JSONValue.string) ?? .null,
            "started_at": .string(Timestamp.iso(row.startedAt)),
            "finished_at": row.finishedAt.map { .string(Timestamp.iso($0)) } ?? .null,
        ])
    }

    /// Where this agent keeps its files, for `venice-agent doctor`'s local checks (the owner's only).
    func paths(_ admin: Administrator) -> Response {
        Response.json([
            "keystore": .string(session.keystorePath),
            "state_dir": .string(configuration.stateDirectory ?? AgentConfiguration.defaultStateDirectory(environment: ProcessInfo.processInfo.environment)),
            "socket": .string(configuration.socketPath),
            "upstream": .string(configuration.upstream),
        ])
    }

    /// A client is never broader than the policy that creates it: what is left out is
    /// inherited from the creator, what would go beyond it is refused.
    func addClient(_ creator: ClientPolicy, _ request: Request) async throws(AgentError) -> Response {
        let body = try await Self.jsonBody(request)
        let known: Set<String> = ["name", "routes", "models", "max_request_usd", "daily_usd", "monthly_usd", "max_parallel",
                                  "requests_per_minute", "soft_limit", "expires_at", "may_topup"]
        if let unknown = body.objectValue?.keys.filter({ !known.contains($0) }).sorted(), !unknown.isEmpty {
            throw .badRequest("unknown client setting(s) \(unknown.prefix(5).map { String($0.prefix(40)) }.joined(separator: ", ")); use \(known.sorted().joined(separator: ", "))")
        }
        guard let name = body["name"]?.stringValue else { throw .badRequest("a client needs a \"name\"") }
        // Budgets, counters and spend rows are kept per name: a client never shares a binding's.
        if configuration.bindings.contains(where: { $0.policy.name == name }) || name == "other_uids" {
            throw .badRequest("the name \(name) belongs to a policy of the config file; pick another client name")
        }
        var routes: Set<String>?
        if let list = body["routes"] {
            guard let items = list.arrayValue?.compactMap(\.stringValue), items.count == list.arrayValue?.count else {
                throw .badRequest("\"routes\" must be a list of route groups, e.g. [\"image\", \"audio\"]")
            }
            guard !items.isEmpty else { throw .badRequest("\"routes\" must list at least one route group, e.g. [\"text\"]") }
            routes = Set(items)
        }
        var models: ModelAllowList?
        if let list = body["models"], !list.isNull {
            guard let items = list.arrayValue?.compactMap(\.stringValue), items.count == list.arrayValue?.count else {
                throw .badRequest("\"models\" must be a list of model ids or prefix-*, e.g. [\"venice-uncensored-1-2\", \"qwen-*\"]")
            }
            do { models = try ModelAllowList(parsing: items) } catch { throw .badRequest(error.description) }
        }
        var softLimit: Double?
        if let value = body["soft_limit"], !value.isNull {
            guard let fraction = value.doubleValue, fraction > 0, fraction < 1 else {
                throw .badRequest("soft_limit must be a fraction of the daily or monthly budget between 0 and 1, e.g. 0.8")
            }
            softLimit = fraction
        }
        var expiresAt: Int64?
        if let value = body["expires_at"], !value.isNull {
            guard let text = value.stringValue, let milliseconds = Timestamp.milliseconds(text) else {
                throw .badRequest("expires_at must be a date (YYYY-MM-DD, UTC midnight) or an RFC 3339 time")
            }
            guard milliseconds > configuration.wallClock() else { throw .badRequest("expires_at \(text) is not in the future") }
            expiresAt = milliseconds
        }
        var requested = ClientPolicy(name: name, routes: routes ?? creator.routes,
                                     maxRequestMicro: try Self.optionalUSD(body["max_request_usd"], "max_request_usd") ?? creator.maxRequestMicro,
                                     dailyMicro: try Self.optionalUSD(body["daily_usd"], "daily_usd") ?? creator.dailyMicro, source: .token,
                                     models: models ?? creator.models,
                                     maxParallel: try Self.optionalCount(body["max_parallel"], "max_parallel", upTo: 1000) ?? creator.maxParallel,
                                     requestsPerMinute: try Self.optionalCount(body["requests_per_minute"], "requests_per_minute", upTo: 100_000)
                                        ?? creator.requestsPerMinute,
                                     monthlyMicro: try Self.optionalUSD(body["monthly_usd"], "monthly_usd") ?? creator.monthlyMicro,
                                     softLimit: softLimit ?? creator.softLimit, expiresAt: expiresAt ?? creator.expiresAt)
        if let value = body["may_topup"], !value.isNull {
            guard let allowed = value.boolValue else { throw .badRequest("may_topup must be true or false") }
            requested.mayTopUp = allowed
        }
        if let broader = requested.broadening(beyond: creator) { throw .clientTooBroad(name: name, reason: broader) }
        let created = try await clients.create(requested)
        var object = Self.clientJSON(created.policy, spentTodayMicro: 0, spentMonthMicro: 0)
        object["token"] = .string(created.token)
        // What an OpenAI-compatible app needs, when the TCP listener is up.
        if let bound = listener.value { object["openai_base_url"] = .string(bound.url + "/api/v1") }
        return Response.json(.object(object))
    }

    func listClients(_ reader: Reader) async throws(AgentError) -> Response {
        Response.json(["clients": .array(clients.all().map {
            .object(Self.clientJSON($0, spentTodayMicro: requests.spentToday(client: $0.name), spentMonthMicro: requests.spentThisMonth(client: $0.name)))
        })])
    }

    // MARK: bodies

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

    /// A sum of ledger amounts, held at `Money.maxMicro` rather than overflowing.
    static func total(_ amounts: [Int64]) -> Int64 {
        amounts.reduce(0) { Money.sum($0, $1) ?? Money.maxMicro }
    }

    static func optionalCount(_ value: JSONValue?, _ name: String, upTo limit: Int) throws(AgentError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.doubleValue, number.rounded() == number, number >= 1, number <= Double(limit) else {
            throw .badRequest("\(name) must be a whole number from 1 to \(limit)")
        }
        return Int(number)
    }

    static func optionalUSD(_ value: JSONValue?, _ name: String) throws(AgentError) -> Int64? {
        guard let value, !value.isNull else { return nil }
        guard let usd = value.doubleValue, usd >= 0, usd <= 1_000_000, let micro = Money.micro(usd: usd) else {
            throw .badRequest("\(name) must be a USD amount between 0 and 1000000")
        }
        return micro
    }

    static func clientJSON(_ policy: ClientPolicy, spentTodayMicro: Int64, spentMonthMicro: Int64) -> JSONObject {
        func count(_ value: Int?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        return JSONObject([
            ("name", .string(policy.name)),
            ("routes", policy.routes.map { .array($0.sorted().map(JSONValue.string)) } ?? .array(ClientPolicy.groupNames.sorted().map(JSONValue.string))),
            ("max_request_usd", Money.json(policy.maxRequestMicro)), ("daily_usd", Money.json(policy.dailyMicro)),
            ("spent_today_usd", Money.json(spentTodayMicro)),
            ("monthly_usd", Money.json(policy.monthlyMicro)), ("spent_month_usd", Money.json(spentMonthMicro)),
            ("models", policy.models.map { .array($0.entries.map(JSONValue.string)) } ?? .null),
            ("max_parallel", count(policy.maxParallel)), ("requests_per_minute", count(policy.requestsPerMinute)),
            ("soft_limit", policy.softLimit.map { .number(String($0)) } ?? .null),
            ("expires_at", policy.expiresAt.map { .string(Timestamp.iso($0)) } ?? .null),
            ("may_topup", .bool(policy.mayTopUp)),
        ])
    }
}

extension Response {
    /// A JSON answer.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serializedBytes())))
    }
}
