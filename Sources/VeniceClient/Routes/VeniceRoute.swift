/// How the agent treats one Venice route: which credential it needs and which policy
/// group it belongs to. `RouteTable.resolve` is the allow-list: anything it does not
/// know is refused.
public struct VeniceRoute: Sendable, Hashable {
    public enum Auth: Sendable, Hashable {
        /// A fresh SIGN-IN-WITH-X header per attempt (wallet-capable routes).
        case signIn
        /// The agent's minted Bearer key (Venice serves these routes to API keys only).
        case bearer
        /// No credential (public routes).
        case none
    }

    public enum Group: String, Sendable, Hashable, CaseIterable {
        case image, audio, video, text, billing, wallet, models
    }

    public let method: String
    /// Path relative to the API base (e.g. `/image/generate`), with `me` already substituted.
    public let path: String
    /// Template used for metrics and logs (never the raw path).
    public let template: String
    public let auth: Auth
    public let group: Group
    /// True when Venice may charge the wallet for a call (inference, queued jobs); false for
    /// reads such as balances, job status and downloads of finished jobs.
    public let isCharged: Bool

    /// A route the agent calls on its own behalf (top-up, key minting, balance checks).
    public init(method: String, path: String, template: String? = nil, auth: Auth, group: Group, isCharged: Bool = false) {
        self.method = method
        self.path = path
        self.template = template ?? path
        self.auth = auth
        self.group = group
        self.isCharged = isCharged
    }

    /// Only idempotent, charge-free requests may be retried after the server answered 5xx.
    public var retriesServerErrors: Bool { method == "GET" || method == "HEAD" }
}

public enum RouteResolution: Sendable, Hashable {
    case allowed(VeniceRoute)
    /// The agent owns this route (top-ups, key minting): clients may not call it directly.
    case ownedByAgent(template: String)
    case unknown
}

public enum RouteTable {
    struct Entry {
        let methods: Set<String>
        let path: String
        let auth: VeniceRoute.Auth
        let group: VeniceRoute.Group
        var charged = false
    }

    static let entries: [Entry] = [
        // Wallet-capable inference (SIWX).
        Entry(methods: ["POST"], path: "/image/generate", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/images/generations", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/edit", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/multi-edit", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/upscale", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/background-remove", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/audio/speech", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/transcriptions", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["GET"], path: "/audio/voices", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/queue", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/retrieve", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/complete", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/queue", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/voice-changer/retrieve", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/complete", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/video/queue", auth: .signIn, group: .video, charged: true),
        Entry(methods: ["POST"], path: "/video/retrieve", auth: .signIn, group: .video),
        Entry(methods: ["POST"], path: "/video/complete", auth: .signIn, group: .video),
        Entry(methods: ["POST"], path: "/chat/completions", auth: .signIn, group: .text, charged: true),
        Entry(methods: ["POST"], path: "/responses", auth: .signIn, group: .text, charged: true),
        Entry(methods: ["POST"], path: "/embeddings", auth: .signIn, group: .text, charged: true),
        // Wallet credit, `me` = the agent's wallet (SIWX, signer must equal the path wallet).
        Entry(methods: ["GET"], path: "/x402/balance/me", auth: .signIn, group: .wallet),
        Entry(methods: ["GET"], path: "/x402/transactions/me", auth: .signIn, group: .wallet),
        // Bearer-only (the minted key).
        Entry(methods: ["GET"], path: "/billing/balance", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/billing/usage-history", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/billing/usage-analytics", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/api_keys/rate_limits", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/api_keys/rate_limits/log", auth: .bearer, group: .billing),
        // Public.
        Entry(methods: ["GET"], path: "/models", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/models/traits", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/models/compatibility_mapping", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/image/styles", auth: .none, group: .image),
        Entry(methods: ["POST"], path: "/audio/quote", auth: .none, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/quote", auth: .none, group: .audio),
        Entry(methods: ["POST"], path: "/video/quote", auth: .none, group: .video),
    ]

    /// Routes the agent owns: a client calling them gets `AGENT_ROUTE_OWNED`.
    public static let agentOwned = ["/x402/top-up", "/api_keys/generate_web3_key"]

    /// Every allowed (method, path template) pair, for a router to register.
    public static var templates: [(method: String, template: String)] {
        entries.flatMap { entry in entry.methods.sorted().map { (method: $0, template: entry.path) } }
    }

    /// The route for an allowed (method, template); `me` in a wallet path becomes `walletAddress`.
    public static func route(method: String, template: String, walletAddress: String) -> VeniceRoute? {
        guard let entry = entries.first(where: { $0.path == template && $0.methods.contains(method) }) else { return nil }
        let upstreamPath = entry.group == .wallet ? String(entry.path.dropLast(2)) + walletAddress : entry.path
        return VeniceRoute(method: method, path: upstreamPath, template: entry.path, auth: entry.auth, group: entry.group, isCharged: entry.charged)
    }

    /// Resolves a client path (relative to `/api/v1`, no query) for `method`. `walletAddress`
    /// replaces `me` in the wallet routes.
    public static func resolve(method: String, path rawPath: String, walletAddress: String) -> RouteResolution {
        var path = rawPath
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if agentOwned.contains(path) { return .ownedByAgent(template: path) }
        guard let entry = entries.first(where: { $0.path == path && $0.methods.contains(method) }) else {
            return .unknown
        }
        var upstreamPath = entry.path
        if entry.group == .wallet {
            upstreamPath = String(entry.path.dropLast(2)) + walletAddress
        }
        return .allowed(VeniceRoute(method: method, path: upstreamPath, template: entry.path, auth: entry.auth, group: entry.group,
                                    isCharged: entry.charged))
    }
}
