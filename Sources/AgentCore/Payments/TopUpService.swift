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
///
/// Payments are strictly one at a time: every path that may pay (a top-up, an auto top-up,
/// resolving a pending intent) holds `gate` from the cap check until the outcome is known, and
/// the cap check, the reservation of the amount and the journal row are one database
/// transaction made before any network call.
public actor TopUpService {
    public struct Caps: Sendable {
        public var perTopUpMicro: Int64
        public var dailyMicro: Int64
        public init(perTopUpMicro: Int64 = 10_000_000, dailyMicro: Int64 = 50_000_000) {
            self.perTopUpMicro = perTopUpMicro
            self.dailyMicro = dailyMicro
        }
    }

    /// Where a test may stop the process to prove crash safety (`VENICE_AGENT_TEST_CRASH_AT`,
    /// honoured only by debug builds: see `Serve`).
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

    /// What an auto top-up did.
    enum AutoTopUpOutcome: Sendable {
        /// Another request's top-up settled while this one waited its turn: retry without paying.
        case alreadyToppedUp
        case paid(Result)
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
    let journalRetryDelays: [Duration]
    let gate = PaymentGate()
    /// Top-ups settled since start; an auto top-up that waited for its turn compares it with
    /// what it saw when its 402 arrived.
    private(set) var settledCount = 0

    init(ledger: AgentLedger, upstream: AgentUpstream, upstreamURL: String, session: KeySession, clock: any WallClock,
         caps: Caps, logger: Logger, crashHook: @escaping @Sendable (CrashPoint) -> Void = { _ in },
         resubmitDelays: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)],
         journalRetryDelays: [Duration] = [.milliseconds(50), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2)]) throws {
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
        self.journalRetryDelays = journalRetryDelays
    }

    var ledger: AgentLedger { journal.ledger }

    // MARK: top up

    /// Tops up `usd` within the caps, after any earlier intent is resolved. Waits its turn
    /// behind a payment in progress.
    public func topUp(usd: Double) async throws(AgentError) -> Result {
        let amount = try Self.amount(usd: usd)
        guard session.isUnlocked else { throw .locked() }
        return try await gate.run { () async throws(AgentError) -> Result in try await self.payInTurn(amount) }
    }

    /// The auto top-up of a request that got an insufficient-balance 402 after `observedSettled`
    /// top-ups had settled: when another top-up settled since, nothing is paid.
    func autoTopUp(usd: Double, observedSettled: Int) async throws(AgentError) -> AutoTopUpOutcome {
        let amount = try Self.amount(usd: usd)
        guard session.isUnlocked else { throw .locked() }
        return try await gate.run { () async throws(AgentError) -> AutoTopUpOutcome in
            if await self.settledCount > observedSettled { return .alreadyToppedUp }
            return .paid(try await self.payInTurn(amount))
        }
    }

    static func amount(usd: Double) throws(AgentError) -> Int64 {
        guard usd > 0, usd <= 10_000, let amount = Money.micro(usd: usd), amount > 0 else {
            throw .badRequest("\"usd\" must be a positive amount of at most 10000")
        }
        return amount
    }

    /// One payment, with the gate held.
    private func payInTurn(_ amount: Int64) async throws(AgentError) -> Result {
        try await resolvePendingInTurn()

        // 1. Caps checked and the amount reserved in one transaction, before any network call.
        let now = clock.nowMilliseconds()
        let reservation: TopUpJournal.Reservation
        let outcome: Swift.Result<TopUpJournal.Reservation, TopUpJournal.Refusal>
        do {
            outcome = try journal.reserve(id: "topup-" + Hex.encode(SecureRandom.bytes(count: 8)), amountMicro: amount, now: now,
                                          dayStart: Timestamp.utcMidnight(now), perTopUpCapMicro: caps.perTopUpMicro, dailyCapMicro: caps.dailyMicro)
        } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "the payment journal cannot be written, so nothing was paid: \(error)")
        }
        switch outcome {
        case .success(let reserved):
            reservation = reserved
        case .failure(.unresolved(let id)):
            throw AgentError(.conflict, "AGENT_PAYMENT_PENDING",
                             "a previous top-up (\(id)) has no known outcome yet; no new payment is made until it is resolved — retry in a minute")
        case .failure(.overCap(let cap)):
            throw refused(.overCap, "$\(Money.text(amount)) is above the per-top-up cap of $\(Money.text(cap)) (topup_cap_usd)")
        case .failure(.overDailyCap(let cap, let committed)):
            throw refused(.dailyCap, "$\(Money.text(committed)) was already committed today; $\(Money.text(amount)) more would pass the daily cap of $\(Money.text(cap)) (daily_cap_usd)")
        }

        // 2. Requirements fetched from the configured upstream, the policy, the signature and
        //    the journal entry; on any failure the reservation is released, nothing was sent.
        let intent: TopUpJournal.Intent
        do throws(AgentError) {
            intent = try await signReserved(reservation)
        } catch {
            await persist("release \(reservation.id)") { try self.journal.update(reservation.id, state: .failed, outcome: "not paid: \(error.code)") }
            throw error
        }
        ledger.audit("payment_signed", "\(intent.id) \(Money.text(amount)) USD to \(intent.payTo ?? "-")")
        crashHook(.afterIntent)
        return try await settle(intent)
    }

    private func refused(_ reason: PaymentRefusal, _ detail: String) -> AgentError {
        let error = X402Error.paymentRefused(reason, detail: detail)
        ledger.audit("payment_refused", error.description)
        var refusal = AgentError(.forbidden, "AGENT_PAYMENT_REFUSED", error.description)
        refusal.extra = [("reason", .string(reason.rawValue))]
        return refusal
    }

    /// Discovery, policy and signature for a reservation; the signed payload is journaled
    /// (fsync'd) before this returns, so it may be sent.
    private func signReserved(_ reservation: TopUpJournal.Reservation) async throws(AgentError) -> TopUpJournal.Intent {
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
        // Rail, asset, payTo provenance, caps. Nothing is signed on refusal.
        let policy = PaymentPolicy(configuration: .init(upstream: origin, perTopUpCap: UInt64(clamping: caps.perTopUpMicro),
                                                        dailyCap: UInt64(clamping: caps.dailyMicro)))
        let approved: ApprovedPayment
        do {
            approved = try policy.approve(offer, amount: UInt64(clamping: reservation.amountMicro),
                                          spentToday: UInt64(clamping: reservation.committedBeforeMicro))
        } catch {
            if case .paymentRefused(let reason, let detail) = error { throw refused(reason, detail) }
            ledger.audit("payment_refused", error.description)
            throw AgentError(.forbidden, "AGENT_PAYMENT_REFUSED", error.description)
        }
        let payload: PaymentPayload
        do { payload = try Eip3009Authorizer(signer: session, clock: clock).authorize(approved) } catch {
            if error == .signerLocked { throw .locked() }
            throw AgentError(.internalServerError, "AGENT_SIGNING_FAILED", error.description)
        }
        let payTo = approved.payTo.checksummed
        do {
            try journal.recordSigned(reservation.id, payTo: payTo, nonce: Hex.encode(payload.authorization.nonce, prefix: true),
                                     validBefore: Int64(payload.authorization.validBefore.decimalString) ?? 0, payload: payload.headerValue)
        } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "the payment intent could not be recorded, so nothing was sent: \(error)")
        }
        return TopUpJournal.Intent(id: reservation.id, createdAt: clock.nowMilliseconds(), amountMicro: reservation.amountMicro,
                                   payTo: payTo, payload: payload.headerValue, state: .pending)
    }

    /// A journal update that must not be lost: retried with backoff; when it still fails the
    /// intent stays open in the journal (so it is confirmed upstream again before any new
    /// payment) and the failure is logged and returned.
    @discardableResult
    private func persist(_ what: String, _ write: () throws -> Void) async -> Bool {
        var lastError: (any Error)?
        for delay in [Duration.zero] + journalRetryDelays {
            if delay > .zero { try? await Task.sleep(for: delay) }
            do {
                try write()
                return true
            } catch {
                lastError = error
            }
        }
        logger.critical("the payment journal could not be updated; the intent stays open and is confirmed again before any new payment",
                        metadata: ["update": "\(what)", "error": "\(lastError.map { String(describing: $0) } ?? "-")"])
        return false
    }

    /// Sends (or re-sends) a journaled payload until its outcome is known or the retries run
    /// out. Every journal update is persisted with retries; a settlement that cannot be
    /// recorded leaves the intent open, to be confirmed again, and is reported.
    func settle(_ intent: TopUpJournal.Intent) async throws(AgentError) -> Result {
        guard let payload = intent.payload else {
            // Reserved but never signed (a crash between the two): nothing was sent.
            await persist("release \(intent.id)") { try self.journal.update(intent.id, state: .failed, outcome: "reserved, never signed or sent") }
            throw AgentError(.badGateway, "AGENT_TOPUP_FAILED", "top-up \(intent.id) was reserved but never signed; nothing was paid")
        }
        var attempt = 0
        while true {
            let answer: Answer
            do {
                answer = try await call(path: "/x402/top-up", headers: ["PAYMENT-SIGNATURE": payload])
            } catch {
                await persist("\(intent.id) unknown") { try self.journal.update(intent.id, state: .unknown, outcome: "connection lost: \(error.message)") }
                throw AgentError(.gatewayTimeout, "AGENT_TOPUP_UNKNOWN",
                                 "the top-up's outcome is unknown (\(error.message)); the agent will confirm it before any new payment")
            }
            let code = Self.errorCode(answer.body)
            switch answer.status {
            case 200:
                crashHook(.afterSettlement)
                let data = (try? JSONValue(parsing: answer.body))?["data"]
                let credited = data?["amountCredited"]?.doubleValue ?? Money.usd(intent.amountMicro)
                let paymentId = data?["paymentId"]?.stringValue ?? intent.id
                let transaction = answer.headers.first(name: "payment-response").flatMap { try? SettlementResponse(headerValue: $0) }?.transaction
                settledCount += 1
                try await recordSettled(intent, paymentId: paymentId, transaction: transaction, outcome: "credited \(credited) USD")
                ledger.audit("payment_settled", "\(intent.id) \(paymentId) \(credited) USD")
                return Result(amountCreditedUSD: credited, newBalanceUSD: data?["newBalance"]?.doubleValue, paymentId: paymentId, transaction: transaction)
            case 409 where code == "PAYMENT_ALREADY_PROCESSED":
                // Credited by an earlier submission of this very payload.
                settledCount += 1
                try await recordSettled(intent, paymentId: nil, transaction: nil, outcome: "already processed upstream")
                ledger.audit("payment_settled", "\(intent.id) confirmed already processed")
                return Result(amountCreditedUSD: Money.usd(intent.amountMicro), newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
            case 409, 504, 429, 503:
                // Settling, timed out, or busy: the same signed payload is resubmitted later, never re-signed.
                await persist("\(intent.id) unknown") {
                    try self.journal.update(intent.id, state: .unknown, outcome: "upstream \(answer.status) \(code ?? "")")
                }
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
                    settledCount += 1
                    try await recordSettled(intent, paymentId: nil, transaction: nil, outcome: "confirmed in upstream transactions")
                    return Result(amountCreditedUSD: Money.usd(intent.amountMicro), newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
                }
                await persist("\(intent.id) failed") { try self.journal.update(intent.id, state: .failed, outcome: "verification failed; not found upstream") }
                throw AgentError(.badGateway, "AGENT_TOPUP_FAILED", "Venice rejected the payment (PAYMENT_VERIFICATION_FAILED) and no credit was found")
            default:
                await persist("\(intent.id) failed") { try self.journal.update(intent.id, state: .failed, outcome: "upstream \(answer.status) \(code ?? "")") }
                ledger.audit("payment_failed", "\(intent.id) upstream \(answer.status) \(code ?? "")")
                var failure = AgentError(.badGateway, "AGENT_TOPUP_FAILED",
                                         "Venice refused the top-up: \(answer.status) \(code ?? "") \(Self.errorMessage(answer.body) ?? "")")
                failure.extra = [("upstream_status", .number(String(answer.status))), ("upstream_code", code.map(JSONValue.string) ?? .null)]
                throw failure
            }
        }
    }

    /// Records a settlement; when the journal cannot be written the payment still happened, so
    /// the caller learns it settled but was not recorded (the open intent is confirmed again
    /// before any new payment, never paid twice).
    private func recordSettled(_ intent: TopUpJournal.Intent, paymentId: String?, transaction: String?, outcome: String) async throws(AgentError) {
        let recorded = await persist("\(intent.id) settled") {
            try self.journal.update(intent.id, state: .settled, paymentId: paymentId, transaction: transaction, outcome: outcome)
        }
        guard recorded else {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR",
                             "top-up \(intent.id) settled upstream but could not be recorded; the agent confirms it again before any new payment (it is never paid twice)")
        }
    }

    /// Resolves intents whose outcome is unknown (after 409/504 or a crash) by resubmitting the
    /// same signed payload (Venice credits one authorization at most once); reservations never
    /// signed are released. Takes its turn at the payment gate.
    public func resolvePending() async throws(AgentError) {
        try await gate.run { () async throws(AgentError) in try await self.resolvePendingInTurn() }
    }

    private func resolvePendingInTurn() async throws(AgentError) {
        let pending: [TopUpJournal.Intent]
        do { pending = try journal.unresolved() } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the payment journal: \(error)")
        }
        for intent in pending {
            logger.notice("resolving top-up intent", metadata: ["intent": "\(intent.id)", "state": "\(intent.state.rawValue)"])
            // A pending intent may have been sent before a crash: treat it as unknown.
            let asUnknown = TopUpJournal.Intent(id: intent.id, createdAt: intent.createdAt, amountMicro: intent.amountMicro, payTo: intent.payTo,
                                                payload: intent.payload, state: intent.payload == nil ? .reserved : .unknown)
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
        return rows.contains { row in
            guard row["type"]?.stringValue == "TOP_UP", let amount = row["amount"]?.doubleValue, let micro = Money.micro(usd: amount) else { return false }
            return micro == intent.amountMicro && (Timestamp.milliseconds(row["createdAt"]?.stringValue) ?? 0) >= intent.createdAt - 60_000
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
