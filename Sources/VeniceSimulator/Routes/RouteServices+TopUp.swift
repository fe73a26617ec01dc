import HTTPTypes
import Foundation
import Hummingbird
import WalletCrypto
import X402Protocol

extension RouteServices {
    /// USDC atomic-unit bounds of one top-up: $5 … $10,000.
    static let topUpMinimum: UInt64 = 5_000_000
    static let topUpMaximum: UInt64 = 10_000_000_000

    func registerTopUp(_ api: RouterGroup<Context>) {
        api.post("x402/top-up") { request, context -> Response in
            guard await state.allow("topup-ip:" + context.remoteIP, limit: 10) else {
                throw SimulatorError.standard(.tooManyRequests, "Rate limit exceeded. Please try again later.")
            }
            guard let header = Authenticator.payment(request) else { throw discovery.topUp() }
            let knobs = await state.faults
            if knobs.settlement == .notConfigured {
                throw SimulatorError.topUp(.serviceUnavailable, code: "X402_NOT_CONFIGURED", message: "x402 payments are not configured")
            }
            let verified = try await verifyPayment(header)
            switch await state.beginSettlement(verified.paymentId) {
            case .inProgress:
                throw SimulatorError.topUp(.conflict, code: "PAYMENT_IN_PROGRESS", message: "This payment is already being settled; retry shortly")
            case .done(let body, let paymentResponse):
                return .json(body, headers: [HTTPField.Name("PAYMENT-RESPONSE")!: paymentResponse])
            case .begin:
                break
            }
            if knobs.settlementHoldMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(knobs.settlementHoldMilliseconds)) }
            switch knobs.settlement {
            case .fail:
                await state.finishSettlement(verified.paymentId, body: nil)
                throw SimulatorError.topUp(.payment402, code: "SETTLEMENT_FAILED", message: "Settlement failed; no funds moved. Retrying is safe.")
            case .timeout:
                // The credit lands later (on the simulator clock), as a timed-out settlement may on Venice.
                await state.scheduleSettlement(verified, afterMilliseconds: Int64(knobs.settlementTimeoutCreditDelayMilliseconds))
                throw SimulatorError.topUp(.gatewayTimeout, code: "SETTLEMENT_TIMEOUT", message: "Settlement timed out; it may still complete. Check the balance before paying again.")
            default:
                let (body, paymentResponse) = await state.settle(verified)
                return .json(body, headers: [HTTPField.Name("PAYMENT-RESPONSE")!: paymentResponse])
            }
        }
    }


    private func topUpError(_ code: String, _ message: String) -> SimulatorError { .topUp(.badRequest, code: code, message: message) }

    /// Every check of VENICE.md §3.4, in order; signature recovery by X402Protocol.
    func verifyPayment(_ header: String) async throws -> VerifiedPayment {
        guard let data = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)),
              let json = try? JSONValue(parsing: Array(data)), json.objectValue != nil else {
            throw topUpError("INVALID_PAYMENT_FORMAT", "Payment header must be base64-encoded JSON")
        }
        guard let authorization = json["payload"]?["authorization"]?.objectValue, json["payload"]?["signature"]?.stringValue != nil else {
            throw topUpError("INVALID_PAYMENT", "Payment payload must contain payload.authorization and payload.signature")
        }
        let accepted = json["accepted"]
        // The layout knob (an assumption, see `FaultKnobs.topUpRejectedLayout`).
        switch (await state.faults.topUpRejectedLayout, accepted != nil) {
        case (.both, _), (.withAccepted, true), (.withoutAccepted, false):
            throw topUpError("INVALID_PAYMENT", accepted != nil ? "Payment payload must not contain accepted"
                                                                : "Payment payload must contain accepted")
        default:
            break
        }
        let scheme = accepted?["scheme"]?.stringValue ?? json["scheme"]?.stringValue ?? "exact"
        guard scheme == "exact" else { throw topUpError("UNSUPPORTED_SCHEME", "Unsupported payment scheme: \(scheme)") }
        let network = accepted?["network"]?.stringValue ?? json["network"]?.stringValue ?? ""
        guard network == "eip155:8453" || network == "base" else {
            let message = network.hasPrefix("solana") ? "venice-sim settles Base (eip155:8453) payments only"
                                                      : "Unsupported network: \(network)"
            throw topUpError("UNSUPPORTED_NETWORK", message)
        }
        if let asset = accepted?["asset"]?.stringValue, asset.lowercased() != SimulatorConfiguration.baseUSDC {
            throw topUpError("UNSUPPORTED_TOKEN", "Unsupported token \(asset); pay with native USDC on Base")
        }
        if let extra = accepted?["extra"], extra["name"]?.stringValue != "USD Coin" || extra["version"]?.stringValue != "2" {
            throw topUpError("UNSUPPORTED_TOKEN", "Token domain must be USD Coin version 2")
        }
        guard let to = authorization["to"]?.stringValue, to.lowercased() == SimulatorConfiguration.basePayTo.lowercased() else {
            throw topUpError("INVALID_PAYMENT_RECIPIENT", "Payment recipient must be \(SimulatorConfiguration.basePayTo)")
        }
        guard let valueText = authorization["value"]?.stringValue ?? authorization["value"]?.numberLiteral,
              !valueText.isEmpty, valueText.allSatisfy(\.isASCII), valueText.allSatisfy(\.isNumber),
              let value = UInt256Text.parse(valueText), value.isPositive else {
            throw topUpError("INVALID_AMOUNT", "Payment value must be a positive integer")
        }
        guard let amount = value.uint64, amount >= Self.topUpMinimum else {
            if value.uint64 == nil { throw topUpError("AMOUNT_TOO_HIGH", "Maximum top-up is $10000") }
            throw topUpError("AMOUNT_TOO_LOW", "Minimum top-up is $5")
        }
        guard amount <= Self.topUpMaximum else { throw topUpError("AMOUNT_TOO_HIGH", "Maximum top-up is $10000") }
        guard let fromText = authorization["from"]?.stringValue, let from = try? EthereumAddress(fromText) else {
            throw topUpError("INVALID_PAYMENT_PAYER", "Payment payer (authorization.from) is missing or malformed")
        }
        let payload: PaymentPayload
        do { payload = try PaymentPayload(headerValue: header) } catch {
            throw topUpError("INVALID_PAYMENT", "Payment payload is malformed: \(error.description)")
        }
        let nowSeconds = await state.nowMilliseconds() / 1000
        let auth = payload.authorization
        if auth.validAfter > UInt256(UInt64(max(0, nowSeconds))) {
            throw topUpError("PAYMENT_VERIFICATION_FAILED", "Authorization is not valid yet (validAfter in the future)")
        }
        if auth.validBefore < UInt256(UInt64(max(0, nowSeconds + 6))) {
            throw topUpError("PAYMENT_VERIFICATION_FAILED", "Authorization expired (validBefore has passed)")
        }
        let signer: EthereumAddress
        do { signer = try payload.recoverSigner(domain: Eip3009Domain.baseUSDC) } catch {
            throw topUpError("PAYMENT_VERIFICATION_FAILED", "Invalid EIP-712 signature: \(error.description)")
        }
        guard signer == from else { throw topUpError("PAYMENT_VERIFICATION_FAILED", "Signature does not recover to authorization.from") }
        let digest = Keccak256.hash(from.bytes + auth.nonce)
        return VerifiedPayment(payer: from.lowercasedHex, payerChecksummed: from.checksummed, amount: amount,
                               paymentId: "x402-" + Hex.encode(digest.prefix(16)),
                               transaction: Hex.encode(Keccak256.hash(Array("venice-sim".utf8) + digest), prefix: true))
    }
}

/// Decimal text → magnitude check without overflow (values above UInt64 are "too high").
enum UInt256Text {
    struct Parsed { let uint64: UInt64?; let isPositive: Bool }
    static func parse(_ text: String) -> Parsed? {
        let digits = text.drop { $0 == "0" }
        if digits.isEmpty { return Parsed(uint64: 0, isPositive: false) }
        guard digits.count <= 78 else { return nil }
        return Parsed(uint64: UInt64(digits), isPositive: true)
    }
}
