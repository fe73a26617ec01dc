/// When the charge reconciler may next read the wallet's transactions. Venice lists a
/// wallet's transactions 20 times a minute at most (VENICE.md: rate limits of the x402 routes),
/// so the agent keeps to half of that: never two polls closer than `minimumInterval` (6 s by
/// default, 10 a minute), and while polls find nothing new the interval doubles up to
/// `maximumInterval`. The first poll after a quiet spell waits `settle` (Venice debits a
/// moment after it answers). Pure: the caller supplies the time.
struct ReconcilePacer: Sendable {
    var minimumInterval: Duration = .seconds(6)
    var maximumInterval: Duration = .seconds(60)
    var settle: Duration = .seconds(2)
    private(set) var interval: Duration = .seconds(6)
    private(set) var lastPoll: ContinuousClock.Instant?

    /// How long to wait, from `now`, before the next poll.
    func delayBeforePoll(now: ContinuousClock.Instant) -> Duration {
        guard let lastPoll else { return settle }
        return max(settle, lastPoll + interval - now)
    }

    mutating func polled(at time: ContinuousClock.Instant, foundNew: Bool) {
        lastPoll = time
        interval = foundNew ? minimumInterval : min(interval * 2, maximumInterval)
    }
}
