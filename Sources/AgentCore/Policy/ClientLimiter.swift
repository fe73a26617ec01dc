import Synchronization

/// Each client's request rate and concurrency, and which budget warnings were already
/// written, in memory. Checking a limit and counting the request is one step under one lock,
/// so parallel requests cannot together pass it.
final class ClientLimiter: Sendable {
    enum Refusal: Sendable, Equatable {
        /// `limit` requests in the last minute; the oldest leaves the window in `retryAfterSeconds`.
        case perMinute(limit: Int, retryAfterSeconds: Int)
        /// `limit` requests of the client are being answered.
        case parallel(limit: Int)
    }

    private struct State {
        /// Admission times (Unix ms) within the last minute, oldest first, per client with a rate limit.
        var recent: [String: [Int64]] = [:]
        var inFlight: [String: Int] = [:]
        /// Budget warnings already audited ("client|daily|day").
        var warned: Set<String> = []
    }

    static let windowMilliseconds: Int64 = 60_000
    private let state = Mutex(State())
    private let origin = ContinuousClock.now

    /// Milliseconds on a monotonic clock (a wall clock set back must not stretch the minute).
    func nowMilliseconds() -> Int64 { (ContinuousClock.now - origin).milliseconds }

    /// Counts a request of `client` unless `limit` were admitted in the last minute.
    func admitRate(client: String, limit: Int?, now: Int64) -> Refusal? {
        guard let limit else { return nil }
        return state.withLock { s in
            var times = s.recent[client, default: []]
            times.removeAll { $0 <= now - Self.windowMilliseconds }
            if times.count >= max(0, limit) {
                s.recent[client] = times
                let oldest = times.first ?? now
                let waitMilliseconds = max(0, oldest + Self.windowMilliseconds - now)
                return .perMinute(limit: limit, retryAfterSeconds: Int(max(1, (waitMilliseconds + 999) / 1000)))
            }
            times.append(now)
            s.recent[client] = times
            return nil
        }
    }

    /// Takes one of `client`'s `limit` parallel slots; nil = refused. Give it back with `release`.
    func acquire(client: String, limit: Int?) -> Refusal? {
        state.withLock { s in
            let running = s.inFlight[client, default: 0]
            if let limit, running >= limit { return .parallel(limit: limit) }
            s.inFlight[client] = running + 1
            return nil
        }
    }

    func release(client: String) {
        state.withLock { s in
            let left = s.inFlight[client, default: 0] - 1
            s.inFlight[client] = left > 0 ? left : nil
        }
    }

    /// True the first time `key` is seen (one audit event per client, budget and period).
    func firstWarning(_ key: String) -> Bool {
        state.withLock { s in
            if s.warned.count > 10_000 { s.warned.removeAll() }
            return s.warned.insert(key).inserted
        }
    }
}
