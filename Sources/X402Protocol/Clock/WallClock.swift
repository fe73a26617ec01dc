import Foundation

/// Wall-clock time in Unix milliseconds, injected so tests can pin it.
public protocol WallClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The machine's wall clock (`clock_gettime(CLOCK_REALTIME)`).
public struct SystemWallClock: WallClock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
