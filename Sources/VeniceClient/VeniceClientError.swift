/// Failures talking to Venice. Never carries a header value, key or signature.
public enum VeniceClientError: Error, Sendable, CustomStringConvertible {
    case invalidUpstream(String)
    case unreachable(String)
    case lostAfterSend(String)
    case signing(String)
    /// The key session is locked, so no credential could be signed.
    case signerLocked
    case noBearerKey

    public var code: String {
        switch self {
        case .invalidUpstream: "AGENT_INVALID_UPSTREAM"
        case .unreachable: "AGENT_UPSTREAM_UNREACHABLE"
        case .lostAfterSend: "AGENT_UPSTREAM_CONNECTION_LOST"
        case .signing: "AGENT_SIGNING_FAILED"
        case .signerLocked: "AGENT_LOCKED"
        case .noBearerKey: "AGENT_NO_API_KEY"
        }
    }

    public var description: String {
        switch self {
        case .invalidUpstream(let url):
            "upstream URL \(url) is not valid; pass --upstream https://host[:port]/api/v1"
        case .unreachable(let reason):
            "Venice is unreachable (\(reason)); check the network or --upstream and try again"
        case .lostAfterSend(let reason):
            "the connection to Venice was lost after the request was sent (\(reason)); it was not retried because it may have been charged"
        case .signing(let reason):
            "could not sign the request: \(reason)"
        case .signerLocked:
            "the agent is locked; unlock it with `venice-agent unlock`"
        case .noBearerKey:
            "this route needs a Venice API key and none is minted yet; mint one with `venice-agent apikey mint --type ADMIN` (POST /agent/v1/apikey/mint)"
        }
    }
}
