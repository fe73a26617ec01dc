import Synchronization

/// Local time corrected by the offset to the upstream's clock, learnt from response `Date`
/// headers. The offset is the median of the last `sampleCount` samples, so one bad sample
/// (a cached response, a slow proxy) does not move it. A clock error from Venice
/// (`X402_SIGN_IN_FUTURE_TIMESTAMP` / `EXPIRED`) replaces the history with its own sample.
///
/// `Date` has one-second resolution and is stamped before the response travels, so a sample
/// underestimates the server's time by up to ~1 s: a timestamp from this clock errs towards the
/// past, never ahead of the server (Venice allows 30 s ahead, 5 min behind).
public final class SkewClock: WallClock {
    private struct State {
        var samples: [Int64] = []
        var offset: Int64 = 0
        var corrections = 0
    }

    private let base: any WallClock
    private let sampleCount: Int
    private let state = Mutex(State())

    public init(base: any WallClock = SystemWallClock(), sampleCount: Int = 5) {
        self.base = base
        self.sampleCount = max(1, sampleCount)
    }

    public func nowMilliseconds() -> Int64 {
        base.nowMilliseconds() + offsetMilliseconds
    }

    /// Current correction (server minus local), in milliseconds.
    public var offsetMilliseconds: Int64 { state.withLock { $0.offset } }

    /// The correction and how many times a clock error from Venice replaced it: what a sign-in
    /// made ahead of time remembers, to be discarded once the clock it was made with is wrong.
    public struct Mark: Sendable, Equatable {
        public var offsetMilliseconds: Int64
        /// Corrections made after clock errors from Venice (`correct(after:…)` that moved the offset).
        public var corrections: Int

        public init(offsetMilliseconds: Int64, corrections: Int) {
            self.offsetMilliseconds = offsetMilliseconds
            self.corrections = corrections
        }
    }

    public var mark: Mark { state.withLock { Mark(offsetMilliseconds: $0.offset, corrections: $0.corrections) } }

    /// Records one `Date` observation: the server said `serverDateMilliseconds` when the local
    /// clock read `localMilliseconds` (default: now).
    public func observe(serverDateMilliseconds: Int64, localMilliseconds: Int64? = nil) {
        let local = localMilliseconds ?? base.nowMilliseconds()
        let sample = serverDateMilliseconds - local
        state.withLock { s in
            s.samples.append(sample)
            if s.samples.count > sampleCount { s.samples.removeFirst(s.samples.count - sampleCount) }
            s.offset = Self.median(s.samples)
        }
    }

    /// Records an HTTP `Date` header value (IMF-fixdate). Unparseable values are ignored.
    public func observe(httpDate: String, localMilliseconds: Int64? = nil) {
        guard let server = HTTPDate.parse(httpDate) else { return }
        observe(serverDateMilliseconds: server, localMilliseconds: localMilliseconds)
    }

    /// Venice answered `FUTURE_TIMESTAMP` or `EXPIRED`: our estimate is wrong, so trust this
    /// response's `Date` alone. Returns true when the offset changed (worth re-signing once).
    @discardableResult
    public func correct(after failure: SignInFailure, httpDate: String?, localMilliseconds: Int64? = nil) -> Bool {
        guard failure.isClockError, let httpDate, let server = HTTPDate.parse(httpDate) else { return false }
        let local = localMilliseconds ?? base.nowMilliseconds()
        let sample = server - local
        return state.withLock { s in
            let before = s.offset
            s.samples = [sample]
            s.offset = sample
            if before != sample { s.corrections += 1 }
            return before != sample
        }
    }

    static func median(_ values: [Int64]) -> Int64 {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        if sorted.count % 2 == 1 { return sorted[mid] }
        // Even count: the lower middle, so ties err towards the past.
        return min(sorted[mid - 1], sorted[mid])
    }
}
