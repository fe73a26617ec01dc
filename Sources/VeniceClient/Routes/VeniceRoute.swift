/// How the agent treats one Venice route: which credential it needs and which policy
/// group it belongs to. `RouteTable.resolve` is the allow-list: anything it does not
/// know is refused.
public struct VeniceRoute: Sendable, Hashable {
    public enum Auth: Sendable, Hashable {
        /// A fresh SIGN-IN-WITH-X header per attempt (wallet-capable routes).
        case signIn
        /// The agent's minted Bearer key (Venice serves these routes to API keys only).
        case bearer
        /// The minted Bearer key when one exists, else no credential (quotes Venice serves to
        /// anyone but answers fully only for an API key, e.g. `/video/quote` for upscale models).
        case bearerIfAvailable
        /// No credential (public routes).
        case none
    }

    public enum Group: String, Sendable, Hashable, CaseIterable {
        case image, audio, video, text, augment, crypto, billing, keys, wallet, models
    }

    public let method: String
    /// Path relative to the API base (e.g. `/image/generate`), with `me` and the template's
    /// parameters (`{slug}`) already substituted.
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
        // Wallet-capable inference (SIWX). Sources: openapi.yaml `security: [BearerAuth, siwx]`;
        // veniceai/skills skills/venice-auth/SKILL.md, "Which endpoints accept what".
        Entry(methods: ["POST"], path: "/image/generate", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/images/generations", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/edit", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/multi-edit", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/upscale", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/image/background-remove", auth: .signIn, group: .image, charged: true),
        Entry(methods: ["POST"], path: "/audio/speech", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/transcriptions", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["GET"], path: "/audio/voices", auth: .signIn, group: .audio),
        // Voice cloning: multipart `file` + `model`, answers a `vv_…` voice handle.
        Entry(methods: ["POST"], path: "/audio/voices", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/queue", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/retrieve", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/complete", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/queue", auth: .signIn, group: .audio, charged: true),
        Entry(methods: ["POST"], path: "/audio/voice-changer/retrieve", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/complete", auth: .signIn, group: .audio),
        Entry(methods: ["POST"], path: "/video/queue", auth: .signIn, group: .video, charged: true),
        Entry(methods: ["POST"], path: "/video/retrieve", auth: .signIn, group: .video),
        Entry(methods: ["POST"], path: "/video/complete", auth: .signIn, group: .video),
        Entry(methods: ["POST"], path: "/video/transcriptions", auth: .signIn, group: .video, charged: true),
        Entry(methods: ["POST"], path: "/chat/completions", auth: .signIn, group: .text, charged: true),
        Entry(methods: ["POST"], path: "/responses", auth: .signIn, group: .text, charged: true),
        Entry(methods: ["POST"], path: "/embeddings", auth: .signIn, group: .text, charged: true),
        Entry(methods: ["POST"], path: "/augment/text-parser", auth: .signIn, group: .augment, charged: true),
        Entry(methods: ["POST"], path: "/augment/scrape", auth: .signIn, group: .augment, charged: true),
        Entry(methods: ["POST"], path: "/augment/search", auth: .signIn, group: .augment, charged: true),
        Entry(methods: ["POST"], path: "/crypto/rpc/{network}", auth: .signIn, group: .crypto, charged: true),
        // Wallet credit, `me` = the agent's wallet (SIWX, signer must equal the path wallet).
        Entry(methods: ["GET"], path: "/x402/balance/me", auth: .signIn, group: .wallet),
        Entry(methods: ["GET"], path: "/x402/transactions/me", auth: .signIn, group: .wallet),
        // Bearer-only (the minted key; a SIWX header alone gets 401 there).
        Entry(methods: ["GET"], path: "/billing/balance", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/billing/usage-history", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/billing/usage-analytics", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/api_keys/rate_limits", auth: .bearer, group: .billing),
        Entry(methods: ["GET"], path: "/api_keys/rate_limits/log", auth: .bearer, group: .billing),
        Entry(methods: ["GET", "PATCH"], path: "/api_keys", auth: .bearer, group: .keys),
        Entry(methods: ["GET"], path: "/api_keys/{id}", auth: .bearer, group: .keys),
        Entry(methods: ["GET"], path: "/characters", auth: .bearer, group: .text),
        Entry(methods: ["GET"], path: "/characters/{slug}", auth: .bearer, group: .text),
        Entry(methods: ["GET"], path: "/characters/{slug}/reviews", auth: .bearer, group: .text),
        // Public.
        Entry(methods: ["GET"], path: "/models", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/models/traits", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/models/compatibility_mapping", auth: .none, group: .models),
        Entry(methods: ["GET"], path: "/image/styles", auth: .none, group: .image),
        Entry(methods: ["GET"], path: "/crypto/rpc/networks", auth: .none, group: .crypto),
        Entry(methods: ["POST"], path: "/audio/quote", auth: .none, group: .audio),
        Entry(methods: ["POST"], path: "/audio/voice-changer/quote", auth: .none, group: .audio),
        // Public, but upscale models are quoted to an API key only (venice-auth skill).
        Entry(methods: ["POST"], path: "/video/quote", auth: .bearerIfAvailable, group: .video),
    ]

    /// Routes the agent owns: a client calling them gets `AGENT_ROUTE_OWNED`.
    public static let agentOwned = ["/x402/top-up", "/api_keys/generate_web3_key"]

    /// Path templates of the routes Venice may charge for (`isCharged`).
    public static var chargedTemplates: [String] { entries.filter(\.charged).map(\.path) }

    /// Every allowed (method, path template) pair, for a router to register.
    public static var templates: [(method: String, template: String)] {
        entries.flatMap { entry in entry.methods.sorted().map { (method: $0, template: entry.path) } }
    }

    /// The route for an allowed (method, template); `me` in a wallet path becomes
    /// `walletAddress`, and each `{name}` in the template the value in `parameters`.
    public static func route(method: String, template: String, walletAddress: String,
                             parameters: [String: String] = [:]) throws(InvalidPathParameter) -> VeniceRoute? {
        guard let entry = entries.first(where: { $0.path == template && $0.methods.contains(method) }) else { return nil }
        var upstreamPath = entry.group == .wallet ? String(entry.path.dropLast(2)) + walletAddress : entry.path
        if upstreamPath.contains("{") { upstreamPath = try substitute(upstreamPath, parameters) }
        return VeniceRoute(method: method, path: upstreamPath, template: entry.path, auth: entry.auth, group: entry.group, isCharged: entry.charged)
    }

    /// The auth and group of an allowed (method, template), without its parameters.
    public static func kind(method: String, template: String) -> (auth: VeniceRoute.Auth, group: VeniceRoute.Group)? {
        entries.first(where: { $0.path == template && $0.methods.contains(method) }).map { ($0.auth, $0.group) }
    }

    /// A path parameter the agent will not put in an upstream path.
    public struct InvalidPathParameter: Error, Sendable, Hashable {
        public let name: String
        public init(name: String) { self.name = name }
    }

    /// A parameter is one path segment of unreserved characters (`A–Z a–z 0–9 . _ ~ -`), 1–128
    /// of them and not `.` or `..`: nothing a client sends can add a segment, a query or an
    /// escape to the upstream path.
    static func substitute(_ template: String, _ parameters: [String: String]) throws(InvalidPathParameter) -> String {
        var out: [Substring] = []
        for segment in template.split(separator: "/", omittingEmptySubsequences: false) {
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { out.append(segment); continue }
            let name = String(segment.dropFirst().dropLast())
            guard let value = parameters[name], isSafeSegment(value) else { throw InvalidPathParameter(name: name) }
            out.append(Substring(value))
        }
        return out.joined(separator: "/")
    }

    static func isSafeSegment(_ value: String) -> Bool {
        guard (1...128).contains(value.utf8.count), value != ".", value != ".." else { return false }
        return value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    /// Resolves a client path (relative to `/api/v1`, no query) for `method`. `walletAddress`
    /// replaces `me` in the wallet routes; a segment where a template has `{name}` is that
    /// parameter.
    public static func resolve(method: String, path rawPath: String, walletAddress: String) -> RouteResolution {
        var path = rawPath
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if agentOwned.contains(path) { return .ownedByAgent(template: path) }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        // A literal template wins over one with parameters (`/api_keys/rate_limits` over `/api_keys/{id}`).
        let candidates = entries.filter { $0.methods.contains(method) }
            .sorted { !$0.path.contains("{") && $1.path.contains("{") }
        for entry in candidates {
            let pattern = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == segments.count else { continue }
            var parameters: [String: String] = [:]
            var matches = true
            for (want, have) in zip(pattern, segments) {
                if want.hasPrefix("{"), want.hasSuffix("}") {
                    parameters[String(want.dropFirst().dropLast())] = String(have)
                } else if want != have {
                    matches = false
                    break
                }
            }
            guard matches else { continue }
            guard let route = try? route(method: method, template: entry.path, walletAddress: walletAddress, parameters: parameters) else {
                return .unknown
            }
            return .allowed(route)
        }
        return .unknown
    }
}
