#if canImport(Glibc)
import Glibc
#endif
public import WalletCrypto

/// Everything `venice-agent serve` is told. Flags fill it in; tests build it directly.
public struct AgentConfiguration: Sendable {
    public static let defaultUpstream = "https://api.venice.ai/api/v1"
    public static let version = "0.1.0"

    public var keystorePath: String
    public var socketPath: String
    /// Venice base URL including `/api/v1`.
    public var upstream: String
    public var stateDirectory: String?
    /// Idle time after which the key is dropped.
    public var lifetime: Duration?
    /// The uid owning the agent; its processes are always admitted.
    public var ownerUID: UInt32
    /// Further uids admitted (from the config file).
    public var allowedUIDs: Set<UInt32>
    public var maxInFlight: Int
    public var maxQueued: Int
    public var maxRequestBodyBytes: Int
    /// Bodies up to this size are kept whole so the request can be retried.
    public var replayableBodyBytes: Int
    /// Bytes of request bodies held whole at once across all requests (each counted twice: the
    /// bytes and their parsed copy); beyond, 503 `AGENT_BUSY`. Four of the largest body by default.
    public var wholeBodyMemoryBytes: Int = 4 * 2 * (64 << 20)
    public var signInTTLSeconds: Int64
    /// Sign the next proxied request's header while the current answer is relayed
    /// (`SignInReserve`); off, every header is signed inline (the benchmark compares both).
    public var signAhead = true
    public var retry: RetryConfiguration
    public var shutdownGraceSeconds: Int
    /// Largest single top-up and total per UTC day, in USDC micro-units ($10 and $50 by default).
    public var topUpCapMicro: Int64
    public var dailyTopUpCapMicro: Int64
    /// Top up once (within the caps) and retry once when Venice answers 402 insufficient balance.
    public var autoTopUp: Bool
    public var autoTopUpMicro: Int64
    /// How often minted keys are checked for renewal (renewed with < 10 % of their lifetime left).
    public var apiKeyRenewalCheck: Duration = .seconds(30)
    /// Renew when less than this fraction of a key's lifetime is left.
    public var apiKeyRenewFraction: Double = 0.1
    /// A charge no request explains is flagged once it is this old (Venice may debit late).
    public var unexplainedChargeGraceSeconds: Int64 = 60
    /// Policy of the owner's programs that present no client token and match no binding.
    public var defaultPolicy: ClientPolicy
    /// Whether those programs may manage the agent (`[default] admin`; true unless turned off).
    public var defaultPolicyAdministers: Bool = true
    /// Policy of each other allowed uid's untokened programs (`[other_uids]`), accounted per
    /// uid; nil = the default policy's routes and limits. Never administers.
    public var otherUIDsPolicy: ClientPolicy?
    /// Open connections per peer uid, and the connection timeouts.
    public var connectionLimits = ConnectionRegistry.Limits()
    public var headerTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    public var bodyTimeout: Duration = .seconds(30)
    /// Policies bound to an executable path or a systemd unit.
    public var bindings: [ClientBinding]
    /// The loopback TCP listener for OpenAI-compatible apps (token clients only); nil = none.
    public var listen: LoopbackAddress?
    /// Sockets passed by systemd (socket activation): served instead of binding `socketPath` / `listen`.
    public var activation: SocketActivation?
    /// Unix milliseconds now, for token expiry (tests move it).
    public var wallClock: @Sendable () -> Int64 = { AgentLedger.nowMilliseconds() }

    public struct RetryConfiguration: Sendable {
        public var maxAttempts = 4
        public var baseDelaySeconds = 0.5
        public var maxDelaySeconds = 30.0
        public init() {}
    }

    public init(keystorePath: String, socketPath: String, upstream: String = AgentConfiguration.defaultUpstream) {
        self.keystorePath = keystorePath
        self.socketPath = socketPath
        self.upstream = upstream
        self.stateDirectory = nil
        self.lifetime = nil
        self.ownerUID = UInt32(getuid())
        self.allowedUIDs = []
        self.maxInFlight = 5
        self.maxQueued = 256
        self.maxRequestBodyBytes = 64 << 20
        self.replayableBodyBytes = 1 << 20
        self.signInTTLSeconds = 240
        self.retry = RetryConfiguration()
        self.shutdownGraceSeconds = 30
        self.topUpCapMicro = 10_000_000
        self.dailyTopUpCapMicro = 50_000_000
        self.autoTopUp = false
        self.autoTopUpMicro = 10_000_000
        self.defaultPolicy = .allowAll
        self.bindings = []
    }

    /// The policy of another allowed uid's programs, named and accounted for that uid.
    public func otherUIDPolicy(_ uid: UInt32) -> ClientPolicy {
        let template = otherUIDsPolicy ?? defaultPolicy
        return ClientPolicy(name: "uid-\(uid)", routes: template.routes, maxRequestMicro: template.maxRequestMicro,
                            dailyMicro: template.dailyMicro, source: .otherUID(uid))
    }

    /// `$XDG_STATE_HOME/venice-agent`, else `~/.local/state/venice-agent`.
    public static func defaultStateDirectory(environment: [String: String]) -> String {
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/venice-agent" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/venice-agent"
    }

    /// `$XDG_RUNTIME_DIR/venice-agent/agent.sock`, else `~/.venice-agent/agent.sock`.
    public static func defaultSocketPath(environment: [String: String]) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/venice-agent/agent.sock"
        }
        return (environment["HOME"] ?? "/tmp") + "/.venice-agent/agent.sock"
    }

    /// True when the upstream is Venice's real API (where public test keys are refused).
    public var upstreamIsRealVenice: Bool {
        upstream.lowercased().hasPrefix("https://api.venice.ai")
    }

    /// Keys whose private halves are public knowledge (docs, test vectors, Anvil/Hardhat #0, the demo key).
    public static let publiclyKnownAddresses: Set<String> = [
        "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",  // scalar 1
        "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23",  // eth-account docs
        "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826",  // keccak("cow")
        "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",  // Anvil/Hardhat #0
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",  // Anvil/Hardhat #1
    ]

    public static func isPubliclyKnown(_ address: EthereumAddress) -> Bool {
        publiclyKnownAddresses.contains(address.lowercasedHex)
    }
}

/// Parses durations like `8h`, `30m`, `90s`, `1h30m`, `2d`, up to ten years; anything else
/// (or longer) is nil.
public enum DurationParser {
    static let maxSeconds: Int64 = 10 * 365 * 86_400

    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64?
        for c in text {
            if let d = c.wholeNumberValue, c.isASCII {
                number = (number ?? 0) * 10 + Int64(d)
                guard number ?? 0 < 1_000_000_000 else { return nil }
                continue
            }
            guard let n = number else { return nil }
            let unit: Int64
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            total += n * unit  // n < 1e9 and unit ≤ 86400: fits, and total stays ≤ maxSeconds below
            guard total <= maxSeconds else { return nil }
            number = nil
        }
        if let n = number { total += n }
        return total > 0 && total <= maxSeconds ? .seconds(total) : nil
    }
}
