public import AsyncHTTPClient
public import NIOCore
public import NIOHTTP1

/// One client request, already through the allow-list, on its way to Venice.
public struct UpstreamRequest: Sendable {
    public enum Body: Sendable {
        case none
        /// Kept whole (small JSON bodies): can be sent again on retry.
        case buffered(ByteBuffer)
        /// Streamed once from the client (uploads): never replayed.
        case streamed(HTTPClientRequest.Body)
    }

    public var route: VeniceRoute
    /// Raw query string without `?`, or nil.
    public var query: String?
    /// Client headers that may be forwarded (credentials and hop-by-hop already removed).
    public var headers: HTTPHeaders
    public var body: Body

    public init(route: VeniceRoute, query: String?, headers: HTTPHeaders, body: Body) {
        self.route = route
        self.query = query
        self.headers = headers
        self.body = body
    }

    public var isReplayable: Bool {
        if case .streamed = body { return false }
        return true
    }
}

/// Venice's answer: status, headers and a body that streams (or was buffered to inspect it).
public struct UpstreamResponse: Sendable {
    public enum Body: Sendable {
        case stream(HTTPClientResponse.Body)
        case buffered(ByteBuffer)
    }

    public let status: Int
    public let headers: HTTPHeaders
    public let body: Body
    public let retries: [RetryPolicy.Reason]
    /// Time spent making credentials (signing) across the attempts: the agent's own work.
    public let signing: Duration
}
