public import X402Protocol

/// Decides, after each upstream attempt, whether to try again, how long to wait and whether
/// the clock must be corrected first. Pure: the caller supplies the outcome and a jitter source.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double
    /// Retry-After values above this are not waited for; the answer goes back to the client.
    public var maxRetryAfterSeconds: Double
    /// Attempts when the connection cannot be made at all (each already waits the connect timeout).
    public var maxConnectAttempts: Int = 2

    public init(maxAttempts: Int = 4, baseDelaySeconds: Double = 0.5, maxDelaySeconds: Double = 30, maxRetryAfterSeconds: Double = 30) {
        self.maxAttempts = maxAttempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
    }

    public enum Outcome: Sendable, Hashable {
        /// The connection failed before any byte of the request was sent.
        case connectFailed
        /// The connection failed after (part of) the request went out.
        case failedAfterSend
        case response(status: Int, retryAfterSeconds: Double?, signInFailure: SignInFailure?)
    }

    public enum Decision: Sendable, Hashable {
        case deliver
        case retry(afterSeconds: Double, reason: Reason)
        case fail
    }

    public enum Reason: String, Sendable, Hashable {
        case connect, rateLimited = "rate_limited", clockSkew = "clock_skew", nonceReused = "nonce_reused", serverError = "server_error"
    }

    /// - Parameters:
    ///   - attempt: 1 for the first attempt.
    ///   - signInRetries: how many sign-in (clock/nonce) retries were already made (at most one is allowed).
    ///   - idempotent: GET/HEAD; a POST that got a 5xx may have been charged and is never retried.
    ///   - replayable: false when the request body was streamed and cannot be sent again.
    public func decide(attempt: Int, outcome: Outcome, signInRetries: Int, idempotent: Bool, replayable: Bool,
                       jitter: Double) -> Decision {
        let canRetry = attempt < maxAttempts && replayable
        switch outcome {
        case .connectFailed:
            return canRetry && attempt < maxConnectAttempts ? .retry(afterSeconds: backoff(attempt: attempt, jitter: jitter), reason: .connect) : .fail
        case .failedAfterSend:
            return canRetry && idempotent ? .retry(afterSeconds: backoff(attempt: attempt, jitter: jitter), reason: .connect) : .fail
        case .response(let status, let retryAfter, let signIn):
            if status == 401, let signIn {
                guard canRetry, signInRetries == 0 else { return .deliver }
                switch signIn {
                case .futureTimestamp, .expired: return .retry(afterSeconds: 0, reason: .clockSkew)
                case .nonceReused: return .retry(afterSeconds: 0, reason: .nonceReused)
                default: return .deliver
                }
            }
            if status == 429 {
                guard canRetry else { return .deliver }
                if let retryAfter {
                    guard retryAfter <= maxRetryAfterSeconds else { return .deliver }
                    return .retry(afterSeconds: max(0, retryAfter) + jitter * baseDelaySeconds, reason: .rateLimited)
                }
                return .retry(afterSeconds: backoff(attempt: attempt, jitter: jitter), reason: .rateLimited)
            }
            if status >= 500, status != 501, idempotent, canRetry {
                return .retry(afterSeconds: backoff(attempt: attempt, jitter: jitter), reason: .serverError)
            }
            return .deliver
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random (jitter in [0, 1)).
    public func backoff(attempt: Int, jitter: Double) -> Double {
        var delay = baseDelaySeconds
        for _ in 1..<max(attempt, 1) { delay *= 2 }
        delay = min(delay, maxDelaySeconds)
        return delay / 2 + delay / 2 * min(max(jitter, 0), 1)
    }
}
