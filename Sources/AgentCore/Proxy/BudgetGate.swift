import Synchronization
import VeniceClient
import X402Protocol

/// Checks a request against its client's policy and holds its estimate against the budget in
/// the ledger, before anything is signed: the rate per minute, the model, the price (a caller
/// with spending limits is refused what cannot be priced), parallel requests, then the daily
/// and monthly budgets. Each check and its count are one step under one lock, so parallel
/// requests cannot together pass a limit. Past the policy's soft limit the hold carries a
/// warning for the answer's `X-Agent-Budget-Warning`, audited once per period.
struct BudgetGate: Sendable {
    let prices: PriceBook
    let requests: RequestLedger
    let ledger: AgentLedger
    let metrics: AgentMetrics
    var limiter = ClientLimiter()

    /// The ledger row of an admitted request (nil for public routes, which are not ledgered).
    func admit(route: VeniceRoute, body: ProxyBody, caller: Caller, requestID: String, method: String) async throws(AgentError) -> LedgerHold? {
        let policy = caller.policy
        if case .perMinute(let limit, let seconds)? = limiter.admitRate(client: policy.name, limit: policy.requestsPerMinute,
                                                                         now: limiter.nowMilliseconds()) {
            throw .rateLimited(client: policy.name, limit: .perMinute, value: limit, retryAfterSeconds: seconds)
        }
        let (price, model) = try await prices.estimate(route: route, body: body.json, form: body.form)
        if route.isCharged, let allowed = policy.models, !(model.map(allowed.allows) ?? false) {
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template): model \(model ?? "none") not allowed")
            throw .modelNotAllowed(client: policy.name, model: model, allowed: allowed.description)
        }
        if route.isCharged && policy.hasSpendingLimits, case .unbounded(let reason) = price {
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template): price unknown (\(reason))")
            throw .priceUnknown(client: policy.name, reason: reason)
        }
        // Public routes (models, quotes) cost nothing and are not ledgered.
        guard route.auth != .none else { return nil }
        let started = ContinuousClock.now
        let estimate = price.heldMicro
        var release: (@Sendable () -> Void)?
        if let maxParallel = policy.maxParallel {
            if case .parallel(let limit)? = limiter.acquire(client: policy.name, limit: maxParallel) {
                throw .rateLimited(client: policy.name, limit: .parallel, value: limit, retryAfterSeconds: 1)
            }
            let limiter = self.limiter
            let name = policy.name
            release = { limiter.release(client: name) }
        }
        let start = RequestLedger.Start(id: requestID, client: policy.name, uid: caller.peer.uid, pid: caller.peer.pid, method: method,
                                        route: "/api/v1" + route.template, model: model, estimateMicro: estimate, bytesIn: body.declaredLength ?? 0)
        let admission = requests.admit(start, policy: policy)
        metrics.record(.ledger, .now - started)
        if case .admitted = admission {} else { release?() }
        switch admission {
        case .admitted(let day, let spentDay, let spentMonth):
            let warning = await softLimitWarning(policy, day: day, spentDay: spentDay, spentMonth: spentMonth)
            return LedgerHold(id: requestID, client: policy.name, day: day, estimateMicro: estimate, model: model, requests: requests,
                              warning: warning, onFinish: release)
        case .ledgerUnavailable(let why):
            throw .ledger("the request ledger cannot be written (\(why)), so nothing is sent until it can")
        case .overRequest(let limit):
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template) estimate \(Money.text(estimate)) > max_request \(Money.text(limit))")
            throw .budgetExceeded(client: policy.name, limit: .perRequest, limitMicro: limit, spentMicro: 0, estimateMicro: estimate)
        case .overDaily(let limit, let spent):
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template) spent \(Money.text(spent)) + \(Money.text(estimate)) > daily \(Money.text(limit))")
            throw .budgetExceeded(client: policy.name, limit: .daily, limitMicro: limit, spentMicro: spent, estimateMicro: estimate)
        case .overMonthly(let limit, let spent):
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template) spent \(Money.text(spent)) + \(Money.text(estimate)) > monthly \(Money.text(limit))")
            throw .budgetExceeded(client: policy.name, limit: .monthly, limitMicro: limit, spentMicro: spent, estimateMicro: estimate)
        }
    }

    /// "client app has used 85% of its $1.00 daily budget ($0.85)" once spending passes the
    /// policy's soft limit of a daily or monthly budget; the first time in a period it is audited.
    func softLimitWarning(_ policy: ClientPolicy, day: Int64, spentDay: Int64, spentMonth: Int64) async -> String? {
        guard let fraction = policy.softLimit else { return nil }
        var warnings: [String] = []
        for (period, limit, spent, key) in [("daily", policy.dailyMicro, spentDay, day), ("monthly", policy.monthlyMicro, spentMonth, Timestamp.utcMonthStart(day))] {
            guard let limit, limit > 0, Double(spent) > fraction * Double(limit) else { continue }
            let percent = Int((Double(spent) / Double(limit) * 100).rounded(.down))
            let text = "client \(policy.name) has used \(min(percent, 100))% of its $\(Money.text(limit, decimals: 2)) \(period) budget ($\(Money.text(spent, decimals: 4)) spent or held)"
            warnings.append(text)
            if limiter.firstWarning("\(policy.name)|\(period)|\(key)") { await ledger.audit(.budgetWarning, text) }
        }
        return warnings.isEmpty ? nil : warnings.joined(separator: "; ")
    }
}

