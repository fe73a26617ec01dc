/// What the upstream client needs from whoever holds the key. Implemented by the agent's
/// key session; every call to `signInHeader()` must return a new, never-sent header.
public protocol UpstreamCredentials: Sendable {
    /// A fresh SIGN-IN-WITH-X header value (base64 JSON) for one attempt.
    func signInHeader() throws -> String
    /// The minted Bearer key, if any.
    func bearerKey() -> String?
}
