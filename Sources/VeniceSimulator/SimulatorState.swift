import Foundation
public import X402Protocol
public import WalletCrypto

/// All mutable simulator state: balances and ledgers, keys, payments, audio jobs, knobs, recordings.
/// Tests hold it (from `VeniceSimulator.state`) to fund wallets, flip knobs and read what happened.
public actor SimulatorState {
    public static let defaultAccount = "account:default"

    /// The Venice user account a wallet is linked to (its minted keys spend it; it holds the wallet's DIEM), kept apart
    /// from the wallet's x402 credit, which lives under the bare lowercase address (veniceai/api-docs
    /// guides/integrations/generating-api-key-agent.mdx, "Paying for inference": "The x402 USDC balance is
    /// wallet-bound, not user-bound, so it does not show up as balance for the minted Bearer key").
    public static func userAccount(wallet: String) -> String { "user:" + wallet.lowercased() }

    struct Account {
        var usdMicro: Int64 = 0
        /// DIEM left (in micro-USD) of a Venice user account; always 0 on a wallet's x402 account.
        var diemMicro: Int64 = 0
        var transactions: [WalletTransaction] = []
        var usage: [UsageRecord] = []
    }

    struct PaymentRecord {
        enum Phase { case settling, settled(JSONValue, paymentResponse: String), failed }
        var phase: Phase
    }

    struct AudioJob {
        let id: String
        let model: String
        let account: String
        let requestId: String
        let createdAtMilliseconds: Int64
        let durationSeconds: Double
        let chargedMicro: Int64
        var gone = false
        let fails: Bool
    }

    public nonisolated let clock: any WallClock
    public private(set) var faults: FaultKnobs
    public private(set) var concurrencyLimit: Int
    public private(set) var audioProcessingMilliseconds: Int64
    let stakedWallets: Set<String>

    private var accounts: [String: Account] = [:]
    private var keysByID: [String: APIKeyRecord] = [:]
    private var keyIDBySecret: [String: String] = [:]
    private var payments: [String: PaymentRecord] = [:]
    private var pendingSettlements: [(dueMilliseconds: Int64, payment: VerifiedPayment)] = []
    private var audioJobs: [String: AudioJob] = [:]
    /// Queued videos (`/video/queue`), kept apart from music so neither route's retrieve finds the other's job.
    private var videoJobs: [String: AudioJob] = [:]
    private var requests: [RecordedRequest] = []
    private var siwxHeaders: [String] = []
    private var inFlight: [String: Int] = [:]
    private var peakInFlight: [String: Int] = [:]
    private var windows: [String: HitWindow] = [:]
    private var counter: UInt64 = 0
    private var generator: SeededGenerator
    nonisolated let secret: [UInt8]

    init(configuration: SimulatorConfiguration) {
        clock = configuration.clock
        faults = configuration.faults
        concurrencyLimit = configuration.concurrencyLimit
        audioProcessingMilliseconds = configuration.audioProcessingMilliseconds
        stakedWallets = Set(configuration.stakedWallets.map { $0.lowercased() })
        secret = SecureRandom.bytes(count: 32)
        generator = SeededGenerator(seed: UInt64(bitPattern: configuration.clock.nowMilliseconds()))
        var defaultAccount = Account()
        defaultAccount.usdMicro = Money.micro(usd: configuration.accountUSD) ?? 0
        accounts[Self.defaultAccount] = defaultAccount
        let now = configuration.clock.nowMilliseconds()
        for (address, usd) in configuration.funds {
            let key = address.lowercased()
            var account = accounts[key] ?? Account()
            // Validated by venice-sim's --fund; an out-of-range figure from code funds nothing.
            let micro = Money.micro(usd: usd) ?? 0
            account.usdMicro += micro
            account.transactions.append(WalletTransaction(id: UUID().uuidString.lowercased(), kind: .topUp, amountMicro: micro,
                                                          balanceAfterMicro: account.usdMicro, createdAtMilliseconds: now, requestId: nil, modelId: nil))
            accounts[key] = account
        }
        for (address, usd) in configuration.diemUSD {
            accounts[Self.userAccount(wallet: address), default: Account()].diemMicro += Money.micro(usd: usd) ?? 0
        }
        for (secret, type) in configuration.adminKeys.map({ ($0, APIKeyRecord.KeyType.admin) }) + configuration.inferenceKeys.map({ ($0, .inference) }) {
            let record = Self.makeKey(secret: secret, type: type, account: Self.defaultAccount, now: now)
            keysByID[record.id] = record
            keyIDBySecret[secret] = record.id
        }
    }

    // MARK: time

    /// Server time: the wall clock plus the clock-offset knob.
    public func nowMilliseconds() -> Int64 { clock.nowMilliseconds() + faults.clockOffsetSeconds * 1000 }

    // MARK: knobs (tests)

    public func setFaults(_ knobs: FaultKnobs) { faults = knobs }
    public func updateFaults(_ change: @Sendable (inout FaultKnobs) -> Void) { change(&faults) }
    public func setConcurrencyLimit(_ limit: Int) { concurrencyLimit = limit }
    public func setAudioProcessingMilliseconds(_ ms: Int64) { audioProcessingMilliseconds = ms }

    /// A number in 0..<1 from the simulator's own generator (fault draws).
    func draw() -> Double { Double(generator.next() % 1_000_000) / 1_000_000 }

    func nextID(_ prefix: String) -> String {
        counter += 1
        return prefix + String(format: "%08x", counter) + String(format: "%08x", UInt32(truncatingIfNeeded: generator.next()))
    }

    // MARK: balances (tests and routes)

    /// Credits a wallet (a TOP_UP row), as a settled top-up would.
    public func fund(wallet: String, usd: Double) { credit(account: wallet.lowercased(), micro: Money.micro(usd: usd) ?? 0) }

    public func balanceUSD(wallet: String) -> Double {
        applyDueSettlements()
        return Money.usd(accounts[wallet.lowercased()]?.usdMicro ?? 0)
    }

    /// Sets the DIEM (in USD) of the Venice account linked to `wallet` (tests).
    public func setDIEM(wallet: String, usd: Double) {
        accounts[Self.userAccount(wallet: wallet), default: Account()].diemMicro = Money.micro(usd: usd) ?? 0
    }

    /// DIEM left on the Venice account linked to `wallet`, in USD.
    public func diemUSD(wallet: String) -> Double { Money.usd(diemMicro(account: Self.userAccount(wallet: wallet))) }

    /// Credits USD to the Venice account linked to `wallet` (a dashboard purchase; no x402 row).
    public func fundUserAccount(wallet: String, usd: Double) {
        accounts[Self.userAccount(wallet: wallet), default: Account()].usdMicro += Money.micro(usd: usd) ?? 0
    }

    func diemMicro(account: String) -> Int64 { accounts[account]?.diemMicro ?? 0 }

    /// What a caller can spend: a wallet its linked account's DIEM plus its x402 credit; a key its account's DIEM and USD.
    func spendableMicro(_ caller: Caller) -> Int64 {
        switch caller {
        case .wallet(let address): diemMicro(account: Self.userAccount(wallet: address)) + balanceMicro(account: address)
        case .key(let record): diemMicro(account: record.account) + balanceMicro(account: record.account)
        }
    }

    public func balanceMicro(account: String) -> Int64 {
        applyDueSettlements()
        return accounts[account.lowercased()]?.usdMicro ?? accounts[account]?.usdMicro ?? 0
    }

    public func transactions(wallet: String) -> [WalletTransaction] {
        applyDueSettlements()
        return accounts[wallet.lowercased()]?.transactions ?? []
    }
    public func usage(account: String = SimulatorState.defaultAccount) -> [UsageRecord] { accounts[account]?.usage ?? [] }
    /// Every charge the simulator made, all accounts, oldest first.
    public func allUsage() -> [UsageRecord] { accounts.values.flatMap(\.usage).sorted { $0.timestampMilliseconds < $1.timestampMilliseconds } }

    @discardableResult
    func credit(account: String, micro: Int64) -> Int64 {
        let now = nowMilliseconds()
        return updateAccount(account) { record in
            record.usdMicro += micro
            record.transactions.append(WalletTransaction(id: UUID().uuidString.lowercased(), kind: .topUp, amountMicro: micro,
                                                         balanceAfterMicro: record.usdMicro, createdAtMilliseconds: now,
                                                         requestId: nil, modelId: nil))
            return record.usdMicro
        }
    }

    /// Changes one account in place, creating it when missing. Copying an account out and back
    /// would copy its whole history on every charge: O(requests so far) for a busy wallet.
    private func updateAccount<R>(_ key: String, _ change: (inout Account) -> R) -> R {
        change(&accounts[key, default: Account()])
    }

    struct ChargeItem: Sendable {
        let modelId: String
        let micro: Int64
        let sku: String
        let units: Double
        let pricePerUnit: Double
        /// Token counts of an LLM request, for its usage row.
        var promptTokens: Int? = nil
        var completionTokens: Int? = nil
    }

    /// Debits after a served request. Never below 0: the last item collects what is left.
    /// DIEM goes first (veniceai/api-docs guides/integrations/x402-venice-api.mdx, "DIEM First";
    /// generating-api-key-agent.mdx, "Paying for inference": DIEM, then bundled credits, then USD): a wallet's signed-in
    /// request spends its linked account's DIEM, recorded as a DIEM usage row there and never as a CHARGE row in
    /// `/x402/transactions`, then its x402 credit; a key spends its account's DIEM, then its USD, never x402 credit.
    @discardableResult
    func charge(_ caller: Caller, requestId: String, items: [ChargeItem], executionMilliseconds: Int = 0) -> Int64 {
        let key = caller.account
        let diemKey: String = switch caller {
        case .wallet(let address): Self.userAccount(wallet: address)
        case .key(let record): record.account
        }
        let now = nowMilliseconds()
        var collected: Int64 = 0
        var usdItems: [ChargeItem] = []
        for item in items {
            let fromDIEM = min(max(item.micro, 0), accounts[diemKey]?.diemMicro ?? 0)
            let rest = ChargeItem(modelId: item.modelId, micro: max(item.micro, 0) - fromDIEM, sku: item.sku, units: item.units,
                              pricePerUnit: item.pricePerUnit, promptTokens: item.promptTokens, completionTokens: item.completionTokens)
            if fromDIEM > 0 {
                collected += fromDIEM
                updateAccount(diemKey) { diemAccount in
                    diemAccount.diemMicro -= fromDIEM
                    diemAccount.usage.append(UsageRecord(timestampMilliseconds: now, sku: item.sku, units: item.units, pricePerUnitUSD: item.pricePerUnit,
                                                         amountMicro: -fromDIEM, currency: "DIEM", notes: "API Inference", requestId: requestId,
                                                         apiKeyId: caller.apiKeyId, modelId: item.modelId, executionMilliseconds: executionMilliseconds,
                                                         promptTokens: item.promptTokens, completionTokens: item.completionTokens))
                }
            }
            if rest.micro > 0 || fromDIEM == 0 { usdItems.append(rest) }
        }
        updateAccount(key) { record in
            for item in usdItems {
                let take = min(max(item.micro, 0), record.usdMicro)
                record.usdMicro -= take
                collected += take
                record.transactions.append(WalletTransaction(id: UUID().uuidString.lowercased(), kind: .charge, amountMicro: -take,
                                                             balanceAfterMicro: record.usdMicro, createdAtMilliseconds: now,
                                                             requestId: requestId, modelId: item.modelId))
                record.usage.append(UsageRecord(timestampMilliseconds: now, sku: item.sku, units: item.units, pricePerUnitUSD: item.pricePerUnit,
                                                amountMicro: -take, currency: "USD", notes: "API Inference", requestId: requestId,
                                                apiKeyId: caller.apiKeyId, modelId: item.modelId, executionMilliseconds: executionMilliseconds,
                                                promptTokens: item.promptTokens, completionTokens: item.completionTokens))
            }
        }
        return collected
    }

    /// One REFUND row returning the sum of a request's charges; DIEM it spent goes back to the account it came from.
    func refund(account: String, requestId: String) {
        let now = nowMilliseconds()
        for diemKey in Set([account, Self.userAccount(wallet: account)]) {
            guard let usage = accounts[diemKey]?.usage else { continue }
            let spent = -usage.filter { $0.currency == "DIEM" && $0.requestId == requestId }.reduce(0) { $0 + $1.amountMicro }
            let modelId = usage.last { $0.requestId == requestId }?.modelId ?? ""
            guard spent > 0 else { continue }
            updateAccount(diemKey) { owner in
                owner.diemMicro += spent
                owner.usage.append(UsageRecord(timestampMilliseconds: now, sku: "refund", units: 0, pricePerUnitUSD: 0,
                                               amountMicro: spent, currency: "DIEM", notes: "Refund", requestId: requestId, apiKeyId: nil,
                                               modelId: modelId, executionMilliseconds: 0))
            }
        }
        guard let transactions = accounts[account]?.transactions else { return }
        let charges = transactions.filter { $0.kind == .charge && $0.requestId == requestId }
        let sum = -charges.reduce(0) { $0 + $1.amountMicro }
        guard sum > 0 else { return }
        updateAccount(account) { record in
            record.usdMicro += sum
            record.transactions.append(WalletTransaction(id: UUID().uuidString.lowercased(), kind: .refund, amountMicro: sum,
                                                         balanceAfterMicro: record.usdMicro, createdAtMilliseconds: now,
                                                         requestId: requestId, modelId: charges.count == 1 ? charges[0].modelId : nil))
        }
    }

    // MARK: API keys

    private static func makeKey(secret: String, type: APIKeyRecord.KeyType, account: String, now: Int64,
                                modelPrivacy: String = "ALL") -> APIKeyRecord {
        APIKeyRecord(id: UUID().uuidString.lowercased(), secret: secret, type: type, description: "Simulator key",
                     expiresAtMilliseconds: nil, expiresAtText: nil, limitUSD: nil, limitDIEM: nil,
                     limitPeriod: "EPOCH", modelPrivacy: modelPrivacy, account: account, createdAtMilliseconds: now)
    }

    /// Adds a Bearer key on the default account (or `account`); returns its record.
    @discardableResult
    public func addKey(secret: String, type: APIKeyRecord.KeyType, account: String = SimulatorState.defaultAccount,
                       modelPrivacy: String = "ALL", limitUSD: Double? = nil) -> APIKeyRecord {
        var record = Self.makeKey(secret: secret, type: type, account: account, now: nowMilliseconds(), modelPrivacy: modelPrivacy)
        record.limitUSD = limitUSD
        keysByID[record.id] = record
        keyIDBySecret[secret] = record.id
        return record
    }

    func mintKey(_ record: APIKeyRecord) { keysByID[record.id] = record; keyIDBySecret[record.secret] = record.id }

    /// The live key for a secret (nil if unknown, revoked or expired).
    func key(secret: String) -> APIKeyRecord? {
        guard let id = keyIDBySecret[secret], let record = keysByID[id], !record.revoked else { return nil }
        if let expiry = record.expiresAtMilliseconds, expiry <= nowMilliseconds() { return nil }
        return record
    }

    public func key(id: String) -> APIKeyRecord? {
        guard let record = keysByID[id], !record.revoked else { return nil }
        if let expiry = record.expiresAtMilliseconds, expiry <= nowMilliseconds() { return nil }
        return record
    }

    func revokeKey(id: String) -> Bool {
        guard key(id: id) != nil else { return false }
        keysByID[id]?.revoked = true
        return true
    }

    /// Live keys minted by `wallet` (they belong to its linked Venice account).
    public func liveKeys(wallet: String) -> [APIKeyRecord] { liveKeys(account: Self.userAccount(wallet: wallet)) }

    func liveKeys(account: String) -> [APIKeyRecord] {
        keysByID.values.filter { $0.account == account && key(id: $0.id) != nil }.sorted { $0.createdAtMilliseconds < $1.createdAtMilliseconds }
    }

    /// USD spent by a key in its current limit period.
    func periodUsageMicro(_ record: APIKeyRecord) -> Int64 {
        let now = nowMilliseconds()
        let start: Int64
        switch record.limitPeriod {
        case "LIFETIME": start = 0
        case "MONTH": start = TimeFormat.startOfMonthMilliseconds(now)
        default: start = now - now % 86_400_000
        }
        return -(accounts[record.account]?.usage.filter { $0.apiKeyId == record.id && $0.currency == "USD" && $0.timestampMilliseconds >= start }
            .reduce(0) { $0 + $1.amountMicro } ?? 0)
    }

    /// A `generate_web3_key` token carrying exactly `claims`, MAC'd with this simulator's secret (tests forge tokens
    /// whose issuer, audience or expiry is wrong but whose MAC is right).
    public nonisolated func signedWeb3Token(claims: JSONValue) -> String { Web3TokenIssuer(secret: secret).sign(claims: claims) }

    func isStaked(_ wallet: String) -> Bool { stakedWallets.contains(wallet.lowercased()) }

    // MARK: concurrency and rate windows

    func acquire(wallet: String) -> Bool {
        let current = inFlight[wallet, default: 0]
        guard current < concurrencyLimit else { return false }
        inFlight[wallet] = current + 1
        peakInFlight[wallet] = max(peakInFlight[wallet, default: 0], current + 1)
        return true
    }

    func release(wallet: String) {
        let current = inFlight[wallet, default: 0]
        inFlight[wallet] = current > 1 ? current - 1 : nil
    }

    /// Sliding-window limiter: true if one more hit fits `limit` per `windowMilliseconds`.
    func allow(_ key: String, limit: Int, windowMilliseconds: Int64 = 60_000) -> Bool {
        let now = clock.nowMilliseconds()
        return withWindow(key) { window in
            guard window.prune(keepingAfter: now - windowMilliseconds).count < limit else { return false }
            window.add(now)
            return true
        }
    }

    /// Hits in the window without adding one (error budget).
    func count(_ key: String, windowMilliseconds: Int64) -> (count: Int, resetsAt: Int64) {
        let now = clock.nowMilliseconds()
        let (count, oldest) = withWindow(key) { $0.prune(keepingAfter: now - windowMilliseconds) }
        return (count, (oldest ?? now) + windowMilliseconds)
    }

    func record(_ key: String) { windows[key, default: HitWindow()].add(clock.nowMilliseconds()) }

    /// Works on one key's window in place; an emptied window is forgotten, so keys made of
    /// caller-chosen text (a bucket names the model and `user`) do not pile up.
    private func withWindow<R>(_ key: String, _ body: (inout HitWindow) -> R) -> R {
        let result = body(&windows[key, default: HitWindow()])
        if windows[key]?.isEmpty == true { windows[key] = nil }
        return result
    }

    // MARK: payments

    enum SettlementStart { case begin, inProgress, done(JSONValue, paymentResponse: String) }

    func beginSettlement(_ paymentId: String) -> SettlementStart {
        applyDueSettlements()
        switch payments[paymentId]?.phase {
        case .settling: return .inProgress
        case .settled(let body, let header): return .done(body, paymentResponse: header)
        case .failed, nil:
            payments[paymentId] = PaymentRecord(phase: .settling)
            return .begin
        }
    }

    /// Credits a verified payment and records the answer; returns the 200 body and the `PAYMENT-RESPONSE` header.
    func settle(_ payment: VerifiedPayment) -> (JSONValue, String) {
        let newBalance = credit(account: payment.payer, micro: Int64(payment.amount))
        let body: JSONValue = ["success": true, "data": ["walletAddress": .string(payment.payer), "amountCredited": .usd(Int64(payment.amount)),
                                                         "newBalance": .usd(newBalance), "paymentId": .string(payment.paymentId)]]
        let header = DiscoveryBodies.base64(["success": true, "network": "eip155:8453", "payer": .string(payment.payerChecksummed),
                                             "transaction": .string(payment.transaction)])
        finishSettlement(payment.paymentId, body: body, paymentResponse: header)
        return (body, header)
    }

    /// A timed-out settlement that still lands `afterMilliseconds` later (simulator clock); until then it is "settling".
    func scheduleSettlement(_ payment: VerifiedPayment, afterMilliseconds: Int64) {
        pendingSettlements.append((clock.nowMilliseconds() + afterMilliseconds, payment))
    }

    /// Lands the scheduled settlements that are due (called before any balance or settlement read).
    private func applyDueSettlements() {
        let now = clock.nowMilliseconds()
        let due = pendingSettlements.filter { $0.dueMilliseconds <= now }
        guard !due.isEmpty else { return }
        pendingSettlements.removeAll { $0.dueMilliseconds <= now }
        for entry in due { _ = settle(entry.payment) }
    }

    func finishSettlement(_ paymentId: String, body: JSONValue?, paymentResponse: String = "") {
        if let body { payments[paymentId] = PaymentRecord(phase: .settled(body, paymentResponse: paymentResponse)) }
        else { payments[paymentId] = PaymentRecord(phase: .failed) }
    }

    // MARK: audio jobs

    func addAudioJob(_ job: AudioJob) { audioJobs[job.id] = job }
    func audioJob(_ id: String) -> AudioJob? { audioJobs[id] }
    func markAudioJobGone(_ id: String) { audioJobs[id]?.gone = true }

    // MARK: video jobs (an `AudioJob` record: id, model, owner, charge, length)

    func addVideoJob(_ job: AudioJob) { videoJobs[job.id] = job }
    func videoJob(_ id: String) -> AudioJob? { videoJobs[id] }
    func markVideoJobGone(_ id: String) { videoJobs[id]?.gone = true }

    // MARK: recordings

    func record(_ request: RecordedRequest) {
        requests.append(request)
        if requests.count > 2_000 { requests.removeFirst(requests.count - 2_000) }
        if let value = request.header("sign-in-with-x") ?? request.header("x-sign-in-with-x") {
            siwxHeaders.append(value)
            if siwxHeaders.count > 2_000 { siwxHeaders.removeFirst() }
        }
    }

    /// Requests as received, oldest first (last 2,000).
    public func recordedRequests() -> [RecordedRequest] { requests }
    /// SIWX header values seen (either name), oldest first.
    public func siwxHeadersSeen() -> [String] { siwxHeaders }
    /// Clears recorded requests, SIWX headers and the in-flight peaks.
    public func clearRecordings() { requests.removeAll(); siwxHeaders.removeAll(); peakInFlight.removeAll() }

    /// Most SIWX requests of `wallet` in flight at once since start (or `clearRecordings()`).
    public func peakInFlight(wallet: String) -> Int { peakInFlight[wallet.lowercased(), default: 0] }

    /// Wallet requests in flight now.
    /// Payments currently settling (tests wait for one before resubmitting it).
    public func settlingPayments() -> Int {
        payments.values.filter { if case .settling = $0.phase { true } else { false } }.count
    }

    public func inFlight(wallet: String) -> Int { inFlight[wallet.lowercased(), default: 0] }

    /// Uses one `web3VerifyFailures` refusal, if any are left.
    func takeWeb3VerifyFailure() -> Bool {
        guard faults.web3VerifyFailures > 0 else { return false }
        faults.web3VerifyFailures -= 1
        return true
    }

    /// Uses one `web3ExpiredTokens` token, if any are left.
    func takeExpiredWeb3Token() -> Bool {
        guard faults.web3ExpiredTokens > 0 else { return false }
        faults.web3ExpiredTokens -= 1
        return true
    }

    /// Takes the next scripted status, if any.
    func nextScriptedStatus() -> Int? {
        guard !faults.scriptedStatuses.isEmpty else { return nil }
        return faults.scriptedStatuses.removeFirst()
    }
}
