public import VeniceClient

/// What one local client may do: which route groups, how much per request and per UTC day.
public struct ClientPolicy: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// The owner's programs without a token.
        case defaultClient
        /// A named client that presented its `vat_…` token.
        case token
        /// Bound by the config to an executable path or a systemd unit.
        case binding(String)
    }

    public var name: String
    /// nil = every group.
    public var routes: Set<String>?
    public var maxRequestMicro: Int64?
    public var dailyMicro: Int64?
    public var source: Source

    public init(name: String, routes: Set<String>?, maxRequestMicro: Int64?, dailyMicro: Int64?, source: Source) {
        self.name = name
        self.routes = routes
        self.maxRequestMicro = maxRequestMicro
        self.dailyMicro = dailyMicro
        self.source = source
    }

    public static let allowAll = ClientPolicy(name: "default", routes: nil, maxRequestMicro: nil, dailyMicro: nil, source: .defaultClient)

    /// Route groups a client can be given. Public model listings are always allowed.
    public static let groupNames: Set<String> = ["image", "audio", "video", "text", "billing", "wallet"]

    public func allows(_ group: VeniceRoute.Group) -> Bool {
        if group == .models { return true }
        guard let routes else { return true }
        return routes.contains(group.rawValue)
    }

    /// Only the owner's untokened programs may manage the agent (top up, mint keys, add clients).
    public var mayAdminister: Bool { source == .defaultClient }
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
