import AsyncHTTPClient
import Foundation
public import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import VeniceClient
import WalletCrypto
import X402Protocol

/// The agent's single chokepoint: identity (SO_PEERCRED) → allow-list → lock state →
/// size limits → fair upstream slot → signed upstream call → streamed answer. Anything
/// unknown is refused with a named error.
public struct AgentResponder: HTTPResponder {
    public typealias Context = AgentRequestContext

    let configuration: AgentConfiguration
    let session: KeySession
    let upstream: UpstreamClient
    let scheduler: UpstreamScheduler
    let metrics: AgentMetrics
    let clock: SkewClock
    let logger: Logger
    let ledger: AgentLedger
    let topUps: TopUpService
    let inFlight: InFlightTracker
    let clients: ClientStore
    let requests: RequestLedger
    let prices: PriceBook
    let reconciler: ChargeReconciler
    let apiKeys: ApiKeyService

    public func respond(to request: Request, context: AgentRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = Hex.encode(SecureRandom.bytes(count: 8))
        let peer = await PeerCredentials.of(channel: context.channel)
        var routeLabel = "unmatched"
        var outcome = Outcome()
        guard inFlight.enter() else {
            return Self.errorResponse(AgentError(.serviceUnavailable, "AGENT_SHUTTING_DOWN", "the agent is shutting down; retry once it is restarted"),
                                      requestID: requestID)
        }
        let tracker = inFlight
        var response = await respondOrRefuse(request, peer: peer, requestID: requestID, routeLabel: &routeLabel, outcome: &outcome)
        // The request stays "in flight" until its body is completely handed to the connection.
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                tracker.leave()
                throw error
            }
            tracker.leave()
        }
        metrics.recordRequest(route: routeLabel, status: Int(response.status.code))
        var metadata: Logger.Metadata = [
            "uid": "\(peer?.uid ?? 0)", "pid": "\(peer?.pid ?? 0)", "method": "\(request.method.rawValue)",
            "route": "\(routeLabel)", "status": "\(response.status.code)",
            "duration_ms": "\((ContinuousClock.now - started).components.seconds * 1000 + (ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)",
            "request_id": "\(requestID)", "client": "\(outcome.client)",
        ]
        if let upstreamID = outcome.upstreamRequestID { metadata["upstream_request_id"] = "\(upstreamID)" }
        if !outcome.retries.isEmpty { metadata["retries"] = "\(outcome.retries.joined(separator: ","))" }
        logger.info("request", metadata: metadata)
        return response
    }

    func respondOrRefuse(_ request: Request, peer: PeerCredentials?, requestID: String, routeLabel: inout String,
                         outcome: inout Outcome) async -> Response {
        do {
            return try await handle(request, peer: peer, requestID: requestID, routeLabel: &routeLabel, outcome: &outcome)
        } catch {
            if let row = outcome.ledgerRow {
                requests.finish(id: row, status: Int(error.status.code), bytesOut: 0, upstreamRequestID: nil)
                outcome.ledgerRow = nil
            }
            return Self.errorResponse(error, requestID: requestID)
        }
    }

    struct Outcome {
        var upstreamRequestID: String?
        var retries: [String] = []
        var client = "unknown"
        /// Set while a ledger row exists that no later step will finish.
        var ledgerRow: String?
    }

    /// Auto top-up (off by default): on Venice's insufficient-balance 402, top up once within the
    /// caps and retry once, re-signed. It never loops: one top-up per request, the balance must
    /// have risen, and a 402 a top-up cannot fix (a quote above the balance, DIEM-linked wallets)
    /// goes back as it is, with the reason in `X-Agent-Auto-Topup`.
    func autoTopUp(after body: ByteBuffer, retrying request: UpstreamRequest,
                   reacquire: () async throws -> SlotLease) async -> (note: String, retried: (answer: UpstreamResponse, lease: SlotLease)?) {
        let json = try? JSONValue(parsing: Array(body.readableBytesView))
        guard json?["code"]?.stringValue == "PAYMENT_REQUIRED", json?["reason"]?.stringValue ?? "insufficient_balance" == "insufficient_balance" else {
            ledger.audit("auto_topup_skipped", "402 without PAYMENT_REQUIRED (quote above balance or DIEM-linked wallet): a top-up cannot fix it")
            return ("not-applicable: this 402 is not an insufficient-balance answer a top-up can fix", nil)
        }
        let before = json?["currentBalanceUsd"]?.doubleValue ?? 0
        let result: TopUpService.Result
        do {
            result = try await topUps.topUp(usd: Double(configuration.autoTopUpMicro) / 1_000_000)
        } catch {
            ledger.audit("auto_topup_refused", error.description)
            return ("refused: \(error.code)", nil)
        }
        guard let after = result.newBalanceUSD, after > before else {
            ledger.audit("auto_topup_breaker", "balance did not rise after \(result.paymentId); not retrying")
            return ("no-balance-increase: not retried", nil)
        }
        ledger.audit("auto_topup", "\(result.paymentId) +\(result.amountCreditedUSD) USD, retrying once")
        do {
            let lease = try await reacquire()
            do {
                return ("topped-up: \(result.paymentId)", (try await upstream.execute(request), lease))
            } catch {
                await lease.release()
                return ("topped-up: \(result.paymentId); retry failed", nil)
            }
        } catch {
            return ("topped-up: \(result.paymentId); retry not queued", nil)
        }
    }

    /// The caller's policy: a named client's token, else a config binding (executable or
    /// systemd unit), else the default policy of the owner's programs.
    func resolvePolicy(_ request: Request, peer: PeerCredentials) throws(AgentError) -> ClientPolicy {
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer vat_") {
            let token = String(authorization.dropFirst("Bearer ".count))
            guard let policy = clients.policy(forToken: token) else {
                throw AgentError(.unauthorized, "AGENT_UNKNOWN_CLIENT",
                                 "the client token is not known to this agent (revoked?); ask the owner for a new one: venice-agent clients add NAME")
            }
            return policy
        }
        // /proc is read only when some binding needs the executable or the unit.
        if !configuration.bindings.isEmpty {
            let identity = ClientIdentity.of(peer)
            if let binding = configuration.bindings.first(where: { $0.matches(identity) }) {
                return binding.policy
            }
        }
        return configuration.defaultPolicy
    }

    func handle(_ request: Request, peer: PeerCredentials?, requestID: String, routeLabel: inout String,
                outcome: inout Outcome) async throws(AgentError) -> Response {
        // 1. Who is calling? Only the owner uid and configured uids.
        guard let peer else {
            throw AgentError(.forbidden, "AGENT_PEER_UNKNOWN", "the agent could not read the caller's credentials (SO_PEERCRED); connect over its Unix socket")
        }
        guard peer.uid == configuration.ownerUID || configuration.allowedUIDs.contains(peer.uid) else {
            throw .forbiddenPeer(uid: peer.uid)
        }
        let path = request.uri.path
        let method = request.method.rawValue
        let policy = try resolvePolicy(request, peer: peer)
        outcome.client = policy.name

        // 2. The agent's own API.
        if path == "/metrics" {
            routeLabel = "/metrics"
            guard method == "GET" else { throw .unknownRoute(method: method, path: path) }
            return await metricsResponse(requestID: requestID)
        }
        if path.hasPrefix("/agent/v1/") || path == "/agent/v1" {
            routeLabel = path
            return try await agentAPI(request, method: method, path: path, policy: policy, requestID: requestID)
        }

        // 3. The Venice mirror, through the allow-list.
        guard path.hasPrefix("/api/v1/") else { throw .unknownRoute(method: method, path: path) }
        let venicePath = String(path.dropFirst("/api/v1".count))
        let route: VeniceRoute
        switch RouteTable.resolve(method: method, path: venicePath, walletAddress: session.address.lowercasedHex) {
        case .unknown:
            throw .unknownRoute(method: method, path: path)
        case .ownedByAgent(let template):
            routeLabel = "/api/v1" + template
            throw .agentOwned(path: path)
        case .allowed(let r):
            route = r
        }
        routeLabel = "/api/v1" + route.template
        guard policy.allows(route.group) else {
            throw AgentError(.forbidden, "AGENT_ROUTE_NOT_ALLOWED",
                             "client \(policy.name) may not use \(route.group.rawValue) routes; its policy allows \(policy.routes?.sorted().joined(separator: ", ") ?? "all")")
        }
        if route.auth == .signIn, !session.isUnlocked { throw .locked() }
        if route.auth == .bearer {
            guard session.isUnlocked else { throw .locked() }
            guard apiKeys.hasActiveAdminKey else { throw .noKeyMinted() }
        }

        // 4. Body: bounded; small ones kept whole so a retry can resend them.
        let limit = configuration.maxRequestBodyBytes
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        if let declaredLength, declaredLength > limit { throw .bodyTooLarge(limit: limit) }
        var limitedBody: LimitedBody<RequestBody>?
        let body: UpstreamRequest.Body
        if method == "GET" || method == "HEAD" || declaredLength == 0 {
            body = .none
        } else if let declaredLength, declaredLength <= configuration.replayableBodyBytes {
            do {
                body = .buffered(try await request.body.collect(upTo: configuration.replayableBodyBytes))
            } catch {
                throw .badRequest("the request body could not be read completely")
            }
        } else {
            let limited = LimitedBody(base: request.body, limit: limit)
            limitedBody = limited
            let length: HTTPClientRequest.Body.Length = declaredLength.map { .known(Int64($0)) } ?? .unknown
            body = .streamed(.stream(limited, length: length))
        }

        // 5. Price estimate against the client's budget, before anything is signed; the
        //    estimate is held in the ledger until the actual charge is reconciled.
        var jsonBody: JSONValue?
        if case .buffered(let buffer) = body { jsonBody = try? JSONValue(parsing: Array(buffer.readableBytesView)) }
        if jsonBody == nil, case .buffered(let buffer) = body,
           let model = MultipartField.value(named: "model", in: Array(buffer.readableBytesView), contentType: request.headers[.contentType]) {
            jsonBody = ["model": .string(model)]
        }
        let (estimate, model) = route.auth == .signIn ? await prices.estimate(route: route, body: jsonBody) : (0, jsonBody?["model"]?.stringValue)
        // Public routes (models, quotes) cost nothing and are not ledgered.
        if route.auth != .none {
            let start = RequestLedger.Start(id: requestID, client: policy.name, uid: peer.uid, pid: peer.pid, method: method,
                                            route: "/api/v1" + route.template, model: model, estimateMicro: estimate, bytesIn: declaredLength ?? 0)
            let admission: RequestLedger.Admission
            do { admission = try requests.admit(start, policy: policy, dayStart: Timestamp.utcMidnight(clock.nowMilliseconds())) } catch {
                throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot record the request: \(error)")
            }
            switch admission {
            case .admitted: break
            case .overRequest(let limit):
                ledger.audit("budget_refused", "\(policy.name) \(route.template) estimate \(Money.text(estimate)) > max_request \(Money.text(limit))")
                throw .budgetExceeded(client: policy.name, limit: "max_request_usd", limitMicro: limit, spentMicro: 0, estimateMicro: estimate)
            case .overDaily(let limit, let spent):
                ledger.audit("budget_refused", "\(policy.name) \(route.template) spent \(Money.text(spent)) + \(Money.text(estimate)) > daily \(Money.text(limit))")
                throw .budgetExceeded(client: policy.name, limit: "daily_usd", limitMicro: limit, spentMicro: spent, estimateMicro: estimate)
            }
            outcome.ledgerRow = requestID
        }

        // 6. A fair upstream slot (Venice admits 5 signed-in requests per wallet at once).
        let clientKey = "uid:\(peer.uid)/pid:\(peer.pid)"
        var lease: SlotLease?
        if route.auth == .signIn {
            do {
                try await scheduler.acquire(client: clientKey)
            } catch is UpstreamScheduler.Full {
                throw .queueFull(retryAfter: 2)
            } catch {
                throw AgentError(.serviceUnavailable, "AGENT_CANCELLED", "the request was cancelled while waiting for an upstream slot")
            }
            lease = SlotLease(scheduler: scheduler)
        }

        // 7. Forward, signed per attempt.
        var forwardHeaders = HTTPHeaders()
        for field in HeaderFilter.forwardable(Self.nioHeaders(request.headers)) {
            forwardHeaders.add(name: field.name, value: field.value)
        }
        let upstreamRequest = UpstreamRequest(route: route, query: request.uri.query, headers: forwardHeaders, body: body)
        let upstreamStarted = ContinuousClock.now
        var answer: UpstreamResponse
        do {
            answer = try await upstream.execute(upstreamRequest)
        } catch {
            await lease?.release()
            requests.finish(id: requestID, status: limitedBody?.exceeded == true ? 413 : 502, bytesOut: 0, upstreamRequestID: nil)
            outcome.ledgerRow = nil
            if limitedBody?.exceeded == true { throw .bodyTooLarge(limit: limit) }
            switch error {
            case .noBearerKey: throw .noKeyMinted()
            case .signing:
                if !session.isUnlocked { throw .locked() }
                throw AgentError(.internalServerError, error.code, error.description)
            case .unreachable, .lostAfterSend, .invalidUpstream:
                throw AgentError(.badGateway, error.code, error.description)
            }
        }
        var autoTopUpNote: String?
        if answer.status == 402, route.auth == .signIn, configuration.autoTopUp, upstreamRequest.isReplayable,
           case .buffered(let buffer) = answer.body {
            // Give the slot back while paying (the top-up may itself need a signed-in slot).
            await lease?.release()
            lease = nil
            let (note, retried) = await autoTopUp(after: buffer, retrying: upstreamRequest) { [scheduler] in
                try await scheduler.acquire(client: clientKey)
                return SlotLease(scheduler: scheduler)
            }
            if let retried { lease = retried.lease }
            autoTopUpNote = note
            if let retried { answer = retried.answer }
        }
        if model == nil, let streamed = limitedBody,
           let sniffed = MultipartField.value(named: "model", in: streamed.head, contentType: request.headers[.contentType]) {
            requests.setModel(id: requestID, model: sniffed)
        }
        let final = answer
        let elapsed = ContinuousClock.now - upstreamStarted
        metrics.recordUpstreamLatency(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        for reason in final.retries { metrics.recordRetry(reason: reason.rawValue) }
        outcome.retries = final.retries.map(\.rawValue)
        outcome.upstreamRequestID = final.headers.first(name: "x-venice-request-id") ?? final.headers.first(name: "cf-ray")

        // 8. Stream the answer back; the slot is returned when the body is done.
        var fields = Self.httpFields(HeaderFilter.returnable(final.headers))
        fields[.init("X-Agent-Request-Id")!] = requestID
        if let autoTopUpNote { fields[.init("X-Agent-Auto-Topup")!] = autoTopUpNote }
        let contentLength = final.headers.first(name: "content-length").flatMap { Int($0) }
        let status = HTTPResponse.Status(code: final.status)
        let requests = self.requests
        let reconciler = self.reconciler
        let signedIn = route.auth == .signIn
        outcome.ledgerRow = nil  // finished below, when the body is done
        switch final.body {
        case .buffered(let buffer):
            await lease?.release()
            requests.finish(id: requestID, status: final.status, bytesOut: buffer.readableBytes, upstreamRequestID: outcome.upstreamRequestID)
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
        case .stream(let stream):
            let heldLease = lease
            let headerID = outcome.upstreamRequestID
            let responseBody = ResponseBody(contentLength: contentLength) { writer in
                var bytes = 0
                var upstreamID = headerID
                do {
                    for try await chunk in stream {
                        if bytes == 0, upstreamID == nil { upstreamID = UpstreamIdentifier.find(in: chunk) }
                        bytes += chunk.readableBytes
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                } catch {
                    await heldLease?.release()
                    requests.finish(id: requestID, status: 599, bytesOut: bytes, upstreamRequestID: upstreamID)
                    throw error
                }
                await heldLease?.release()
                requests.finish(id: requestID, status: final.status, bytesOut: bytes, upstreamRequestID: upstreamID)
                if signedIn, final.status < 300 { await reconciler.requestFinished() }
            }
            return Response(status: status, headers: fields, body: responseBody)
        }
    }

    func metricsResponse(requestID: String) async -> Response {
        let snapshot = await scheduler.snapshot
        let text = metrics.render(inFlight: snapshot.inFlight, queued: snapshot.queued,
                                  signatures: session.signatureCount, unlocked: session.isUnlocked)
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; version=0.0.4"
        fields[.init("X-Agent-Request-Id")!] = requestID
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: helpers

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, requestID: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.init("X-Agent-Request-Id")!] = requestID
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    static func errorResponse(_ error: AgentError, requestID: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.init("X-Agent-Request-Id")!] = requestID
        for (name, value) in error.headers {
            if let n = HTTPField.Name(name) { fields[n] = value }
        }
        return Response(status: error.status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: error.jsonBody)))
    }

    static func nioHeaders(_ fields: HTTPFields) -> HTTPHeaders {
        var out = HTTPHeaders()
        for field in fields { out.add(name: field.name.rawName, value: field.value) }
        return out
    }

    static func httpFields(_ headers: HTTPHeaders) -> HTTPFields {
        var out = HTTPFields()
        for (name, value) in headers {
            if let n = HTTPField.Name(name) { out.append(HTTPField(name: n, value: value)) }
        }
        return out
    }
}
