import VeniceClient
import X402Protocol

/// Credentials the upstream client asks for on each attempt: a fresh SIWX header signed by
/// the key session (or, for a proxied request, the one signed ahead for it), and the newest
/// minted ADMIN key for Bearer-only routes.
final class AgentCredentials: UpstreamCredentials, Sendable {
    let signer: SiwxSigner
    let bearer: @Sendable () -> String?
    /// The header signed ahead for the next proxied request, and the session that confirms it.
    let signedAhead: (reserve: SignInReserve, session: KeySession)?

    init(signer: SiwxSigner, bearer: @escaping @Sendable () -> String?, signedAhead: (reserve: SignInReserve, session: KeySession)? = nil) {
        self.signer = signer
        self.bearer = bearer
        self.signedAhead = signedAhead
    }

    func signInHeader() throws -> String {
        // Only a proxied request that keeps the key alive takes the header signed ahead.
        if SignInReserve.eligible, !KeySession.passive, let (reserve, session) = signedAhead,
           let kept = reserve.take(), session.confirmSignedAhead(epoch: kept.epoch) {
            reserve.noteHandedOut()
            return kept.header
        }
        return try signer.makeHeaderValue()
    }

    func bearerKey() -> String? { bearer() }
}
