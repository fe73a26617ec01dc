/// The hits of one sliding window (a rate limit, the error budget, a per-minute count), oldest
/// first. Counting drops expired hits from the front, so a request costs amortized O(1) however
/// many hits the window holds. Filtering every hit on every request made the simulator slower
/// for each busy wallet the longer it ran: a minute of a benchmark's requests from the agent's
/// one wallet is tens of thousands of hits, and `make bench` measured that as the agent's cost.
struct HitWindow: Sendable {
    private var hits: [Int64] = []
    /// `hits[..<start]` have expired; they are cut off in bulk.
    private var start = 0

    var isEmpty: Bool { start == hits.count }

    /// Adds a hit at `time`, in order (a wall clock may step back, so this is not always the end).
    mutating func add(_ time: Int64) {
        var index = hits.count
        while index > start, hits[index - 1] > time { index -= 1 }
        hits.insert(time, at: index)
    }

    /// Forgets the hits at or before `cutoff`; the number left and the oldest of them.
    mutating func prune(keepingAfter cutoff: Int64) -> (count: Int, oldest: Int64?) {
        while start < hits.count, hits[start] <= cutoff { start += 1 }
        if start == hits.count {
            hits.removeAll(keepingCapacity: hits.count < 4096)
            start = 0
        } else if start >= 1024, start * 2 >= hits.count {
            hits.removeFirst(start)
            start = 0
        }
        return (hits.count - start, start < hits.count ? hits[start] : nil)
    }
}
