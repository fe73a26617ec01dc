public import HTTPTypes

/// Proof that a request may manage the agent (unlock, lock, top up, clients, keys, audit).
/// Only `CallerResolver` makes one, and only for the owner uid's own programs that present no
/// client token, match no binding, and whose `[default]` policy keeps its admin rights, so
/// "is admin" is a value a handler must be handed, not a list of paths to remember.
public struct Administrator: Sendable {
    fileprivate init() {}
}

/// Proof that a request may *read* what the owner reads (spend, clients, top-ups, audit) and
/// nothing more: a browser holding a live dashboard session, on the loopback listener, from the
/// owner's uid. Only `CallerResolver` makes one; no route that moves money or changes the agent
/// accepts it (those take an `Administrator`).
public struct Viewer: Sendable {
    fileprivate init() {}
}

/// Who may read the owner's view: the owner's own programs, or its dashboard.
public enum Reader: Sendable {
    case owner(Administrator)
    case dashboard(Viewer)
}

/// Who a request comes from, what it may do, and whether it may administer.
public struct Caller: Sendable {
    public let peer: PeerCredentials
    public let policy: ClientPolicy
    public let administrator: Administrator?
    /// Set only for a dashboard session's requests (whose policy allows no Venice route).
    public private(set) var viewer: Viewer?

    init(peer: PeerCredentials, policy: ClientPolicy, administrator: Administrator?) {
        self.peer = peer
        self.policy = policy
        self.administrator = administrator
    }

    /// The owner's browser with a live dashboard session: reads, never spends.
    static func dashboard(peer: PeerCredentials) -> Caller {
        var caller = Caller(peer: peer, policy: ClientPolicy(name: "dashboard session", routes: [], maxRequestMicro: 0, dailyMicro: 0,
                                                             source: .defaultClient, models: ModelAllowList(requirements: [[]])),
                            administrator: nil)
        caller.viewer = Viewer()
        return caller
    }

    /// May read the owner's view of the agent: the owner's programs, or its dashboard.
    public var reader: Reader? {
        if let administrator { return .owner(administrator) }
        if let viewer { return .dashboard(viewer) }
        return nil
    }

    /// Whom the upstream queue takes turns between: each process over the socket; each named
    /// client over TCP, where no pid is known.
    var fairnessKey: String {
        peer.pid == 0 ? "uid:\(peer.uid)/client:\(policy.name)" : "uid:\(peer.uid)/pid:\(peer.pid)"
    }
}

/// Decides the caller of a request from the kernel's word about its connection (read once,
/// at accept) and the token it presents, if any:
/// 1. only the owner uid and configured uids are served;
/// 2. a client token must be well-formed and name a live client (else 401);
/// 3. otherwise a binding (executable or unit, as the process was at accept, and it must
///    not have changed since) or the uid's base policy — the owner's `[default]`, another
///    uid's `[other_uids]` — applies; a binding only ever narrows its base policy;
/// 4. only the owner's untokened, unbound programs administer, unless `[default]` says not.
/// Over the loopback TCP listener the uid comes from the kernel's socket table, a token is
/// required (step 3 never applies), and nobody administers.
struct CallerResolver: Sendable {
    let configuration: AgentConfiguration
    let clients: ClientStore
    /// A request over TCP without a token may instead carry a live dashboard session of this listener.
    var dashboard: DashboardSessions? = nil
    var listener: ListenerAddress? = nil

    func resolve(headers: HTTPFields, target: String, connection: ConnectionRegistry.Info?) throws(AgentError) -> Caller {
        guard let peer = connection?.peer else {
            if connection?.transport == .loopbackTCP {
                throw .peerUnknown("the kernel does not list this TCP connection's socket, so its user is unknown; reconnect, or use the agent's Unix socket")
            }
            throw .peerUnknown("the agent could not read the caller's credentials (SO_PEERCRED); connect over its Unix socket")
        }
        let isOwner = peer.uid == configuration.ownerUID
        guard isOwner || configuration.allowedUIDs.contains(peer.uid) else { throw .peerRefused(uid: peer.uid) }

        switch ClientToken.find(in: headers, target: target) {
        case .malformed(let reason):
            throw .badClientToken(reason)
        case .present(let token):
            guard let policy = clients.policy(forToken: token) else { throw .unknownClientToken }
            if let expiresAt = policy.expiresAt, configuration.wallClock() >= expiresAt {
                throw .clientExpired(name: policy.name, at: Timestamp.iso(expiresAt))
            }
            return Caller(peer: peer, policy: policy, administrator: nil)
        case .absent:
            if connection?.transport == .loopbackTCP {
                // The owner's browser on its dashboard, for the dashboard's page and views only:
                // a session cookie of this listener (and, for the views, the page's secret), and
                // only from the owner's uid (a cookie copied to another user's process is worth nothing).
                let path = LoopbackGuard.collapsingSlashes(String(target.prefix { $0 != "?" }))
                let need: DashboardSessions.Need? = LoopbackGuard.isDashboardPath(path) ? .page
                    : LoopbackGuard.dashboardViews.contains(path) ? .view(secret: headers[DashboardSessions.secretField]) : nil
                if let need, let dashboard, let port = listener?.value?.port {
                    let cookies = DashboardSessions.cookies(in: headers[values: .cookie], port: port)
                    if isOwner, dashboard.isLive(cookies: cookies, need: need, listenerPort: port) { return .dashboard(peer: peer) }
                    if !cookies.isEmpty || !LoopbackGuard.tcpAgentRoutes.contains(path) { throw .dashboardSessionRequired }
                }
                throw .tokenRequired
            }
        }

        let base = isOwner ? configuration.defaultPolicy : configuration.otherUIDPolicy(peer.uid)
        if !configuration.bindings.isEmpty {
            guard let accepted = connection?.identity else {
                throw .peerUnknown("the agent could not read the calling process from /proc; reconnect")
            }
            if let binding = configuration.bindings.first(where: { $0.matches(accepted) }) {
                // The process that connected must still be the one on the connection: an exec on
                // an inherited socket, or a recycled pid, must not inherit its binding.
                guard accepted.isSameProcess(as: ClientIdentity.of(peer)) else { throw .peerChanged }
                return Caller(peer: peer, policy: binding.policy.narrowed(to: base), administrator: nil)
            }
        }
        let administers = isOwner && configuration.defaultPolicyAdministers
        return Caller(peer: peer, policy: base, administrator: administers ? Administrator() : nil)
    }
}
