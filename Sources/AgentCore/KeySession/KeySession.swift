import Foundation
public import WalletCrypto
public import X402Protocol
import Synchronization

/// The one owner of the unlocked wallet key. Locked → no signatures. The key lives in
/// `SecretBytes` (mlocked, zeroed on lock and release). Lifetimes use the monotonic clock.
///
/// The key never leaves the mutex: every signature and derivation runs while the lock is
/// held, so `lock()` (which zeroes the key under the same lock) can never wipe it under a
/// signer, and a signer that loses the race simply finds the session locked.
///
/// Unlocking derives the keystore key (scrypt, up to 256 MiB) on a thread of its own, never
/// on the cooperative pool, one unlock at a time; after a failure the next attempt, from
/// anyone, must wait a growing delay (ssh-agent's fail delay, enforced for the whole agent).
public final class KeySession: PersonalSigner, TypedDataSigner, Sendable {
    struct State {
        var key: PrivateKey?
        var lastUse: ContinuousClock.Instant
        var signatures: Int = 0
        /// Grows by one each time the key comes or goes (unlock, lock, idle lifetime): what a
        /// dashboard session remembers, so that it ends with the agent's next lock.
        var epoch: Int = 0
        var failedUnlocks: Int = 0
        var unlocking = false
        var nextUnlockAllowed: ContinuousClock.Instant
    }

    /// Why an unlock did not happen.
    public enum UnlockError: Error, Sendable, Equatable {
        /// Another unlock is deriving its key right now.
        case busy
        /// A recent failure imposes a wait before the next attempt.
        case tooSoon(retryAfter: Duration)
        /// The keystore did not open (wrong password, corrupted or mismatched keystore).
        case failed(WalletCryptoError)

        /// One line for a person, saying what to do.
        public var message: String {
            switch self {
            case .busy: "another unlock is in progress; wait for it to finish"
            case .tooSoon(let wait): "a wrong password was given recently; wait \(wait.components.seconds + 1) s before trying again"
            case .failed(let error): error.description
            }
        }
    }

    public let keystorePath: String
    public let address: EthereumAddress
    /// Idle time after which the key is dropped (nil = never).
    public let lifetime: Duration?
    private let keystoreJSON: [UInt8]
    private let state: Mutex<State>
    /// The monotonic clock of lifetimes and failure delays (injected by tests).
    private let now: @Sendable () -> ContinuousClock.Instant

    /// Delay before the next unlock attempt after `failures` failures in a row: 0.5 s each, at most 10 s.
    static func failureDelay(after failures: Int) -> Duration { .milliseconds(500 * min(max(failures, 0), 20)) }

    /// Reads the keystore (not the key): the address must be known even while locked.
    public init(keystorePath: String, lifetime: Duration?,
                clock now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) throws(WalletCryptoError) {
        let json = try SecureFile.read(keystorePath)
        guard let address = try Keystore.address(inKeystore: json) else {
            throw .invalidKeystore("\(keystorePath) has no \"address\" field; re-import it with `venice-agent key import`")
        }
        self.keystorePath = keystorePath
        self.keystoreJSON = json
        self.address = address
        self.lifetime = lifetime
        self.now = now
        self.state = Mutex(State(key: nil, lastUse: now(), nextUnlockAllowed: now()))
    }

    public var isUnlocked: Bool { state.withLock { $0.key != nil } }
    public var signatureCount: Int { state.withLock { $0.signatures } }
    /// Grows by one each time the key comes or goes.
    public var keyEpoch: Int { state.withLock { $0.epoch } }

