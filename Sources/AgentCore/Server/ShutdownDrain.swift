import Logging
import ServiceLifecycle
import Synchronization

/// Counts requests whose responses are not completely written yet, so a shutdown can wait
/// for them before the server closes its connections (closing a connection with queued
/// writes would cut a large response short).
public final class InFlightTracker: Sendable {
    private struct State {
        var count = 0
        var draining = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers a request; false once draining has begun (the caller answers 503).
    public func enter() -> Bool {
        state.withLock { s in
            guard !s.draining else { return false }
            s.count += 1
            return true
        }
    }

    public func leave() {
        state.withLock { $0.count -= 1 }
    }

    public var count: Int { state.withLock { $0.count } }

    func beginDraining() { state.withLock { $0.draining = true } }
}

/// Listed after the HTTP server so that, on SIGTERM, it is stopped first: it stops new
/// requests and waits (bounded) for in-flight responses to finish.
struct ShutdownDrain: Service {
    let tracker: InFlightTracker
    let grace: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        tracker.beginDraining()
        let deadline = ContinuousClock.now + grace
        while tracker.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if tracker.count > 0 {
            logger.warning("shutdown grace ran out with requests still in flight", metadata: ["in_flight": "\(tracker.count)"])
        }
    }
}
