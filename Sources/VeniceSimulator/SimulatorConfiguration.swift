public import X402Protocol
import WalletCrypto

/// Everything a simulator starts with. Knobs that tests flip while it runs live in `SimulatorState`.
public struct SimulatorConfiguration: Sendable {
    /// The simulator's Base receiver (`payTo`): a fixed, documented address nobody holds a key for
    /// (`0x5ed1a07e…` = "sed1 a07e", EIP-55 checksummed at first use).
    public static let basePayTo: String = (try? EthereumAddress("0x5ed1a07e5ed1a07e5ed1a07e5ed1a07e5ed1a07e"))?.checksummed
        ?? "0x5ed1a07e5ed1a07e5ed1a07e5ed1a07e5ed1a07e"
    /// Solana rail values, advertised only (the simulator settles Base payments only).
    public static let solanaPayTo = "VeniceSimPayTo1111111111111111111111111111"
    public static let solanaFeePayer = "VeniceSimFeePayer11111111111111111111111111"
    /// Native USDC on Base, as Venice advertises it (lowercase).
    public static let baseUSDC = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
    public static let solanaUSDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

    public var host: String = "127.0.0.1"
    public var port: Int = 0
    /// Origin used in `resource.url` and SIWX challenges (not the listening address).
    public var publicOrigin: String = "https://api.venice.ai"
    /// Initial wallet credit, USD by lowercase or checksummed address.
    public var funds: [String: Double] = [:]
    /// Wallets allowed to mint keys through `generate_web3_key` (staked VVV).
    public var stakedWallets: [String] = []
    /// Pre-provisioned Bearer keys on the default account.
    public var adminKeys: [String] = []
    public var inferenceKeys: [String] = []
    /// USD balance of the default account that pre-provisioned keys spend.
    public var accountUSD: Double = 100
    /// DIEM (in USD) of the Venice account linked to a wallet, by lowercase or checksummed address. Two balances
    /// (veniceai/api-docs guides/integrations/x402-venice-api.mdx, "DIEM First": a wallet linked to a Venice account
    /// with DIEM spends it first; generating-api-key-agent.mdx, "Paying for inference": the x402 USDC balance is
    /// wallet-bound and never spent by the minted Bearer key, which spends DIEM, then USD). Keys minted by the wallet
    /// spend this account; the wallet's signed-in requests spend its DIEM before their x402 credit.
    public var diemUSD: [String: Double] = [:]
    /// Fault knobs at start (latency, fail rates, resets, clock offset, …).
    public var faults: FaultKnobs = FaultKnobs()
    /// In-flight requests per wallet (Venice: 5).
    public var concurrencyLimit: Int = 5
    /// How queued audio jobs take before they complete, in milliseconds.
    public var audioProcessingMilliseconds: Int64 = 1_500
    /// Wall clock for SIWE times, ledgers, tokens; tests pass a `ManualWallClock`.
    public var clock: any WallClock = SystemWallClock()
    /// The MP3 encoder `/audio/speech` runs for `response_format: "mp3"`: a name looked up on `PATH`
    /// or a path (Debian package `lame`). Missing at runtime → that request gets a 500 naming it.
    public var mp3Encoder: String = "lame"
    /// How long one MP3 encode may run before the encoder is killed (that request: 500).
    public var mp3EncoderTimeout: Duration = .seconds(10)
    /// Logs one line per request when true.
    public var logRequests: Bool = true
    /// Test knob (no Venice behaviour): a pause between the events of a streamed chat answer, in milliseconds
    /// (0: none), so a stream takes time to produce — for time-to-first-byte figures (`venice-bench`).
    public var streamEventDelayMilliseconds: Int = 0
    /// Test knob (no Venice behaviour): awaited before a streamed chat answer's last event (the `finish_reason`
    /// chunk with `usage`, then `[DONE]`) is written, so a test can hold the stream open and check what a client
    /// already received — ordering, never timing.
    public var beforeLastStreamEvent: (@Sendable () async -> Void)? = nil

    public init() {}
}

/// Faults a test or a flag can switch on. All rates are 0…1.
public struct FaultKnobs: Sendable, Equatable {
    public var latencyMilliseconds: Int = 0
    /// Status → share of requests answered with it (429 gets `Retry-After: 30`; 500, 502, 503 their bodies).
    public var failRates: [Int: Double] = [:]
    /// `Retry-After` seconds sent with injected 429s (random or scripted).
    public var retryAfterSeconds: Int = 30
    /// Deterministic faults: the next inference requests (Bearer or SIWX, after sign-in, the concurrency slot and
    /// admission, so a SIWX nonce is already burnt, as on Venice) are answered with these statuses, one per request,
    /// in order. Only inference routes consume them (`/image/*`, `/images/generations`, `/audio/speech|transcriptions|queue|retrieve|complete`);
    /// `/models`, `/audio/quote`, top-up, balance, billing and key routes never do. 429 carries `Retry-After`.
    public var scriptedStatuses: [Int] = []
    /// Share of responses cut after the headers and part of the body.
    public var resetRate: Double = 0
    /// Seconds added to the server's clock (SIWE checks and the `Date` header).
    public var clockOffsetSeconds: Int64 = 0
    /// Image requests come back blacked out with `x-venice-is-content-violation: true` (not charged).
    public var contentViolation: Bool = false
    /// Queued audio jobs fail on retrieve and are refunded.
    public var audioJobFailure: Bool = false
    /// Top-up settlement outcome.
    public var settlement: SettlementMode = .succeed
    /// Hold each settlement this long before it completes (a second submission meanwhile → 409).
    public var settlementHoldMilliseconds: Int = 0
    /// With `.timeout`: the credit lands this long after the 504.
    public var settlementTimeoutCreditDelayMilliseconds: Int = 200

    /// The next N `POST /api_keys/generate_web3_key` attempts that reach signature verification are refused with
    /// 400 "Could not verify wallet signature" (Venice's RPC call failed; transient — veniceai/api-docs
    /// guides/integrations/generating-api-key-agent.mdx, "Error reference"). Counts down as it is used.
    public var web3VerifyFailures: Int = 0
    /// The next N tokens handed out by `GET /api_keys/generate_web3_key` are already past their 15 minutes
    /// (as if the caller sat on them): their mint is refused with "JWT has expired". Counts down as it is used.
    public var web3ExpiredTokens: Int = 0
    /// Which `X-402-Payment` layout `/x402/top-up` refuses with 400 `INVALID_PAYMENT`.
    ///
    /// Assumption: Venice documents building the header without an `accepted` field (veniceai/api-docs
    /// guides/integrations/x402-venice-api.mdx, "Building the X-402-Payment header for Base"); how it treats a
    /// payload that carries `accepted` (x402 v2's layout) is undocumented. This knob lets tests play either answer.
    public var topUpRejectedLayout: TopUpLayoutRejection = .none

    public enum SettlementMode: String, Sendable, Equatable {
        case succeed, fail, timeout, notConfigured
    }

    public enum TopUpLayoutRejection: String, Sendable, Equatable, CaseIterable {
        case none
        /// Payloads with an `accepted` object are refused.
        case withAccepted
        /// Payloads without `accepted` (top-level `scheme`/`network`, the guide's layout) are refused.
        case withoutAccepted
        /// Both layouts are refused.
        case both
    }

    public init() {}
}
