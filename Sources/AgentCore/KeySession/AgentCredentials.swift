import VeniceClient
import X402Protocol

/// Credentials the upstream client asks for on each attempt: a fresh SIWX header signed by
/// the key session, and (once issue 6's minting lands) the minted Bearer key.
final class AgentCredentials: UpstreamCredentials, Sendable {
    let signer: SiwxSigner

    init(signer: SiwxSigner) {
        self.signer = signer
    }

    func signInHeader() throws -> String {
        try signer.makeHeader().headerValue
    }

    func bearerKey() -> String? { nil }
}
