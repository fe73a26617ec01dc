import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The agent's metrics, recorded through swift-metrics into a Prometheus registry of its own
/// (no process-wide bootstrap: every agent in a process — tests, the benchmark — keeps its
/// own). Labels are route templates, status codes, retry reasons and phase names only:
/// never a raw path, a header value or anything secret, so their number is bounded.
public final class AgentMetrics: Sendable {
    /// Where a proxied request's time in the agent goes (the benchmark prints their means).
    public enum Phase: String, Sendable, CaseIterable {
        /// Looking up the connection's peer credentials.
        case peer
        /// Resolving the caller's policy (token, binding, default).
        case policy
        /// Pricing the request and writing its ledger row.
        case ledger
        /// Signing the SIWX header(s).
        case signing
        /// The HTTP client's own work for the upstream call, beyond Venice's answer time.
        case upstreamClient = "upstream_client"
        /// Building the response for the client.
        case response
    }

    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .milliseconds(Int64($0 * 1000)) }
    static let overheadBuckets: [Duration] = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 50, 100, 1000].map { .microseconds(Int64($0 * 1000)) }

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[String: CoreMetrics.Counter]>([:])
    private let retries = Mutex<[String: CoreMetrics.Counter]>([:])
    private let upstreamLatency: CoreMetrics.Timer
    private let overhead: CoreMetrics.Timer
    private let phases: [Phase: CoreMetrics.Timer]
    private let inFlight: CoreMetrics.Meter
    private let queueDepth: CoreMetrics.Meter
    private let unlocked: CoreMetrics.Meter
    private let connections: CoreMetrics.Meter
    private let signatures: CoreMetrics.Counter
    private let signaturesSeen = Mutex(0)
    private let signedAhead: CoreMetrics.Counter
    private let signedAheadSeen = Mutex(0)

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "venice_agent_upstream_latency_seconds": Self.latencyBuckets,
            "venice_agent_overhead_seconds": Self.overheadBuckets,
            "venice_agent_phase_seconds": Self.overheadBuckets,
        ]
        self.factory = factory
        upstreamLatency = CoreMetrics.Timer(label: "venice_agent_upstream_latency_seconds", factory: factory)
        overhead = CoreMetrics.Timer(label: "venice_agent_overhead_seconds", factory: factory)
        phases = Dictionary(uniqueKeysWithValues: Phase.allCases.map {
            ($0, CoreMetrics.Timer(label: "venice_agent_phase_seconds", dimensions: [("phase", $0.rawValue)], factory: factory))
        })
        inFlight = CoreMetrics.Meter(label: "venice_agent_upstream_in_flight", factory: factory)
        queueDepth = CoreMetrics.Meter(label: "venice_agent_queue_depth", factory: factory)
        unlocked = CoreMetrics.Meter(label: "venice_agent_unlocked", factory: factory)
        connections = CoreMetrics.Meter(label: "venice_agent_connections", factory: factory)
        signatures = CoreMetrics.Counter(label: "venice_agent_signatures_total", factory: factory)
        signedAhead = CoreMetrics.Counter(label: "venice_agent_signins_signed_ahead_total", factory: factory)
    }

    /// One answered request, by route template (or `unmatched`) and status.
    public func recordRequest(route: String, status: Int) {
        let key = route + "|" + String(status)
        let counter = requests.withLock { table in
            if let counter = table[key] { return counter }
            let counter = CoreMetrics.Counter(label: "venice_agent_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory)
            table[key] = counter
            return counter
        }
        counter.increment()
    }

    public func recordRetry(reason: String) {
        let counter = retries.withLock { table in
            if let counter = table[reason] { return counter }
            let counter = CoreMetrics.Counter(label: "venice_agent_upstream_retries_total", dimensions: [("reason", reason)], factory: factory)
            table[reason] = counter
            return counter
        }
        counter.increment()
    }

    /// Time to upstream response headers.
    public func recordUpstreamLatency(_ duration: Duration) { upstreamLatency.recordNanoseconds(Self.nanoseconds(duration)) }

    /// Time a proxied request spent in the agent itself (not queued, not at Venice).
    public func recordOverhead(_ duration: Duration) { overhead.recordNanoseconds(Self.nanoseconds(duration)) }

    public func record(_ phase: Phase, _ duration: Duration) { phases[phase]?.recordNanoseconds(Self.nanoseconds(duration)) }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ attoseconds / 1_000_000_000
    }

    /// Prometheus text; gauges are read at scrape time.
    /// - Parameters:
    ///   - signatures: signatures the key has made (all of them, sent or not).
    ///   - signedAhead: sign-ins (attempts of proxied requests) sent with a header signed ahead.
    public func render(inFlight: Int, queued: Int, signatures signatureCount: Int, signedAhead signedAheadCount: Int,
                       unlocked isUnlocked: Bool, connections open: Int) -> [UInt8] {
        self.inFlight.set(inFlight)
        queueDepth.set(queued)
        unlocked.set(isUnlocked ? 1 : 0)
        connections.set(open)
        Self.advance(signatures, seen: signaturesSeen, to: signatureCount)
        Self.advance(signedAhead, seen: signedAheadSeen, to: signedAheadCount)
        return registry.emitToBuffer()
    }

    /// Brings a counter kept elsewhere up to `total` (counters only grow).
    private static func advance(_ counter: CoreMetrics.Counter, seen: borrowing Mutex<Int>, to total: Int) {
        let delta = seen.withLock { seen in
            let delta = max(0, total - seen)
            seen = max(seen, total)
            return delta
        }
        if delta > 0 { counter.increment(by: delta) }
    }
}
