public import WalletCrypto
public import X402Protocol
import Synchronization

/// The one owner of the unlocked wallet key. Locked → no signatures. The key lives in
/// `SecretBytes` (mlocked, zeroed on lock and release). Lifetimes use the monotonic clock.
public final class KeySession: PersonalSigner, TypedDataSigner, Sendable {
    struct State {
        var key: PrivateKey?
        var lastUse: ContinuousClock.Instant
        var signatures: Int = 0
        var failedUnlocks: Int = 0
    }

    public let keystorePath: String
    public let address: EthereumAddress
    /// Idle time after which the key is dropped (nil = never).
    public let lifetime: Duration?
    private let keystoreJSON: [UInt8]
    private let state: Mutex<State>

    /// Reads the keystore (not the key): the address must be known even while locked.
    public init(keystorePath: String, lifetime: Duration?) throws(WalletCryptoError) {
        let json = try SecureFile.read(keystorePath)
        guard let address = try Keystore.address(inKeystore: json) else {
            throw .invalidKeystore("\(keystorePath) has no \"address\" field; re-import it with `venice-agent key import`")
        }
        self.keystorePath = keystorePath
        self.keystoreJSON = json
        self.address = address
        self.lifetime = lifetime
        self.state = Mutex(State(key: nil, lastUse: .now))
    }

    public var isUnlocked: Bool { state.withLock { $0.key != nil } }
    public var signatureCount: Int { state.withLock { $0.signatures } }

    /// Decrypts the keystore with `password`. Each failure adds a growing delay (as ssh-agent does).
    public func unlock(password: SecretBytes) async throws(WalletCryptoError) {
        let delay = state.withLock { min($0.failedUnlocks, 10) }
        if delay > 0 { try? await Task.sleep(for: .milliseconds(250 * delay)) }
        do throws(WalletCryptoError) {
            let key = try Keystore.decrypt(keystoreJSON, password: password)
            guard key.address == address else {
                key.zeroize()
                throw WalletCryptoError.invalidKeystore("the decrypted key does not match the keystore address")
            }
            state.withLock { s in
                s.key?.zeroize()
                s.key = key
                s.lastUse = .now
                s.failedUnlocks = 0
            }
        } catch {
            state.withLock { $0.failedUnlocks += 1 }
            throw error
        }
    }

    /// Drops the key now, zeroing it.
    public func lock() {
        state.withLock { s in
            s.key?.zeroize()
            s.key = nil
        }
    }

    /// Locks when the key sat unused longer than `lifetime`. Returns true when it locked.
    @discardableResult
    public func lockIfIdle(now: ContinuousClock.Instant = .now) -> Bool {
        guard let lifetime else { return false }
        return state.withLock { s in
            guard s.key != nil, now - s.lastUse >= lifetime else { return false }
            s.key?.zeroize()
            s.key = nil
            return true
        }
    }

    private func withKey<R>(_ body: (PrivateKey) throws(X402Error) -> R) throws(X402Error) -> R {
        let key: PrivateKey? = state.withLock { s in
            if s.key != nil {
                s.lastUse = .now
                s.signatures += 1
            }
            return s.key
        }
        guard let key else { throw .signerUnavailable("the agent is locked; unlock it with `venice-agent unlock`") }
        return try body(key)
    }

    /// A purpose-bound key derived from the wallet key (HMAC-SHA256 over `label`), e.g. to
    /// seal minted API keys at rest. Needs the agent unlocked.
    public func withDerivedKey(label: [UInt8]) throws -> SecretBytes {
        let key: PrivateKey? = state.withLock { $0.key }
        guard let key else { throw X402Error.signerUnavailable("the agent is locked; unlock it with `venice-agent unlock`") }
        return try key.withUnsafeSecretBytes { secret in try SymmetricCipher.hmacSHA256(key: secret, data: label) }
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
