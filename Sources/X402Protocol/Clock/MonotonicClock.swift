import Foundation

/// Milliseconds on `CLOCK_MONOTONIC` (lifetimes of remembered nonces; immune to wall-clock jumps).
public struct MonotonicClock: WallClock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
