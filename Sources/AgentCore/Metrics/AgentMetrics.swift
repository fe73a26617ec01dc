import Synchronization

/// Prometheus text metrics. Labels are route templates and status codes only: never a raw
/// path, a header value or anything secret.
public final class AgentMetrics: Sendable {
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct State {
        var requests: [String: Int] = [:]            // "route|status"
        var retries: [String: Int] = [:]             // reason
        var latencyCounts = [Int](repeating: 0, count: AgentMetrics.latencyBuckets.count)
        var latencySum = 0.0
        var latencyTotal = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func recordRequest(route: String, status: Int) {
        state.withLock { $0.requests["\(route)|\(status)", default: 0] += 1 }
    }

    public func recordRetry(reason: String) {
        state.withLock { $0.retries[reason, default: 0] += 1 }
    }

    public func recordUpstreamLatency(seconds: Double) {
        state.withLock { s in
            for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { s.latencyCounts[i] += 1 }
            s.latencySum += seconds
            s.latencyTotal += 1
        }
    }

    /// A label value in the text exposition format: backslash, quote and newline escaped.
    /// (Labels are route templates already; this is the second line of defence.)
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    public func render(inFlight: Int, queued: Int, signatures: Int, unlocked: Bool) -> String {
        let s = state.withLock { $0 }
        var out = ""
        out += "# HELP venice_agent_requests_total Requests answered, by route template and status.\n"
        out += "# TYPE venice_agent_requests_total counter\n"
        for key in s.requests.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            out += "venice_agent_requests_total{route=\"\(Self.escape(parts[0]))\",status=\"\(Self.escape(parts.count > 1 ? parts[1] : ""))\"} \(s.requests[key] ?? 0)\n"
        }
        out += "# HELP venice_agent_upstream_retries_total Upstream attempts retried, by reason.\n"
        out += "# TYPE venice_agent_upstream_retries_total counter\n"
        for key in s.retries.keys.sorted() {
            out += "venice_agent_upstream_retries_total{reason=\"\(Self.escape(key))\"} \(s.retries[key] ?? 0)\n"
        }
        out += "# HELP venice_agent_upstream_latency_seconds Time to upstream response headers.\n"
        out += "# TYPE venice_agent_upstream_latency_seconds histogram\n"
        for (i, bound) in Self.latencyBuckets.enumerated() {
            out += "venice_agent_upstream_latency_seconds_bucket{le=\"\(bound)\"} \(s.latencyCounts[i])\n"
        }
        out += "venice_agent_upstream_latency_seconds_bucket{le=\"+Inf\"} \(s.latencyTotal)\n"
        out += "venice_agent_upstream_latency_seconds_sum \(s.latencySum)\n"
        out += "venice_agent_upstream_latency_seconds_count \(s.latencyTotal)\n"
        out += "# HELP venice_agent_upstream_in_flight Requests currently at Venice.\n# TYPE venice_agent_upstream_in_flight gauge\n"
        out += "venice_agent_upstream_in_flight \(inFlight)\n"
        out += "# HELP venice_agent_queue_depth Requests waiting for an upstream slot.\n# TYPE venice_agent_queue_depth gauge\n"
        out += "venice_agent_queue_depth \(queued)\n"
        out += "# HELP venice_agent_signatures_total Signatures made with the wallet key.\n# TYPE venice_agent_signatures_total counter\n"
        out += "venice_agent_signatures_total \(signatures)\n"
        out += "# HELP venice_agent_unlocked 1 when the wallet key is unlocked.\n# TYPE venice_agent_unlocked gauge\n"
        out += "venice_agent_unlocked \(unlocked ? 1 : 0)\n"
        return out
    }
}
