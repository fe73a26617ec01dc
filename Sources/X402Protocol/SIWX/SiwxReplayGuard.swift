import Synchronization
import WalletCrypto

/// Check 16 (`X402_SIGN_IN_NONCE_REUSED`): remembers (wallet, nonce) pairs for 5.5 minutes.
/// Memory is bounded by `capacity`; when it is full of live entries new sign-ins are refused
/// (fail closed) rather than forgetting a nonce that could then be replayed.
public final class SiwxReplayGuard: Sendable {
    private let seen: Mutex<ExpiringSet<String>>

    public init(windowMilliseconds: Int64 = 330_000, capacity: Int = 1_000_000) {
        seen = Mutex(ExpiringSet(window: windowMilliseconds, capacity: capacity))
    }

    /// Records the proof's nonce for its wallet, or throws `.signIn(.nonceReused, …)`.
    /// `nowMilliseconds` must come from one monotonic-enough clock for all calls.
    public func consume(_ signIn: VerifiedSignIn, nowMilliseconds now: Int64) throws(X402Error) {
        try consume(wallet: signIn.address.lowercasedHex, nonce: signIn.nonce, nowMilliseconds: now)
    }

    /// Same, by wallet key (EVM: lower-case hex) and nonce.
    public func consume(wallet: String, nonce: String, nowMilliseconds now: Int64) throws(X402Error) {
        let key = wallet.lowercased() + "/" + nonce
        let outcome: Int = seen.withLock { set in
            set.evictExpired(now: now)
            if set.contains(key) { return 1 }
            if set.isFull { return 2 }
            set.insert(key, now: now)
            return 0
        }
        switch outcome {
        case 1: throw .signIn(.nonceReused, detail: "nonce \(nonce) was already used by \(wallet) in the last 5.5 minutes")
        case 2: throw .signIn(.nonceReused, detail: "replay memory is full; refusing until entries expire")
        default: return
        }
    }

    public var count: Int { seen.withLock { $0.count } }
}
