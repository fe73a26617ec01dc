import Foundation
import HTTPTypes
import Hummingbird
import WalletCrypto
import X402Protocol

/// Credentials: SIWX verification (X402Protocol's verifier and replay guard) and Bearer key lookup.
struct Authenticator: Sendable {
    let state: SimulatorState
    let discovery: DiscoveryBodies
    let verifier: SiwxVerifier
    let replayGuard: SiwxReplayGuard

    static let siwxHeaderNames = ["sign-in-with-x", "x-sign-in-with-x"]
    static let paymentHeaderNames = ["payment-signature", "x-402-payment", "x-payment"]

    init(state: SimulatorState, discovery: DiscoveryBodies) {
        self.state = state
        self.discovery = discovery
        self.verifier = SiwxVerifier()
        self.replayGuard = SiwxReplayGuard()
    }

    static func header(_ request: Request, _ names: [String]) -> String? {
        for name in names {
            if let field = HTTPField.Name(name), let value = request.headers[field] { return value }
        }
        return nil
    }

    static func siwx(_ request: Request) -> String? { header(request, siwxHeaderNames) }
    static func payment(_ request: Request) -> String? { header(request, paymentHeaderNames) }

    /// The token of `Authorization: Bearer <token>` (scheme case-insensitive); "" for another scheme.
    static func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return "" }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// Verifies a SIWX header and burns its nonce; returns the lowercase wallet address.
    /// `generic`: the wallet routes answer every failure with 401 `Invalid Sign-in-with-x signature`, no code.
    func verifySignIn(_ value: String, generic: Bool) async throws -> String {
        let now = await state.nowMilliseconds()
        do {
            let signIn = try verifier.verify(headerValue: value, nowMilliseconds: now)
            try replayGuard.consume(signIn, nowMilliseconds: now)
            return signIn.address.lowercasedHex
        } catch {
            if generic { throw SimulatorError.standard(.unauthorized, "Invalid Sign-in-with-x signature") }
            let failure: SignInFailure
            let detail: String
            if case .signIn(let reason, let text) = error {
                failure = reason
                detail = text
            } else {
                failure = .parseError
                detail = error.description
            }
            let message = switch failure {
            case .invalidChainId, .invalidWallet: "Sign-in-with-X authentication failed"
            default: detail
            }
            throw SimulatorError.coded(.unauthorized, message, code: failure.code)
        }
    }

    /// A live key for the token, else 401 `Authentication failed`.
    func key(_ token: String) async throws -> APIKeyRecord {
        guard !token.isEmpty, let record = await state.key(secret: token) else {
            throw SimulatorError.standard(.unauthorized, "Authentication failed")
        }
        return record
    }

    func noCredentials(path: String, emptyAccepts: Bool = false) async -> SimulatorError {
        discovery.noCredentials(path: path, emptyAccepts: emptyAccepts, nowMilliseconds: await state.nowMilliseconds(),
                                nonce: Hex.encode(SecureRandom.bytes(count: 8)))
    }

    func insufficientBalance(path: String, balanceMicro: Int64) async -> SimulatorError {
        discovery.insufficientBalance(path: path, balanceMicro: balanceMicro, nowMilliseconds: await state.nowMilliseconds(),
                                      nonce: Hex.encode(SecureRandom.bytes(count: 8)))
    }
}
