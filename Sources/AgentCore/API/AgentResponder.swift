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
            "request_id": "\(requestID)",
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
            return Self.errorResponse(error, requestID: requestID)
        }
    }

    struct Outcome {
        var upstreamRequestID: String?
        var retries: [String] = []
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

        // 2. The agent's own API.
        if path == "/metrics" {
            routeLabel = "/metrics"
            guard method == "GET" else { throw .unknownRoute(method: method, path: path) }
            return await metricsResponse(requestID: requestID)
        }
        if path.hasPrefix("/agent/v1/") || path == "/agent/v1" {
            routeLabel = path
            return try await agentAPI(request, method: method, path: path, requestID: requestID)
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
        if route.auth == .signIn, !session.isUnlocked { throw .locked() }
        if route.auth == .bearer { throw .noKeyMinted() }

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

        // 5. A fair upstream slot (Venice admits 5 signed-in requests per wallet at once).
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

        // 6. Forward, signed per attempt.
        var forwardHeaders = HTTPHeaders()
        for field in HeaderFilter.forwardable(Self.nioHeaders(request.headers)) {
            forwardHeaders.add(name: field.name, value: field.value)
        }
        let upstreamRequest = UpstreamRequest(route: route, query: request.uri.query, headers: forwardHeaders, body: body)
        let upstreamStarted = ContinuousClock.now
        let answer: UpstreamResponse
        do {
            answer = try await upstream.execute(upstreamRequest)
        } catch {
            await lease?.release()
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
        let elapsed = ContinuousClock.now - upstreamStarted
        metrics.recordUpstreamLatency(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        for reason in answer.retries { metrics.recordRetry(reason: reason.rawValue) }
        outcome.retries = answer.retries.map(\.rawValue)
        outcome.upstreamRequestID = answer.headers.first(name: "x-venice-request-id") ?? answer.headers.first(name: "cf-ray")

        // 7. Stream the answer back; the slot is returned when the body is done.
        var fields = Self.httpFields(HeaderFilter.returnable(answer.headers))
        fields[.init("X-Agent-Request-Id")!] = requestID
        let contentLength = answer.headers.first(name: "content-length").flatMap { Int($0) }
        let status = HTTPResponse.Status(code: answer.status)
        switch answer.body {
        case .buffered(let buffer):
            await lease?.release()
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
        case .stream(let stream):
            let heldLease = lease
            let responseBody = ResponseBody(contentLength: contentLength) { writer in
                do {
                    for try await chunk in stream { try await writer.write(chunk) }
                    try await writer.finish(nil)
                } catch {
                    await heldLease?.release()
                    throw error
                }
                await heldLease?.release()
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
