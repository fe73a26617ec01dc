import VeniceClient
import X402Protocol

/// Credentials the upstream client asks for on each attempt: a fresh SIWX header signed by
/// the key session, and the newest minted ADMIN key for Bearer-only routes.
final class AgentCredentials: UpstreamCredentials, Sendable {
    let signer: SiwxSigner
    let bearer: @Sendable () -> String?

    init(signer: SiwxSigner, bearer: @escaping @Sendable () -> String?) {
        self.signer = signer
        self.bearer = bearer
    }

    func signInHeader() throws -> String {
        try signer.makeHeaderValue()
    }

    func bearerKey() -> String? { bearer() }
}
