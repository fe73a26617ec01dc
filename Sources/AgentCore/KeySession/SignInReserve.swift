import Synchronization
import X402Protocol

/// The next proxied request's sign-in header, signed ahead of time.
///
/// A secp256k1 signature (40–70 µs on a small machine) is most of the agent's own time on a
/// proxied request. So when a proxied request's upstream call has answered, the agent signs the
/// next header on a background task while it relays that answer, and the next proxied request
/// finds it ready. A kept header is as single-use and nearly as fresh as one signed inline:
/// - it is handed out once (taking it removes it);
/// - only within `lifetime` (5 s) of its signing: `Issued At` is at most that old, where Venice
///   accepts up to 5 minutes;
/// - only under the key epoch and the clock it was signed with, both read before signing: after a
///   lock (or a lock and an unlock), a correction after a clock error from Venice, or a drift of
///   the offset learnt from `Date` headers beyond `Date`'s 1 s resolution, it is never handed out
///   (it is dropped at the next take; a kept header is not erased from memory at a lock);
/// - only to proxied requests that keep the key alive, confirmed under the key's own lock
///   (`KeySession.confirmSignedAhead`); the agent's own background calls and the dashboard's
///   passive reads sign inline and leave it alone.
/// Signing ahead is passive: it never keeps an idle key unlocked; handing the header out counts
/// as a use. At most one refill runs at a time; after a pause longer than `lifetime` the kept
/// header is wasted, one signature that never leaves the agent (`venice_agent_signatures_total`
/// counts it).
final class SignInReserve: Sendable {
    /// Set around a proxied request's upstream call: its sign-ins may take the kept header. A
    /// task started inside that call inherits it, so the agent's own calls must not start there.
    @TaskLocal static var eligible = false

    static let defaultLifetime: Duration = .seconds(5)
    /// How far the learnt clock offset may drift under a kept header (`Date` has 1 s resolution,
    /// so the median of its samples wanders by up to that from response to response).
    static let offsetTolerance: Int64 = 1_000

    /// The clock a header was signed with.
    struct ClockMark: Sendable {
        var offsetMilliseconds: Int64
        /// Corrections made after clock errors from Venice; any new one voids a kept header.
        var corrections: Int

        func stillGood(now: ClockMark) -> Bool {
            corrections == now.corrections && abs(offsetMilliseconds - now.offsetMilliseconds) <= SignInReserve.offsetTolerance
        }
    }

    struct Kept: Sendable {
        let header: String
        let signedAt: ContinuousClock.Instant
        /// The key session's epoch read before signing.
        let epoch: Int
        let clock: ClockMark
    }

    private struct State {
        var kept: Kept?
        var refilling = false
        var handedOut = 0
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    private let sign: @Sendable () throws -> String
    private let epoch: @Sendable () -> Int
    private let clock: @Sendable () -> ClockMark
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - sign: one fresh header.
    ///   - epoch: the key session's epoch, which moves on every lock and unlock.
    ///   - clock: the correction applied to `Issued At` (learnt from Venice's clock).
    init(lifetime: Duration = defaultLifetime, sign: @escaping @Sendable () throws -> String,
         epoch: @escaping @Sendable () -> Int, clock: @escaping @Sendable () -> ClockMark,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lifetime = lifetime
        self.sign = sign
        self.epoch = epoch
        self.clock = clock
        self.now = now
    }

    /// A reserve signing with `signer` for `session`, on `clock`. Its signatures are passive:
    /// only handing a header out counts as a use of the key.
    static func signingAhead(with signer: SiwxSigner, session: KeySession, clock: SkewClock) -> SignInReserve {
        SignInReserve(sign: { try KeySession.$passive.withValue(true) { try signer.makeHeaderValue() } },
                      epoch: { session.keyEpoch },
                      clock: {
                          let mark = clock.mark
                          return ClockMark(offsetMilliseconds: mark.offsetMilliseconds, corrections: mark.corrections)
                      })
    }

    /// The kept header if it is still good, removing it either way. The caller confirms its
    /// epoch with the key session before sending it.
    func take() -> Kept? {
        guard let kept = state.withLock({ s in defer { s.kept = nil }; return s.kept }), isGood(kept) else { return nil }
        return kept
    }

    private func isGood(_ kept: Kept) -> Bool {
        now() - kept.signedAt <= lifetime && kept.epoch == epoch() && kept.clock.stillGood(now: clock())
    }

    /// Counts a kept header that was sent.
    func noteHandedOut() { state.withLock { $0.handedOut += 1 } }

    /// Kept headers handed out so far, one per sign-in attempt (`venice_agent_signins_signed_ahead_total`).
    var handedOut: Int { state.withLock { $0.handedOut } }

    /// Signs the next header in the background unless a good one is kept or one is being signed
    /// (a kept header that went stale, say at a lock, is dropped and replaced). Returns the
    /// refill's task (tests wait on it), nil when none was started.
    @discardableResult
    func refill() -> Task<Void, Never>? {
        // Judged outside the lock (it reads the key session's and the clock's own locks); if the
        // kept header changed meanwhile, someone else took or refilled it and this refill yields.
        let kept = state.withLock { $0.kept }
        let needed = kept.map { !isGood($0) } ?? true
        let start = state.withLock { s in
            guard needed, !s.refilling, s.kept?.header == kept?.header else { return false }
            s.kept = nil
            s.refilling = true
            return true
        }
        guard start else { return nil }
        // Detached: the refill inherits no task-local (a passive read, an eligible request).
        return Task.detached(priority: .utility) { [self] in
            // Read before signing: a lock, an unlock or a correction during the signature leaves
            // the header marked with what it may no longer match.
            let epoch = epoch()
            let mark = clock()
            let signedAt = now()
            let header = try? sign()
            state.withLock { s in
                s.refilling = false
                if let header { s.kept = Kept(header: header, signedAt: signedAt, epoch: epoch, clock: mark) }
            }
        }
    }
}
