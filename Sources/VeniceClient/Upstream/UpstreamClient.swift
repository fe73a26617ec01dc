public import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
public import Logging
public import NIOCore
import NIOHTTP1
public import X402Protocol
import WalletCrypto

/// Sends allow-listed requests to Venice: one fresh credential per attempt, retries by
/// `RetryPolicy`, the skew clock fed from every `Date` header. Redirects are never followed,
/// so a signed header cannot reach another host.
public final class UpstreamClient: Sendable {
    public struct Configuration: Sendable {
        /// Base URL including `/api/v1`, e.g. `https://api.venice.ai/api/v1`.
        public var baseURL: String
        public var retry: RetryPolicy
        /// Whole-request deadline (long uploads and downloads included).
        public var requestTimeoutSeconds: Int64
        /// Largest error body inspected for an `X402_SIGN_IN_*` code.
        public var inspectLimit: Int

        public init(baseURL: String, retry: RetryPolicy = RetryPolicy(), requestTimeoutSeconds: Int64 = 600, inspectLimit: Int = 64 * 1024) {
            self.baseURL = baseURL
            self.retry = retry
            self.requestTimeoutSeconds = requestTimeoutSeconds
            self.inspectLimit = inspectLimit
        }
    }

    public let configuration: Configuration
    public let baseURL: UpstreamBaseURL
    private let http: HTTPClient
    private let credentials: any UpstreamCredentials
    private let clock: SkewClock
    private let logger: Logger
    private let jitter: @Sendable () -> Double

    public init(configuration: Configuration, httpClient: HTTPClient, credentials: any UpstreamCredentials, clock: SkewClock,
                logger: Logger, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) throws(VeniceClientError) {
        do { self.baseURL = try UpstreamBaseURL(configuration.baseURL) } catch {
            throw .invalidUpstream(configuration.baseURL)
        }
        self.configuration = configuration
        self.http = httpClient
        self.credentials = credentials
        self.clock = clock
        self.logger = logger
        self.jitter = jitter
    }

    /// An HTTP client set up for Venice: redirects off, bounded connect time, pooled connections.
    public static func makeHTTPClient(eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup) -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        config.timeout = .init(connect: .seconds(5), read: .seconds(300))
        config.decompression = .disabled
        config.connectionPool = .init(idleTimeout: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: config)
    }

    public func execute(_ request: UpstreamRequest) async throws(VeniceClientError) -> UpstreamResponse {
        var attempt = 0
        var signInRetries = 0
        var reasons: [RetryPolicy.Reason] = []
        var signing: Duration = .zero
        let policy = configuration.retry
        while true {
            attempt += 1
            let signingStarted = ContinuousClock.now
            let outgoing = try makeRequest(request)
            signing += .now - signingStarted
            let response: HTTPClientResponse
            do {
                response = try await http.execute(outgoing, timeout: .seconds(configuration.requestTimeoutSeconds), logger: logger)
            } catch {
                let beforeSend = Self.failedBeforeSend(error)
                let outcome: RetryPolicy.Outcome = beforeSend ? .connectFailed : .failedAfterSend
                let decision = policy.decide(attempt: attempt, outcome: outcome, signInRetries: signInRetries,
                                             idempotent: request.route.retriesServerErrors, replayable: request.isReplayable, jitter: jitter())
                if case .retry(let delay, let reason) = decision {
                    reasons.append(reason)
                    try? await Task.sleep(for: .seconds(delay))
                    continue
                }
                let text = String(describing: error)
                throw beforeSend ? .unreachable(text) : .lostAfterSend(text)
            }
            if let date = response.headers.first(name: "date") { clock.observe(httpDate: date) }

            var body: UpstreamResponse.Body = .stream(response.body)
            var signInFailure: SignInFailure?
            let status = Int(response.status.code)
            if status == 401 || status == 402 || status == 429 {
                // Small error bodies: read them to find Venice's code, and keep them for the client.
                let buffer = (try? await response.body.collect(upTo: configuration.inspectLimit)) ?? ByteBuffer()
                body = .buffered(buffer)
                if status == 401 { signInFailure = Self.signInFailure(in: buffer) }
            }
            let retryAfter = response.headers.first(name: "retry-after").flatMap(Double.init)
            let decision = policy.decide(attempt: attempt, outcome: .response(status: status, retryAfterSeconds: retryAfter, signInFailure: signInFailure),
                                         signInRetries: signInRetries, idempotent: request.route.retriesServerErrors,
                                         replayable: request.isReplayable, jitter: jitter())
            switch decision {
            case .retry(let delay, let reason):
                reasons.append(reason)
                if reason == .clockSkew || reason == .nonceReused {
                    signInRetries += 1
                    if let failure = signInFailure {
                        _ = clock.correct(after: failure, httpDate: response.headers.first(name: "date"))
                    }
                }
                if case .stream(let stream) = body {
                    // Drain what we will not deliver (bounded) so the connection can be reused.
                    _ = try? await stream.collect(upTo: 1 << 20)
                }
                try? await Task.sleep(for: .seconds(delay))
                continue
            case .deliver, .fail:
                return UpstreamResponse(status: status, headers: response.headers, body: body, retries: reasons, signing: signing)
            }
        }
    }

    func makeRequest(_ request: UpstreamRequest) throws(VeniceClientError) -> HTTPClientRequest {
        var url = baseURL.url(for: request.route.path)
        if let query = request.query, !query.isEmpty { url += "?" + query }
        var out = HTTPClientRequest(url: url)
        out.method = HTTPMethod(rawValue: request.route.method)
        out.headers = request.headers
        switch request.route.auth {
        case .signIn:
            do {
                out.headers.replaceOrAdd(name: "SIGN-IN-WITH-X", value: try credentials.signInHeader())
            } catch X402Error.signerLocked {
                throw .signerLocked
            } catch {
                throw .signing(String(describing: error))
            }
        case .bearer:
            guard let key = credentials.bearerKey() else { throw .noBearerKey }
            out.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(key)")
        case .bearerIfAvailable:
            if let key = credentials.bearerKey() { out.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(key)") }
        case .none:
            break
        }
        switch request.body {
        case .none: break
        case .buffered(let buffer): out.body = .bytes(buffer)
        case .streamed(let body): out.body = body
        }
        return out
    }

    static func signInFailure(in buffer: ByteBuffer) -> SignInFailure? {
        guard let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes),
              let json = try? JSONValue(parsing: bytes), let code = json["code"]?.stringValue else { return nil }
        return SignInFailure(code: code)
    }

    /// True when the error's type says no connection was made, so nothing was sent: a connect
    /// timeout, a refused or unreachable address, a name that did not resolve. Anything else
    /// may have reached Venice (and been charged), so it is never taken for "not sent".
    static func failedBeforeSend(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout
        case is NIOConnectionError:
            return true
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError:
            return [ECONNREFUSED, ENOENT, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(error.errnoCode)
        default:
            return false
        }
    }
}
