/// Failures talking to Venice. Never carries a header value, key or signature. The codes are
/// the client's own (lower-case, stable); the agent maps them to its `AGENT_…` answers.
public enum VeniceClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidUpstream(String)
    /// No connection could be made: nothing was sent.
    case unreachable(String)
    /// The connection broke after (part of) the request went out: it may have been charged.
    case lostAfterSend(String)
    case signing(String)
    /// The key session is locked, so no credential could be signed.
    case signerLocked
    case noBearerKey
    /// No upstream slot could be had (the queue is full or the caller went away).
    case noSlot(String)
    /// Venice answered, but not what the call expects.
    case unexpectedAnswer(status: Int, message: String)

    /// True when the request may have reached Venice (and may be charged): the connection broke
    /// after sending, or Venice answered something unexpected. False when nothing was sent.
    public var mayHaveReachedVenice: Bool {
        switch self {
        case .lostAfterSend, .unexpectedAnswer: true
        case .invalidUpstream, .unreachable, .signing, .signerLocked, .noBearerKey, .noSlot: false
        }
    }

    public var code: String {
        switch self {
        case .invalidUpstream: "invalid_upstream"
        case .unreachable: "unreachable"
        case .lostAfterSend: "lost_after_send"
        case .signing: "signing_failed"
        case .signerLocked: "signer_locked"
        case .noBearerKey: "no_bearer_key"
        case .noSlot: "no_slot"
        case .unexpectedAnswer: "unexpected_answer"
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
            "the key is locked, so nothing could be signed"
        case .noBearerKey:
            "this route needs a Venice API key and none is minted yet"
        case .noSlot(let reason):
            "no upstream slot: \(reason)"
        case .unexpectedAnswer(let status, let message):
            "Venice answered \(status)\(message.isEmpty ? "" : ": " + message)"
        }
    }
}
