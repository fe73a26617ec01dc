public import Hummingbird
public import NIOCore

/// Per-request context: the connection it came from (for SO_PEERCRED).
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
