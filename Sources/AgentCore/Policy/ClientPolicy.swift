public import VeniceClient
import X402Protocol

/// What one local client may do: which route groups and models, how much per request, per UTC
/// day and per UTC month, how many requests at once and per minute, and until when (tokens).
public struct ClientPolicy: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// The owner's programs without a token.
        case defaultClient
        /// A named client that presented its `vat_…` token.
        case token
        /// Bound by the config to an executable path or a systemd unit.
        case binding(String)
        /// Another uid's programs without a token (`[other_uids]`).
        case otherUID(UInt32)
    }

    public var name: String
    /// nil = every group.
    public var routes: Set<String>?
    public var maxRequestMicro: Int64?
    public var dailyMicro: Int64?
    public var source: Source
    /// nil = any model.
    public var models: ModelAllowList?
    /// Requests of this client answered at once (Venice routes that reach upstream signed).
    public var maxParallel: Int?
    /// Requests of this client per rolling minute.
    public var requestsPerMinute: Int?
    /// Spending per UTC calendar month.
    public var monthlyMicro: Int64?
    /// Past this fraction of the daily or monthly budget, answers carry `X-Agent-Budget-Warning`.
    public var softLimit: Double?
    /// A token client's token stops working at this time (Unix ms).
    public var expiresAt: Int64?
    /// The client may itself ask the agent for a top-up, within the agent's top-up caps
    /// (`POST /agent/v1/topup/request`); without this it is told the owner's command.
    public var mayTopUp: Bool = false

    public init(name: String, routes: Set<String>?, maxRequestMicro: Int64?, dailyMicro: Int64?, source: Source,
                models: ModelAllowList? = nil, maxParallel: Int? = nil, requestsPerMinute: Int? = nil, monthlyMicro: Int64? = nil,
                softLimit: Double? = nil, expiresAt: Int64? = nil) {
        self.name = name
        self.routes = routes
        self.maxRequestMicro = maxRequestMicro
        self.dailyMicro = dailyMicro
        self.source = source
        self.models = models
        self.maxParallel = maxParallel
        self.requestsPerMinute = requestsPerMinute
        self.monthlyMicro = monthlyMicro
        self.softLimit = softLimit
        self.expiresAt = expiresAt
    }

    public static let allowAll = ClientPolicy(name: "default", routes: nil, maxRequestMicro: nil, dailyMicro: nil, source: .defaultClient)

    /// Route groups a client can be given (every group but `models`: public model listings
    /// are always allowed).
    public static let groupNames: Set<String> = Set(VeniceRoute.Group.allCases.filter { $0 != .models }.map(\.rawValue))

    public func allows(_ group: VeniceRoute.Group) -> Bool {
        if group == .models { return true }
        guard let routes else { return true }
        return routes.contains(group.rawValue)
    }

    /// True when a per-request or daily limit applies: such a client is never sent upstream
    /// with a price the agent cannot bound.
    public var hasSpendingLimits: Bool { maxRequestMicro != nil || dailyMicro != nil || monthlyMicro != nil }

    /// The request must be read whole before it is sent: its price or its model is checked.
    public var mustInspectBody: Bool { hasSpendingLimits || models != nil }

    /// This policy, never broader than `base`: the route groups both allow, and the lower of
    /// each limit. A binding is narrowed to the policy its caller would otherwise have.
    public func narrowed(to base: ClientPolicy) -> ClientPolicy {
        var routes: Set<String>?
        switch (self.routes, base.routes) {
        case (nil, nil): routes = nil
        case (let mine?, nil): routes = mine
        case (nil, let theirs?): routes = theirs
        case (let mine?, let theirs?): routes = mine.intersection(theirs)
        }
        return ClientPolicy(name: name, routes: routes, maxRequestMicro: Self.lower(maxRequestMicro, base.maxRequestMicro),
                            dailyMicro: Self.lower(dailyMicro, base.dailyMicro), source: source,
                            models: models.map { $0.and(base.models) } ?? base.models,
                            maxParallel: Self.lower(maxParallel, base.maxParallel),
                            requestsPerMinute: Self.lower(requestsPerMinute, base.requestsPerMinute),
                            monthlyMicro: Self.lower(monthlyMicro, base.monthlyMicro), softLimit: Self.lower(softLimit, base.softLimit),
                            expiresAt: Self.lower(expiresAt, base.expiresAt))
        // (`mayTopUp` stays false: only token clients are given it.)
    }

    static func lower<T: Comparable>(_ a: T?, _ b: T?) -> T? {
        switch (a, b) {
        case (nil, nil): nil
        case (let x?, nil): x
        case (nil, let y?): y
        case (let x?, let y?): min(x, y)
        }
    }

    /// Why a client with these settings would be broader than `creator` (nil when it is not).
    public func broadening(beyond creator: ClientPolicy) -> String? {
        if let allowed = creator.routes {
            guard let mine = routes else { return "routes: all groups, but the creating policy allows only \(allowed.sorted().joined(separator: ", "))" }
            let extra = mine.subtracting(allowed)
            if !extra.isEmpty { return "routes: \(extra.sorted().joined(separator: ", ")) beyond \(allowed.sorted().joined(separator: ", "))" }
        }
        if let limit = creator.maxRequestMicro, (maxRequestMicro ?? .max) > limit {
            return "max_request_usd above the creating policy's \(Money.text(limit, decimals: 6))"
        }
        if let limit = creator.dailyMicro, (dailyMicro ?? .max) > limit {
            return "daily_usd above the creating policy's \(Money.text(limit, decimals: 6))"
        }
        if let limit = creator.monthlyMicro, (monthlyMicro ?? .max) > limit {
            return "monthly_usd above the creating policy's \(Money.text(limit, decimals: 6))"
        }
        if let limit = creator.maxParallel, (maxParallel ?? .max) > limit { return "max_parallel above the creating policy's \(limit)" }
        if let limit = creator.requestsPerMinute, (requestsPerMinute ?? .max) > limit {
            return "requests_per_minute above the creating policy's \(limit)"
        }
        if let allowed = creator.models {
            guard let mine = models else { return "models: any, but the creating policy allows only \(allowed)" }
            if !mine.isWithin(allowed) { return "models \(mine) beyond \(allowed)" }
        }
        return nil
    }
}

/// A config-file binding: a policy for the programs matching an executable path or a unit name.
public struct ClientBinding: Sendable, Hashable {
    public var executable: String?
    public var unit: String?
    public var policy: ClientPolicy

    public init(executable: String?, unit: String?, policy: ClientPolicy) {
        self.executable = executable
        self.unit = unit
        self.policy = policy
    }

    func matches(_ identity: ClientIdentity) -> Bool {
        if let executable, identity.executable == executable { return true }
        if let unit, identity.unit == unit { return true }
        return false
    }
}
