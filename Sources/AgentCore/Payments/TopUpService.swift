import AsyncHTTPClient
import HTTPTypes
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VeniceClient
public import WalletCrypto
import X402Protocol

/// Buys wallet credit: requirements fetched by the agent itself from its configured upstream,
/// the Base-USDC rail checked by `PaymentPolicy` within the caps, the EIP-3009 authorization
/// signed and journaled before it is sent, and pending intents resolved before any new one.
/// An actor: at most one payment is in progress at a time.
public actor TopUpService {
    public struct Caps: Sendable {
        public var perTopUpMicro: Int64
        public var dailyMicro: Int64
        public init(perTopUpMicro: Int64 = 10_000_000, dailyMicro: Int64 = 50_000_000) {
            self.perTopUpMicro = perTopUpMicro
            self.dailyMicro = dailyMicro
        }
    }

    /// Where a test may stop the process to prove crash safety (`VENICE_AGENT_TEST_CRASH_AT`).
    public enum CrashPoint: String, Sendable {
        case afterIntent = "after-intent"
        case afterSettlement = "after-settlement"
    }

    public struct Result: Sendable {
        public let amountCreditedUSD: Double
        public let newBalanceUSD: Double?
        public let paymentId: String
        public let transaction: String?
    }

    let journal: TopUpJournal
    let upstream: AgentUpstream
    let origin: UpstreamOrigin
    let session: KeySession
    let clock: any WallClock
    let caps: Caps
    let logger: Logger
    let crashHook: @Sendable (CrashPoint) -> Void
    let resubmitDelays: [Duration]

    init(ledger: AgentLedger, upstream: AgentUpstream, upstreamURL: String, session: KeySession, clock: any WallClock,
         caps: Caps, logger: Logger, crashHook: @escaping @Sendable (CrashPoint) -> Void = { _ in },
         resubmitDelays: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]) throws {
        self.journal = TopUpJournal(ledger: ledger)
        self.upstream = upstream
        do { self.origin = try UpstreamOrigin(url: upstreamURL) } catch {
            throw AgentError(.internalServerError, "AGENT_INVALID_UPSTREAM", error.description)
        }
        self.session = session
        self.clock = clock
        self.caps = caps
        self.logger = logger
        self.crashHook = crashHook
        self.resubmitDelays = resubmitDelays
    }

    var ledger: AgentLedger { journal.ledger }

    // MARK: top up

    public func topUp(usd: Double) async throws(AgentError) -> Result {
        guard usd.isFinite, usd > 0, usd <= 10_000 else {
            throw .badRequest("\"usd\" must be a positive amount of at most 10000")
        }
        let amount = Money.micro(usd: usd)
        guard session.isUnlocked else { throw .locked() }
        try await resolvePending()
        if let stuck = try? journal.unresolved(), !stuck.isEmpty {
            throw AgentError(.conflict, "AGENT_PAYMENT_PENDING",
                             "a previous top-up (\(stuck[0].id)) has no known outcome yet; no new payment is made until it is resolved — retry in a minute")
        }
        let spentToday: Int64
        do { spentToday = try journal.committedSince(Timestamp.utcMidnight(clock.nowMilliseconds())) } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the payment journal: \(error)")
        }

        // 1. Requirements, fetched by us from the configured upstream only.
        let discovery = try await call(path: "/x402/top-up", headers: [:])
        guard discovery.status == 402 else {
            throw AgentError(.badGateway, "AGENT_TOPUP_FAILED", "top-up discovery answered \(discovery.status) instead of 402 with payment requirements")
        }
        let offer: FetchedPaymentRequired
        do {
            offer = try FetchedPaymentRequired.fetched(from: origin, headerValue: discovery.headers.first(name: "payment-required"), body: discovery.body)
        } catch {
            throw AgentError(.badGateway, "AGENT_TOPUP_FAILED", "the upstream's payment requirements are unreadable: \(error.description)")
        }

        // 2. Policy: rail, asset, payTo provenance, caps. Nothing is signed on refusal.
        let policy = PaymentPolicy(configuration: .init(upstream: origin, perTopUpCap: UInt64(caps.perTopUpMicro), dailyCap: UInt64(caps.dailyMicro)))
        let approved: ApprovedPayment
        do {
            approved = try policy.approve(offer, amount: UInt64(amount), spentToday: UInt64(max(0, spentToday)))
        } catch {
            var refusal = AgentError(.forbidden, "AGENT_PAYMENT_REFUSED", error.description)
            if case .paymentRefused(let reason, _) = error { refusal.extra = [("reason", .string(reason.rawValue))] }
            ledger.audit("payment_refused", error.description)
            throw refusal
        }

        // 3. Sign, journal (durably), then send.
        let payload: PaymentPayload
        do { payload = try Eip3009Authorizer(signer: session, clock: clock).authorize(approved) } catch {
            if !session.isUnlocked { throw .locked() }
            throw AgentError(.internalServerError, "AGENT_SIGNING_FAILED", error.description)
        }
        let intent = TopUpJournal.Intent(
            id: "topup-" + Hex.encode(SecureRandom.bytes(count: 8)), createdAt: clock.nowMilliseconds(), amountMicro: amount,
            payTo: approved.payTo.checksummed, nonce: Hex.encode(payload.authorization.nonce, prefix: true),
            validBefore: Int64(payload.authorization.validBefore.decimalString) ?? 0, payload: payload.headerValue, state: .pending)
        do { try journal.record(intent) } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "the payment intent could not be recorded, so nothing was sent: \(error)")
        }
        ledger.audit("payment_signed", "\(intent.id) \(Money.text(amount)) USD to \(intent.payTo)")
        crashHook(.afterIntent)
        return try await settle(intent)
    }

    /// Sends (or re-sends) a journaled payload until its outcome is known or the retries run out.
    func settle(_ intent: TopUpJournal.Intent) async throws(AgentError) -> Result {
        var attempt = 0
        while true {
            let answer: Answer
            do {
                answer = try await call(path: "/x402/top-up", headers: ["PAYMENT-SIGNATURE": intent.payload])
            } catch {
                try? journal.update(intent.id, state: .unknown, outcome: "connection lost: \(error.message)")
                throw AgentError(.gatewayTimeout, "AGENT_TOPUP_UNKNOWN",
                                 "the top-up's outcome is unknown (\(error.message)); the agent will confirm it before any new payment")
            }
            let code = Self.errorCode(answer.body)
            switch answer.status {
            case 200:
                crashHook(.afterSettlement)
                let data = (try? JSONValue(parsing: answer.body))?["data"]
                let credited = data?["amountCredited"]?.doubleValue ?? Double(intent.amountMicro) / 1e6
                let paymentId = data?["paymentId"]?.stringValue ?? intent.id
                let transaction = answer.headers.first(name: "payment-response").flatMap { try? SettlementResponse(headerValue: $0) }?.transaction
                try? journal.update(intent.id, state: .settled, paymentId: paymentId, transaction: transaction, outcome: "credited \(credited) USD")
                ledger.audit("payment_settled", "\(intent.id) \(paymentId) \(credited) USD")
                return Result(amountCreditedUSD: credited, newBalanceUSD: data?["newBalance"]?.doubleValue, paymentId: paymentId, transaction: transaction)
            case 409 where code == "PAYMENT_ALREADY_PROCESSED":
                // Credited by an earlier submission of this very payload.
                try? journal.update(intent.id, state: .settled, outcome: "already processed upstream")
                ledger.audit("payment_settled", "\(intent.id) confirmed already processed")
                return Result(amountCreditedUSD: Double(intent.amountMicro) / 1e6, newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
            case 409, 504, 429, 503:
                // Settling, timed out, or busy: the same signed payload is resubmitted later, never re-signed.
                try? journal.update(intent.id, state: .unknown, outcome: "upstream \(answer.status) \(code ?? "")")
                if attempt < resubmitDelays.count {
                    try? await Task.sleep(for: resubmitDelays[attempt])
                    attempt += 1
                    continue
                }
                throw AgentError(.gatewayTimeout, "AGENT_TOPUP_UNKNOWN",
                                 "Venice has not confirmed the top-up yet (\(code ?? String(answer.status))); the agent resolves it before any new payment")
            case 400 where code == "PAYMENT_VERIFICATION_FAILED" && intent.state == .unknown:
                // An earlier send may have settled it (a used authorization no longer verifies): confirm from the ledger upstream.
                if try await confirmedUpstream(intent) {
                    try? journal.update(intent.id, state: .settled, outcome: "confirmed in upstream transactions")
                    return Result(amountCreditedUSD: Double(intent.amountMicro) / 1e6, newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
                }
                try? journal.update(intent.id, state: .failed, outcome: "verification failed; not found upstream")
                throw AgentError(.badGateway, "AGENT_TOPUP_FAILED", "Venice rejected the payment (PAYMENT_VERIFICATION_FAILED) and no credit was found")
            default:
                try? journal.update(intent.id, state: .failed, outcome: "upstream \(answer.status) \(code ?? "")")
                ledger.audit("payment_failed", "\(intent.id) upstream \(answer.status) \(code ?? "")")
                var failure = AgentError(.badGateway, "AGENT_TOPUP_FAILED",
                                         "Venice refused the top-up: \(answer.status) \(code ?? "") \(Self.errorMessage(answer.body) ?? "")")
                failure.extra = [("upstream_status", .number(String(answer.status))), ("upstream_code", code.map(JSONValue.string) ?? .null)]
                throw failure
            }
        }
    }

    /// Resolves intents whose outcome is unknown (after 409/504 or a crash) by resubmitting the
    /// same signed payload; Venice credits one authorization at most once.
    public func resolvePending() async throws(AgentError) {
        let pending: [TopUpJournal.Intent]
        do { pending = try journal.unresolved() } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the payment journal: \(error)")
        }
        for intent in pending {
            logger.notice("resolving top-up intent", metadata: ["intent": "\(intent.id)", "state": "\(intent.state.rawValue)"])
            // A pending intent may have been sent before a crash: treat it as unknown.
            let asUnknown = TopUpJournal.Intent(id: intent.id, createdAt: intent.createdAt, amountMicro: intent.amountMicro, payTo: intent.payTo,
                                                nonce: intent.nonce, validBefore: intent.validBefore, payload: intent.payload, state: .unknown)
            do {
                _ = try await settle(asUnknown)
            } catch where error.code == "AGENT_TOPUP_FAILED" {
                continue
            }
        }
    }

    /// Looks for a TOP_UP of this amount after the intent was made, not claimed by another intent.
    func confirmedUpstream(_ intent: TopUpJournal.Intent) async throws(AgentError) -> Bool {
        guard session.isUnlocked else { return false }
        let answer = try await call(path: "/x402/transactions/\(session.address.lowercasedHex)", method: "GET", auth: .signIn,
                                    query: "limit=100&offset=0")
        guard answer.status == 200, let rows = (try? JSONValue(parsing: answer.body))?["data"]?["transactions"]?.arrayValue else { return false }
        let amount = Double(intent.amountMicro) / 1e6
        return rows.contains { row in
            row["type"]?.stringValue == "TOP_UP" && abs((row["amount"]?.doubleValue ?? 0) - amount) < 0.000001
                && (Timestamp.milliseconds(row["createdAt"]?.stringValue) ?? 0) >= intent.createdAt - 60_000
        }
    }

    // MARK: balance

    public func balance() async throws(AgentError) -> JSONValue {
        guard session.isUnlocked else { throw .locked() }
        let answer = try await call(path: "/x402/balance/\(session.address.lowercasedHex)", method: "GET", auth: .signIn)
        guard answer.status == 200, let data = (try? JSONValue(parsing: answer.body))?["data"] else {
            throw AgentError(.badGateway, "AGENT_BALANCE_FAILED", "Venice answered \(answer.status) for the wallet balance: \(Self.errorMessage(answer.body) ?? "")")
        }
        return [
            "address": .string(session.address.checksummed),
            "balance_usd": data["balanceUsd"] ?? .number("0"),
            "can_consume": data["canConsume"] ?? .bool(false),
        ]
    }

    // MARK: plumbing

    typealias Answer = AgentUpstream.Answer

    func call(path: String, method: String = "POST", auth: VeniceRoute.Auth = .none, query: String? = nil,
              headers pairs: [String: String] = [:]) async throws(AgentError) -> Answer {
        var headers = HTTPHeaders()
        for (name, value) in pairs { headers.add(name: name, value: value) }
        let route = VeniceRoute(method: method, path: path, auth: auth, group: .wallet)
        do {
            return try await upstream.fetch(UpstreamRequest(route: route, query: query, headers: headers, body: .none))
        } catch {
            throw AgentError(.badGateway, error.code, error.description)
        }
    }

    static func errorCode(_ body: [UInt8]) -> String? {
        guard let json = try? JSONValue(parsing: body) else { return nil }
        let code = json["code"]?.stringValue ?? json["error"]?.stringValue
        guard let code else { return nil }
        return code.hasPrefix("X402_") && !code.hasPrefix("X402_SIGN_IN") && code != "X402_NOT_CONFIGURED" && code != "X402_CONCURRENCY_LIMIT"
            ? String(code.dropFirst(5)) : code
    }

    static func errorMessage(_ body: [UInt8]) -> String? {
        guard let json = try? JSONValue(parsing: body) else { return nil }
        return json["message"]?.stringValue ?? json["error"]?.stringValue
    }

}