/// A request's ledger row while it is open: its estimate is held against the budget until
/// the row is finished with the answer's status. Finished exactly once — explicitly, or, on
/// any path that forgot (a client gone before its answer was written), when released.
final class LedgerHold: Sendable {
    let id: String
    let client: String
    /// The UTC day the estimate is held against.
    let day: Int64
    /// The estimate admitted with the request (`heldMicro` is what is held now).
    let estimateMicro: Int64
    /// Past the client's soft limit: the answer's `X-Agent-Budget-Warning`.
    let warning: String?
    private let requests: RequestLedger
    private let state: Mutex<(model: String?, finished: Bool, heldMicro: Int64)>
    /// Runs once when the row is finished (gives back a parallel slot).
    private let onFinish: (@Sendable () -> Void)?

    init(id: String, client: String, day: Int64, estimateMicro: Int64, model: String?, requests: RequestLedger,
         warning: String? = nil, onFinish: (@Sendable () -> Void)? = nil) {
        self.id = id
        self.client = client
        self.day = day
        self.estimateMicro = estimateMicro
        self.requests = requests
        self.warning = warning
        self.onFinish = onFinish
        self.state = Mutex((model, false, estimateMicro))
    }

    var model: String? { state.withLock { $0.model } }

    /// The amount held against the budget now: the estimate, or the answer's usage cost once settled.
    var heldMicro: Int64 { state.withLock { $0.heldMicro } }

    /// Replaces the held amount by `micro` (the answer's usage cost) while the row is open;
    /// returns the amount it replaced, nil when the row is already finished. Under the hold's
    /// lock, so a concurrent `finish` sees either the old amount or the settled one, never both.
    @discardableResult
    func settle(micro: Int64) -> Int64? {
        state.withLock { s -> Int64? in
            guard !s.finished else { return nil }
            let previous = s.heldMicro
            s.heldMicro = micro
            requests.settle(id: id, client: client, day: day, fromMicro: previous, toMicro: micro)
            return previous
        }
    }

    func setModel(_ model: String) {
        state.withLock { $0.model = $0.model ?? model }
        requests.setModel(id: id, model: model)
    }

    func finish(status: Int, bytesOut: Int = 0, upstreamRequestID: String? = nil) {
        guard let held = claim() else { return }
        onFinish?()
        requests.finish(id: id, client: client, day: day, estimateMicro: held, status: status, bytesOut: bytesOut,
                        upstreamRequestID: upstreamRequestID)
    }

    /// The amount held, when this call is the one that finishes the row.
    private func claim() -> Int64? {
        state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            return s.heldMicro
        }
    }

    deinit {
        if let held = claim() {
            onFinish?()
            requests.finish(id: id, client: client, day: day, estimateMicro: held, status: 599, bytesOut: 0, upstreamRequestID: nil)
        }
    }
}
