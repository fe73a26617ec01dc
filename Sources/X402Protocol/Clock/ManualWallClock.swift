import Synchronization

/// A wall clock that only moves when told to (tests, simulations).
public final class ManualWallClock: WallClock {
    private let current: Mutex<Int64>

    public init(milliseconds: Int64) {
        current = Mutex(milliseconds)
    }

    public func nowMilliseconds() -> Int64 { current.withLock { $0 } }

    public func set(_ milliseconds: Int64) { current.withLock { $0 = milliseconds } }

    public func advance(by milliseconds: Int64) { current.withLock { $0 += milliseconds } }
}
