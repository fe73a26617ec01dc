public import Hummingbird
public import NIOCore

/// Per-request context. The middlewares fill it in, in order: the request id and the
/// connection's accept-time information (`RequestLogMiddleware`), then who is calling and with
/// which policy (`CallerMiddleware`). A handler asks for what it needs and gets a typed error
/// when a middleware has not run.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// When the request's head arrived (the start of its time in the agent).
    public let started: ContinuousClock.Instant
    /// Random, per request; answered as `X-Agent-Request-Id` and logged.
    public var requestID = ""
    /// What the kernel said about the connection when it was accepted.
    public var connection: ConnectionRegistry.Info?
    /// Set by `CallerMiddleware`.
    public var caller: Caller?
    /// What the proxy tells the request's log line.
    var notes: RequestNotes?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.started = .now
    }

    /// The caller `CallerMiddleware` resolved; a route reached without it is refused.
    public func requireCaller() throws(AgentError) -> Caller {
        guard let caller else { throw .peerUnknown("the caller of this request was not identified; connect over the agent's socket") }
        return caller
    }
}

/// The context of the owner's management routes. It can only be made from a request whose
/// caller holds an `Administrator`, so a handler of this group cannot run for anyone else:
/// "is admin" is a type, not a list of paths.
public struct OwnerRequestContext: ChildRequestContext {
    public typealias ParentContext = AgentRequestContext

    public var coreContext: CoreRequestContextStorage
    public let administrator: Administrator
    public let caller: Caller
    public let requestID: String

    public init(context: AgentRequestContext) throws {
        let caller = try context.requireCaller()
        guard let administrator = caller.administrator else {
            throw AgentError.notAdministrator(caller.policy.source, client: caller.policy.name)
        }
        self.coreContext = context.coreContext
        self.administrator = administrator
        self.caller = caller
        self.requestID = context.requestID
    }
}

/// The context of the routes that *read* the owner's view (clients, audit, top-ups, recent
/// requests, balance history): made for the owner's programs (`Administrator`) and for a live
/// dashboard session (`Viewer`), and for nobody else. These routes are all GETs that change
/// nothing, so a dashboard session can never move money or change a client.
public struct ReaderRequestContext: ChildRequestContext {
    public typealias ParentContext = AgentRequestContext

    public var coreContext: CoreRequestContextStorage
    public let reader: Reader
    public let caller: Caller

    public init(context: AgentRequestContext) throws {
        let caller = try context.requireCaller()
        guard let reader = caller.reader else {
            throw AgentError.notAdministrator(caller.policy.source, client: caller.policy.name)
        }
        self.coreContext = context.coreContext
        self.reader = reader
        self.caller = caller
    }
}
