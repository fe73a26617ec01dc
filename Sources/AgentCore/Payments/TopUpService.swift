import Logging
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
    let venice: VeniceAPI
    let session: KeySession
    let clock: any WallClock
    let caps: Caps
    let logger: Logger
    let crashHook: @Sendable (CrashPoint) -> Void
    let resubmitDelays: [Duration]
    let journalRetryDelays: [Duration]
    let gate = PaymentGate()
    /// The wallet's last balance reading (DIEM first or x402 credit), shared with reconciliation.
    let funding: WalletFunding
    /// Top-ups settled since start; an auto top-up that waited for its turn compares it with
    /// what it saw when its 402 arrived.
    private(set) var settledCount = 0

    init(ledger: AgentLedger, venice: VeniceAPI, session: KeySession, clock: any WallClock, caps: Caps, logger: Logger,
         funding: WalletFunding = WalletFunding(), crashHook: @escaping @Sendable (CrashPoint) -> Void = { _ in },
         resubmitDelays: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)],
         journalRetryDelays: [Duration] = [.milliseconds(50), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2)]) {
        self.journal = TopUpJournal(ledger: ledger)
        self.venice = venice
        self.session = session
        self.clock = clock
        self.caps = caps
        self.logger = logger
        self.crashHook = crashHook
        self.funding = funding
        self.resubmitDelays = resubmitDelays
        self.journalRetryDelays = journalRetryDelays
    }

    var ledger: AgentLedger { journal.ledger }

    // MARK: top up

    /// Tops up `usd` within the caps, after any earlier intent is resolved. Waits its turn
    /// behind a payment in progress.
    public func topUp(usd: Double) async throws(AgentError) -> Result {
        let amount = try Self.amount(usd: usd)
        guard session.isUnlocked else { throw .locked }
        return try await gate.run { () async throws(AgentError) -> Result in try await self.payInTurn(amount) }
    }

    /// The auto top-up of a request that got an insufficient-balance 402 after `observedSettled`
    /// top-ups had settled: when another top-up settled since, nothing is paid.
    func autoTopUp(usd: Double, observedSettled: Int) async throws(AgentError) -> AutoTopUpOutcome {
        let amount = try Self.amount(usd: usd)
        guard session.isUnlocked else { throw .locked }
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
        let outcome: Swift.Result<TopUpJournal.Reservation, TopUpJournal.Refusal>
        do {
            outcome = try await journal.reserve(id: "topup-" + Hex.encode(SecureRandom.bytes(count: 8)), amountMicro: amount, now: now,
                                                dayStart: Timestamp.utcMidnight(now), perTopUpCapMicro: caps.perTopUpMicro,
                                                dailyCapMicro: caps.dailyMicro)
        } catch {
            throw .ledger("the payment journal cannot be written, so nothing was paid: \(error)")
        }
        let reservation: TopUpJournal.Reservation
        switch outcome {
        case .success(let reserved):
            reservation = reserved
        case .failure(.unresolved(let id)):
            throw .paymentPending(id: id)
        case .failure(.overCap(let cap)):
            throw await refused(.overCap, "$\(Money.text(amount)) is above the per-top-up cap of $\(Money.text(cap)) (topup_cap_usd)")
        case .failure(.overDailyCap(let cap, let committed)):
            throw await refused(.dailyCap, "$\(Money.text(committed)) was already committed today; $\(Money.text(amount)) more would pass the daily cap of $\(Money.text(cap)) (daily_cap_usd)")
        }

        // 2. Requirements fetched from the configured upstream, the policy, the signature and
        //    the journal entry; on any failure the reservation is released, nothing was sent.
        let intent: TopUpJournal.Intent
        do throws(AgentError) {
            intent = try await signReserved(reservation)
        } catch {
            await persist("release \(reservation.id)") { try await self.journal.update(reservation.id, state: .failed, outcome: "not paid: \(error.code)") }
            throw error
        }
        await ledger.audit(.paymentSigned, "\(intent.id) \(Money.text(amount)) USD to \(intent.payTo ?? "-")")
        crashHook(.afterIntent)
        return try await settle(intent)
    }

    private func refused(_ reason: PaymentRefusal, _ detail: String) async -> AgentError {
        let refusal = AgentError.paymentRefused(reason: reason, detail: detail)
        await ledger.audit(.paymentRefused, refusal.message)
        return refusal
    }

    /// Discovery, policy and signature for a reservation; the signed payload is journaled
    /// (fsync'd) before this returns, so it may be sent.
    private func signReserved(_ reservation: TopUpJournal.Reservation) async throws(AgentError) -> TopUpJournal.Intent {
        let offer: FetchedPaymentRequired
        do { offer = try await venice.topUpRequirements() } catch {
            throw .topUpFailed("top-up discovery failed: \(error.description)")
        }
        // Rail, asset, payTo provenance, caps. Nothing is signed on refusal.
        let policy = PaymentPolicy(configuration: .init(upstream: venice.baseURL.origin, perTopUpCap: UInt64(clamping: caps.perTopUpMicro),
                                                        dailyCap: UInt64(clamping: caps.dailyMicro)))
        let approved: ApprovedPayment
        do {
            approved = try policy.approve(offer, amount: UInt64(clamping: reservation.amountMicro),
                                          spentToday: UInt64(clamping: reservation.committedBeforeMicro))
        } catch {
            if case .paymentRefused(let reason, let detail) = error { throw await refused(reason, detail) }
            let refusal = AgentError.paymentRefused(reason: nil, detail: error.description)
            await ledger.audit(.paymentRefused, refusal.message)
            throw refusal
        }
        let payload: PaymentPayload
        do { payload = try Eip3009Authorizer(signer: session, clock: clock).authorize(approved) } catch {
            if error == .signerLocked { throw .locked }
            throw .signingFailed(error.description)
        }
        let payTo = approved.payTo.checksummed
        do {
            try await journal.recordSigned(reservation.id, payTo: payTo, nonce: Hex.encode(payload.authorization.nonce, prefix: true),
                                           validBefore: Int64(payload.authorization.validBefore.decimalString) ?? 0, payload: payload.headerValue)
        } catch {
            throw .ledger("the payment intent could not be recorded, so nothing was sent: \(error)")
        }
        return TopUpJournal.Intent(id: reservation.id, createdAt: clock.nowMilliseconds(), amountMicro: reservation.amountMicro,
                                   payTo: payTo, payload: payload.headerValue, state: .pending)
    }

    /// A journal update that must not be lost: retried with backoff; when it still fails the
    /// intent stays open in the journal (so it is confirmed upstream again before any new
    /// payment) and the failure is logged and returned.
    @discardableResult
    private func persist(_ what: String, _ write: @Sendable () async throws -> Void) async -> Bool {
        var lastError: (any Error)?
        for delay in [Duration.zero] + journalRetryDelays {
            if delay > .zero { try? await Task.sleep(for: delay) }
            do {
                try await write()
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
            await persist("release \(intent.id)") { try await self.journal.update(intent.id, state: .failed, outcome: "reserved, never signed or sent") }
            throw .topUpFailed("top-up \(intent.id) was reserved but never signed; nothing was paid")
        }
        // An intent whose send may have landed (409/504 earlier, or a crash) is looked up in the
        // wallet's transactions before the same authorization is sent again.
        if intent.state == .unknown, await confirmedUpstream(intent) {
            return try await settledUpstream(intent)
        }
        // The journal keeps the payload with `accepted`; it goes out first in the layout Venice's
        // guide builds (no `accepted`), and once in the other layout if Venice calls that one
        // malformed. Same authorization, same nonce: at most one of them can ever settle.
        let signed = try? PaymentPayload(headerValue: payload)
        var layout = PaymentPayload.Layout.schemeAndNetwork
        var triedOtherLayout = signed?.accepted == nil
        var attempt = 0
        while true {
            let outcome: VeniceAPI.TopUpOutcome
            do {
                outcome = try await venice.submitTopUp(paymentSignature: signed?.headerValue(layout) ?? payload)
            } catch {
                await persist("\(intent.id) unknown") { try await self.journal.update(intent.id, state: .unknown, outcome: "connection lost: \(error.code)") }
                throw .topUpUnknown("the top-up's outcome is unknown (\(error.description)); the agent will confirm it before any new payment")
            }
            switch outcome {
            case .credited(let amountUSD, let newBalanceUSD, let paymentId, let transaction):
                crashHook(.afterSettlement)
                let credited = amountUSD ?? Money.usd(intent.amountMicro)
                let id = paymentId ?? intent.id
                settledCount += 1
                try await recordSettled(intent, paymentId: id, transaction: transaction, outcome: "credited \(credited) USD")
                await ledger.audit(.paymentSettled, "\(intent.id) \(id) \(credited) USD")
                return Result(amountCreditedUSD: credited, newBalanceUSD: newBalanceUSD, paymentId: id, transaction: transaction)
            case .alreadyProcessed:
                // Credited by an earlier submission of this very payload.
                settledCount += 1
                try await recordSettled(intent, paymentId: nil, transaction: nil, outcome: "already processed upstream")
                await ledger.audit(.paymentSettled, "\(intent.id) confirmed already processed")
                return Result(amountCreditedUSD: Money.usd(intent.amountMicro), newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
            case .notYetKnown(let status, let code):
                // Settling, timed out, or busy: the same signed payload is resubmitted later, never re-signed.
                await persist("\(intent.id) unknown") { try await self.journal.update(intent.id, state: .unknown, outcome: "upstream \(status) \(code ?? "")") }
                if attempt < resubmitDelays.count {
                    try? await Task.sleep(for: resubmitDelays[attempt])
                    attempt += 1
                    if await confirmedUpstream(intent) { return try await settledUpstream(intent) }
                    continue
                }
                throw .topUpUnknown("Venice has not confirmed the top-up yet (\(code ?? String(status))); the agent resolves it before any new payment")
            case .verificationFailed where intent.state == .unknown || attempt > 0:
                // An earlier send may have settled it (a used authorization no longer verifies): confirm from the ledger upstream.
                if await confirmedUpstream(intent) { return try await settledUpstream(intent) }
                await persist("\(intent.id) failed") { try await self.journal.update(intent.id, state: .failed, outcome: "verification failed; not found upstream") }
                throw .topUpFailed("Venice rejected the payment (PAYMENT_VERIFICATION_FAILED) and no credit was found")
            case .verificationFailed:
                await persist("\(intent.id) failed") { try await self.journal.update(intent.id, state: .failed, outcome: "upstream 400 PAYMENT_VERIFICATION_FAILED") }
                await ledger.audit(.paymentFailed, "\(intent.id) upstream 400 PAYMENT_VERIFICATION_FAILED")
                throw .topUpFailed("Venice refused the top-up: 400 PAYMENT_VERIFICATION_FAILED", upstreamStatus: 400, upstreamCode: "PAYMENT_VERIFICATION_FAILED")
            case .refused(400, "INVALID_PAYMENT", let message) where !triedOtherLayout:
                triedOtherLayout = true
                layout = layout == .accepted ? .schemeAndNetwork : .accepted
                logger.notice("Venice called the payment header malformed; sending the same authorization in the other x402 layout",
                              metadata: ["intent": "\(intent.id)", "message": "\((message ?? "").prefix(160))"])
                continue
            case .refused(let status, let code, let message):
                await persist("\(intent.id) failed") { try await self.journal.update(intent.id, state: .failed, outcome: "upstream \(status) \(code ?? "")") }
                await ledger.audit(.paymentFailed, "\(intent.id) upstream \(status) \(code ?? "")")
                throw .topUpFailed("Venice refused the top-up: \(status) \(code ?? "") \(message ?? "")", upstreamStatus: status, upstreamCode: code)
            }
        }
    }

    /// A top-up found in the wallet's transactions: recorded as settled.
    private func settledUpstream(_ intent: TopUpJournal.Intent) async throws(AgentError) -> Result {
        settledCount += 1
        try await recordSettled(intent, paymentId: nil, transaction: nil, outcome: "confirmed in upstream transactions")
        await ledger.audit(.paymentSettled, "\(intent.id) confirmed in upstream transactions")
        return Result(amountCreditedUSD: Money.usd(intent.amountMicro), newBalanceUSD: nil, paymentId: intent.id, transaction: nil)
    }

    /// Records a settlement; when the journal cannot be written the payment still happened, so
    /// the caller learns it settled but was not recorded (the open intent is confirmed again
    /// before any new payment, never paid twice).
    private func recordSettled(_ intent: TopUpJournal.Intent, paymentId: String?, transaction: String?, outcome: String) async throws(AgentError) {
        let recorded = await persist("\(intent.id) settled") {
            try await self.journal.update(intent.id, state: .settled, paymentId: paymentId, transaction: transaction, outcome: outcome)
        }
        guard recorded else {
            throw .ledger("top-up \(intent.id) settled upstream but could not be recorded; the agent confirms it again before any new payment (it is never paid twice)")
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
        do { pending = try await journal.unresolved() } catch {
            throw .ledger("cannot read the payment journal: \(error)")
        }
        for intent in pending {
            logger.notice("resolving top-up intent", metadata: ["intent": "\(intent.id)", "state": "\(intent.state.rawValue)"])
            // A pending intent may have been sent before a crash: treat it as unknown.
            let asUnknown = TopUpJournal.Intent(id: intent.id, createdAt: intent.createdAt, amountMicro: intent.amountMicro, payTo: intent.payTo,
                                                payload: intent.payload, state: intent.payload == nil ? .reserved : .unknown)
            do {
                _ = try await settle(asUnknown)
            } catch {
                // A failed intent is resolved (nothing was credited); anything else stays open.
                guard case .topUpFailed = error else { throw error }
            }
        }
    }

    /// Looks for a TOP_UP of this amount made after the intent (a minute's clock slack) that no
    /// other settled intent of the same amount accounts for.
    func confirmedUpstream(_ intent: TopUpJournal.Intent) async -> Bool {
        guard session.isUnlocked, let rows = try? await venice.transactions(limit: 100, offset: 0) else { return false }
        let since = intent.createdAt - 60_000
        let found = rows.count { row in
            guard row["type"]?.stringValue == "TOP_UP", let amount = row["amount"]?.doubleValue, let micro = Money.micro(usd: amount) else { return false }
            return micro == intent.amountMicro && (Timestamp.milliseconds(row["createdAt"]?.stringValue) ?? 0) >= since
        }
        guard found > 0, let claimed = try? await journal.settledElsewhere(amountMicro: intent.amountMicro, since: since, excluding: intent.id) else {
            return false
        }
        return found > claimed
    }

    // MARK: balance

    public func balance() async throws(AgentError) -> JSONValue {
        guard session.isUnlocked else { throw .locked }
        let data: JSONValue
        do { data = try await venice.balance() } catch {
            if case .signerLocked = error { throw .locked }
            throw .balanceFailed("the wallet balance could not be read: \(error.description)")
        }
        funding.record(data, now: clock.nowMilliseconds())
        // Two balances: the wallet's x402 credit, and the DIEM of a Venice account the wallet is
        // linked to, which Venice spends first (and which no top-up adds to).
        return [
            "address": .string(session.address.checksummed),
            "balance_usd": data["balanceUsd"] ?? .number("0"),
            "diem_balance_usd": data["diemBalanceUsd"] ?? .number("0"),
            "spends_diem_first": .bool(funding.spendsDIEM(now: clock.nowMilliseconds())),
            "can_consume": data["canConsume"] ?? .bool(false),
        ]
    }
}
