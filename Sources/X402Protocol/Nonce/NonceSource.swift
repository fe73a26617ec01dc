public import WalletCrypto
import Synchronization

/// SIWE nonces: 16 lowercase hex characters (64 bits) from OpenSSL's CSPRNG. Each nonce it hands
/// out is remembered for 5.5 minutes (Venice's replay window) and never handed out again within
/// it. Memory is bounded: expired entries are evicted on every call, and past `capacity` live
/// entries the oldest is forgotten (a 64-bit collision inside that window is ~2^-40 even then).
public final class NonceSource: Sendable {
    public static let defaultWindowMilliseconds: Int64 = 330_000

    private let clock: any WallClock
    private let random: @Sendable (Int) -> [UInt8]
    private let issued: Mutex<ExpiringSet<UInt64>>

    public init(
        clock: any WallClock = MonotonicClock(),
        windowMilliseconds: Int64 = NonceSource.defaultWindowMilliseconds,
        capacity: Int = 1 << 20,
        random: @escaping @Sendable (Int) -> [UInt8] = { SecureRandom.bytes(count: $0) }
    ) {
        self.clock = clock
        self.random = random
        self.issued = Mutex(ExpiringSet(window: windowMilliseconds, capacity: capacity))
    }

    /// A fresh nonce, distinct from every nonce issued in the last window.
    public func next() -> String {
        let now = clock.nowMilliseconds()
        var value: UInt64 = 0
        var attempts = 0
        while true {
            value = 0
            for b in random(8).prefix(8) { value = value << 8 | UInt64(b) }
            attempts += 1
            // A broken generator repeating itself must not spin forever: mix in the attempt count.
            if attempts > 64 { value ^= UInt64(attempts) &* 0x9E37_79B9_7F4A_7C15 }
            let fresh = issued.withLock { set -> Bool in
                set.evictExpired(now: now)
                if set.contains(value) { return false }
                if set.isFull { set.evictOldest() }
                return set.insert(value, now: now)
            }
            if fresh { break }
        }
        return Self.hex16(value)
    }

    /// How many nonces are remembered right now.
    public var rememberedCount: Int {
        let now = clock.nowMilliseconds()
        return issued.withLock { set in
            set.evictExpired(now: now)
            return set.count
        }
    }

    static func hex16(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buf in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { d in
                for i in 0..<16 {
                    buf[i] = d[Int(value >> UInt64(60 - 4 * i) & 0xf)]
                }
            }
            return 16
        }
    }
}
