import VeniceClient
import X402Protocol

/// Credentials the upstream client asks for on each attempt: a fresh SIWX header signed by
/// the key session (or, for a proxied request, the one signed ahead for it), and the newest
/// minted ADMIN key for Bearer-only routes.
final class AgentCredentials: UpstreamCredentials, Sendable {
    let signer: SiwxSigner
    let bearer: @Sendable () -> String?
    /// The header signed ahead for the next proxied request.
    let signedAhead: SignInReserve?

    init(signer: SiwxSigner, bearer: @escaping @Sendable () -> String?, signedAhead: SignInReserve? = nil) {
        self.signer = signer
        self.bearer = bearer
        self.signedAhead = signedAhead
    }

    func signInHeader() throws -> String {
        // Only a proxied request that keeps the key alive takes the header signed ahead.
        if SignInReserve.eligible, !KeySession.passive, let header = signedAhead?.take() { return header }
        return try signer.makeHeaderValue()
    }

    func bearerKey() -> String? { bearer() }
}