    /// Decrypts the keystore with `password`, on a dedicated thread. Refused while another
    /// unlock runs (`busy`) or before the failure delay has passed (`tooSoon`).
    public func unlock(password: SecretBytes) async throws(UnlockError) {
        let now = self.now()
        let admission: UnlockError? = state.withLock { s in
            if s.unlocking { return .busy }
            if now < s.nextUnlockAllowed { return .tooSoon(retryAfter: s.nextUnlockAllowed - now) }
            s.unlocking = true
            return nil
        }
        if let admission { throw admission }
        let json = keystoreJSON
        let expected = address
        let outcome: Result<PrivateKey, WalletCryptoError> = await Self.onDedicatedThread {
            do throws(WalletCryptoError) {
                let key = try Keystore.decrypt(json, password: password)
                guard key.address == expected else {
                    key.zeroize()
                    return .failure(.invalidKeystore("the decrypted key does not match the keystore address"))
                }
                return .success(key)
            } catch {
                return .failure(error)
            }
        }
        let finished = self.now()
        state.withLock { s in
            s.unlocking = false
            switch outcome {
            case .success(let key):
                if s.key == nil { s.epoch += 1 }
                s.key?.zeroize()
                s.key = key
                s.lastUse = finished
                s.failedUnlocks = 0
            case .failure:
                s.failedUnlocks += 1
                s.nextUnlockAllowed = finished + Self.failureDelay(after: s.failedUnlocks)
            }
        }
        if case .failure(let error) = outcome { throw .failed(error) }
    }

    /// Runs CPU- and memory-heavy work (scrypt) on a thread of its own, so the cooperative pool
    /// keeps serving requests meanwhile.
    static func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "venice-agent-unlock"
            thread.start()
        }
    }

    /// Drops the key now, zeroing it.
    public func lock() {
        state.withLock { s in
            if s.key != nil { s.epoch += 1 }
            s.key?.zeroize()
            s.key = nil
        }
    }

    /// Locks when the key sat unused longer than `lifetime`. Returns true when it locked.
    @discardableResult
    public func lockIfIdle(now: ContinuousClock.Instant? = nil) -> Bool {
        guard let lifetime else { return false }
        let now = now ?? self.now()
        return state.withLock { s in
            guard s.key != nil, now - s.lastUse >= lifetime else { return false }
            s.epoch += 1
            s.key?.zeroize()
            s.key = nil
            return true
        }
    }

    /// Set while the agent reads on behalf of its dashboard: those signatures do not count as
    /// use of the key, so a dashboard left open never keeps an idle wallet unlocked.
    @TaskLocal static var passive = false

    /// Runs `body` (and every signature it makes) without keeping the key alive.
    public static func withoutKeepingAlive<T>(_ body: () async throws -> T) async rethrows -> T {
        try await $passive.withValue(true) { try await body() }
    }

    /// Before a header signed ahead under `epoch` is sent: true, and the key counts as used, only
    /// while the key is still the one it was signed with (no lock or unlock since), checked and
    /// counted under the same lock as a signature, so a lock cannot slip in between.
    func confirmSignedAhead(epoch: Int) -> Bool {
        let passive = Self.passive
        let now = self.now()
        return state.withLock { s in
            guard s.key != nil, s.epoch == epoch else { return false }
            if !passive { s.lastUse = now }
            return true
        }
    }

    /// Runs `body` with the key while holding the lock: the key cannot be zeroed meanwhile.
    private func withKey<R>(_ body: (PrivateKey) throws(X402Error) -> R) throws(X402Error) -> R {
        let passive = Self.passive
        let result: Result<R, X402Error> = state.withLock { s in
            guard let key = s.key else { return .failure(.signerLocked) }
            if !passive { s.lastUse = now() }
            s.signatures += 1
            do throws(X402Error) { return .success(try body(key)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A purpose-bound key derived from the wallet key (HMAC-SHA256 over `label`), e.g. to
    /// seal minted API keys at rest. Needs the agent unlocked.
    public func withDerivedKey(label: [UInt8]) throws -> SecretBytes {
        let result: Result<SecretBytes, any Error> = state.withLock { s in
            guard let key = s.key else { return .failure(X402Error.signerLocked) }
            return Result { try key.withUnsafeSecretBytes { secret in try SymmetricCipher.hmacSHA256(key: secret, data: label) } }
        }
        return try result.get()
    }

    public func signPersonalMessage(_ message: [UInt8]) throws(X402Error) -> Signature {
        try withKey { key in key.signPersonalMessage(message) }
    }

    public func signTypedDataDigest(_ digest: [UInt8]) throws(X402Error) -> Signature {
        try withKey { key throws(X402Error) in
            do throws(WalletCryptoError) { return try key.sign(digest: digest) } catch { throw .crypto(error) }
        }
    }
}
