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
/// - only to proxied requests that keep the key alive, confirmed under the key's own lock at
///   the hand-out (`KeySession.confirmSignedAhead`); the agent's own background calls and the dashboard's
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

    private struct Kept {
        let header: String
        let signedAt: ContinuousClock.Instant
        /// The key session's epoch read before signing.
        let epoch: Int
        let clock: SkewClock.Mark
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
    private let confirm: @Sendable (_ epoch: Int) -> Bool
    private let clock: @Sendable () -> SkewClock.Mark
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - sign: one fresh header.
    ///   - epoch: the key session's epoch, which moves on every lock and unlock.
    ///   - confirm: at hand-out, under the key session's lock: is the key still the one of this
    ///     epoch (then the hand-out counts as a use)?
    ///   - clock: the correction applied to `Issued At` (learnt from Venice's clock).
    init(lifetime: Duration = defaultLifetime, sign: @escaping @Sendable () throws -> String,
         epoch: @escaping @Sendable () -> Int, confirm: @escaping @Sendable (_ epoch: Int) -> Bool,
         clock: @escaping @Sendable () -> SkewClock.Mark, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lifetime = lifetime
        self.sign = sign
        self.epoch = epoch
        self.confirm = confirm
        self.clock = clock
        self.now = now
    }

    /// A reserve signing with `signer` for `session`, on `clock`. Its signatures are passive:
    /// only handing a header out counts as a use of the key.
    static func signingAhead(with signer: SiwxSigner, session: KeySession, clock: SkewClock) -> SignInReserve {
        SignInReserve(sign: { try KeySession.$passive.withValue(true) { try signer.makeHeaderValue() } },
                      epoch: { session.keyEpoch }, confirm: { session.confirmSignedAhead(epoch: $0) },
                      clock: { clock.mark })
    }

    /// The kept header if it is still good and its key still unlocked (confirmed under the key
    /// session's lock, so a lock cannot come between the check and the hand-out), removing it
    /// either way.
    func take() -> String? {
        guard let kept = state.withLock({ s in defer { s.kept = nil }; return s.kept }),
              isGood(kept), confirm(kept.epoch) else { return nil }
        state.withLock { $0.handedOut += 1 }
        return kept.header
    }

    private func isGood(_ kept: Kept) -> Bool {
        let clock = clock()
        return now() - kept.signedAt <= lifetime && kept.epoch == epoch() && kept.clock.corrections == clock.corrections
            && abs(kept.clock.offsetMilliseconds - clock.offsetMilliseconds) <= Self.offsetTolerance
    }

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
