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

    /// Registers a request; nil once draining has begun (the caller answers 503). The ticket
    /// leaves exactly once: when `leave()` is called, or when it is released without (a client
    /// that vanished before its response was written never runs the body writer).
    public func enter() -> Ticket? {
        let admitted = state.withLock { s in
            guard !s.draining else { return false }
            s.count += 1
            return true
        }
        return admitted ? Ticket(tracker: self) : nil
    }

    fileprivate func release() {
        state.withLock { $0.count -= 1 }
    }

    public final class Ticket: Sendable {
        private let tracker: InFlightTracker
        private let left = Atomic<Bool>(false)

        fileprivate init(tracker: InFlightTracker) { self.tracker = tracker }

        public func leave() {
            guard !left.exchange(true, ordering: .acquiringAndReleasing) else { return }
            tracker.release()
        }

        deinit { leave() }
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
