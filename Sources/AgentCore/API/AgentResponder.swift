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
    let connections: ConnectionRegistry
    let callers: CallerResolver

    public func respond(to request: Request, context: AgentRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = Hex.encode(SecureRandom.bytes(count: 8))
        let connection = connections.info(for: context.channel)
        let peer = connection?.peer
        var routeLabel = "unmatched"
        var outcome = Outcome()
        guard let ticket = inFlight.enter() else {
            return Self.errorResponse(AgentError(.serviceUnavailable, "AGENT_SHUTTING_DOWN", "the agent is shutting down; retry once it is restarted"),
                                      requestID: requestID)
        }
        var response = await respondOrRefuse(request, connection: connection, requestID: requestID, routeLabel: &routeLabel, outcome: &outcome)
        // The request stays "in flight" until its body is completely handed to the connection;
        // when the connection is gone before the body is written, the ticket leaves on release.
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { ticket.leave() }
            try await body.write(writer)
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

    func respondOrRefuse(_ request: Request, connection: ConnectionRegistry.Info?, requestID: String, routeLabel: inout String,
                         outcome: inout Outcome) async -> Response {
        do {
            return try await handle(request, connection: connection, requestID: requestID, routeLabel: &routeLabel, outcome: &outcome)
        } catch {
            if let row = outcome.ledgerRow {
                await requests.finish(id: row, status: Int(error.status.code), bytesOut: 0, upstreamRequestID: nil)
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
    func autoTopUp(after body: ByteBuffer, retrying request: UpstreamRequest, observedSettled: Int,
                   reacquire: () async throws -> SlotLease) async -> (note: String, retried: (answer: UpstreamResponse, lease: SlotLease)?) {
        let json = try? JSONValue(parsing: Array(body.readableBytesView))
        guard json?["code"]?.stringValue == "PAYMENT_REQUIRED", json?["reason"]?.stringValue ?? "insufficient_balance" == "insufficient_balance" else {
            ledger.audit("auto_topup_skipped", "402 without PAYMENT_REQUIRED (quote above balance or DIEM-linked wallet): a top-up cannot fix it")
            return ("not-applicable: this 402 is not an insufficient-balance answer a top-up can fix", nil)
        }
        let before = json?["currentBalanceUsd"]?.doubleValue ?? 0
        let note: String
        do {
            switch try await topUps.autoTopUp(usd: Money.usd(configuration.autoTopUpMicro), observedSettled: observedSettled) {
            case .alreadyToppedUp:
                // Another request's top-up settled while this one waited: retry without paying again.
                note = "after-another-top-up"
            case .paid(let result):
                guard let after = result.newBalanceUSD, after > before else {
                    ledger.audit("auto_topup_breaker", "balance did not rise after \(result.paymentId); not retrying")
                    return ("no-balance-increase: not retried", nil)
                }
                ledger.audit("auto_topup", "\(result.paymentId) +\(result.amountCreditedUSD) USD, retrying once")
                note = "topped-up: \(result.paymentId)"
            }
        } catch {
            ledger.audit("auto_topup_refused", error.description)
            return ("refused: \(error.code)", nil)
        }
        do {
            let lease = try await reacquire()
            do {
                return (note, (try await upstream.execute(request), lease))
            } catch {
                await lease.release()
                return ("\(note); retry failed", nil)
            }
        } catch {
            return ("\(note); retry not queued", nil)
        }
    }

    func handle(_ request: Request, connection: ConnectionRegistry.Info?, requestID: String, routeLabel: inout String,
                outcome: inout Outcome) async throws(AgentError) -> Response {
        // 1. Who is calling, and with which policy (the connection's peer, its token or binding).
        let caller = try callers.resolve(headers: request.headers, target: request.uri.description, connection: connection)
        let peer = caller.peer
        let policy = caller.policy
        let path = request.uri.path
        let method = request.method.rawValue
        outcome.client = policy.name

        // 2. The agent's own API.
        if path == "/metrics" {
            routeLabel = "/metrics"
            guard method == "GET" else { throw .unknownRoute(method: method, path: path) }
            return await metricsResponse(requestID: requestID)
        }
        if path.hasPrefix("/agent/v1/") || path == "/agent/v1" {
            return try await agentAPI(request, method: method, path: path, caller: caller, requestID: requestID, routeLabel: &routeLabel)
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

        // 4. Body: bounded; small ones kept whole so a retry can resend them. For a client with
        //    spending limits, a charged route's body is read whole (up to the body limit) however
        //    it is framed (Content-Length, chunked, padded), so its price can be bounded first.
        let limit = configuration.maxRequestBodyBytes
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        if let declaredLength, declaredLength > limit { throw .bodyTooLarge(limit: limit) }
        let mustBound = route.isCharged && policy.hasSpendingLimits
        var limitedBody: LimitedBody<RequestBody>?
        let body: UpstreamRequest.Body
        if method == "GET" || method == "HEAD" || declaredLength == 0 {
            body = .none
        } else if mustBound || (declaredLength ?? Int.max) <= configuration.replayableBodyBytes {
            body = .buffered(try await Self.collect(request.body, upTo: mustBound ? limit : configuration.replayableBodyBytes))
        } else {
            let limited = LimitedBody(base: request.body, limit: limit)
            limitedBody = limited
            let length: HTTPClientRequest.Body.Length = declaredLength.map { .known(Int64($0)) } ?? .unknown
            body = .streamed(.stream(limited, length: length))
        }

        // 5. Price estimate against the client's budget, before anything is signed; the
        //    estimate is held in the ledger until the actual charge is reconciled. A client
        //    with limits is refused a request whose price cannot be bounded (fail closed).
        var jsonBody: JSONValue?
        if case .buffered(let buffer) = body { jsonBody = try? JSONValue(parsing: Array(buffer.readableBytesView)) }
        if jsonBody == nil, case .buffered(let buffer) = body,
           let model = MultipartField.value(named: "model", in: Array(buffer.readableBytesView), contentType: request.headers[.contentType]) {
            jsonBody = ["model": .string(model)]
        }
        let (price, model) = try await prices.estimate(route: route, body: jsonBody)
        if mustBound, case .unbounded(let reason) = price {
            ledger.audit("budget_refused", "\(policy.name) \(route.template): price unknown (\(reason))")
            throw .priceUnknown(client: policy.name, reason: reason)
        }
        let estimate = price.heldMicro
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
        let settledBefore = configuration.autoTopUp ? await topUps.settledCount : 0
        var answer: UpstreamResponse
        do {
            answer = try await upstream.execute(upstreamRequest)
        } catch {
            await lease?.release()
            await requests.finish(id: requestID, status: limitedBody?.exceeded == true ? 413 : 502, bytesOut: 0, upstreamRequestID: nil)
            outcome.ledgerRow = nil
            if limitedBody?.exceeded == true { throw .bodyTooLarge(limit: limit) }
            switch error {
            case .noBearerKey: throw .noKeyMinted()
            case .signerLocked:
                throw .locked()
            case .signing:
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
            let (note, retried) = await autoTopUp(after: buffer, retrying: upstreamRequest, observedSettled: settledBefore) { [scheduler] in
                try await scheduler.acquire(client: clientKey)
                return SlotLease(scheduler: scheduler)
            }
            if let retried { lease = retried.lease }
            autoTopUpNote = note
            if let retried { answer = retried.answer }
        }
        if model == nil, let streamed = limitedBody,
           let sniffed = MultipartField.value(named: "model", in: streamed.head, contentType: request.headers[.contentType]) {
            await requests.setModel(id: requestID, model: sniffed)
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
        let contentLength = final.headers.first(name: "content-length").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        let status = HTTPResponse.Status(code: final.status)
        let requests = self.requests
        let reconciler = self.reconciler
        let signedIn = route.auth == .signIn
        outcome.ledgerRow = nil  // finished below, when the body is done
        switch final.body {
        case .buffered(let buffer):
            await lease?.release()
            await requests.finish(id: requestID, status: final.status, bytesOut: buffer.readableBytes, upstreamRequestID: outcome.upstreamRequestID)
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
                    await requests.finish(id: requestID, status: 599, bytesOut: bytes, upstreamRequestID: upstreamID)
                    throw error
                }
                await heldLease?.release()
                await requests.finish(id: requestID, status: final.status, bytesOut: bytes, upstreamRequestID: upstreamID)
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

    /// Reads a whole body up to `limit` bytes: more is a 413, a body cut short a 400.
    static func collect(_ body: RequestBody, upTo limit: Int) async throws(AgentError) -> ByteBuffer {
        var buffer = ByteBuffer()
        do {
            for try await chunk in body {
                guard chunk.readableBytes <= limit - buffer.readableBytes else { throw AgentError.bodyTooLarge(limit: limit) }
                var chunk = chunk
                buffer.writeBuffer(&chunk)
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw .badRequest("the request body could not be read completely")
        }
        return buffer
    }

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
