/// What a refusal of `POST /api_keys/generate_web3_key` means and what the agent does next.
/// Venice documents each message (veniceai/api-docs guides/integrations/generating-api-key-agent.mdx,
/// "Error reference"): all are 400s told apart by the `error` text.
enum MintRefusal {
    /// The token went stale or was not taken as Venice's own: fetch a new one, sign, resubmit.
    case refetchToken
    /// Venice could not verify the signature right now (its RPC call failed), or it is
    /// overloaded: try again after a pause.
    case retryLater
    /// Nothing the agent can fix by trying again.
    case final(AgentError)

    static func classify(status: Int, message: String) -> MintRefusal {
        let lower = message.lowercased()
        // "Wallet has no staked VVV on Base" (older answers named the wallet in it).
        if lower.contains("no staked vvv") {
            return .final(.noStakedVVV("Venice mints API keys only for wallets with staked VVV on Base: \(message)"))
        }
        // "JWT has expired", "JWT signature is invalid", "JWT claims are invalid", "JWT is malformed".
        if lower.contains("jwt has expired") || lower.contains("jwt signature is invalid") || lower.contains("jwt claims are invalid")
            || lower.contains("jwt is malformed") {
            return .refetchToken
        }
        // "Could not verify wallet signature": transient, retry with backoff.
        if lower.contains("could not verify wallet signature") { return .retryLater }
        // "Wallet signature does not match": the agent signed with another key than its address.
        if lower.contains("wallet signature does not match") {
            return .final(.keySignatureRejected("Venice says the signature does not match the wallet: \(message)"))
        }
        if lower.contains("invalid wallet address") {
            return .final(.mintFailed("Venice did not accept the wallet address: \(message)"))
        }
        if status == 429 || status >= 500 { return .retryLater }
        return .final(.mintFailed("Venice refused to mint the key (\(status)): \(message)"))
    }
}
