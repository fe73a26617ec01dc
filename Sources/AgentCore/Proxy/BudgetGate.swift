import Synchronization
import VeniceClient
import X402Protocol

/// Prices a request and holds its estimate against the caller's budget in the ledger, before
/// anything is signed. A caller with spending limits is refused what cannot be priced; the
/// budget check and the ledger row are one transaction, so parallel requests cannot together
/// pass a daily limit.
struct BudgetGate: Sendable {
    let prices: PriceBook
    let requests: RequestLedger
    let ledger: AgentLedger
    let metrics: AgentMetrics

    /// The ledger row of an admitted request (nil for public routes, which are not ledgered).
    func admit(route: VeniceRoute, body: ProxyBody, caller: Caller, requestID: String, method: String) async throws(AgentError) -> LedgerHold? {
        let policy = caller.policy
        let (price, model) = try await prices.estimate(route: route, body: body.json, form: body.form)
        if route.isCharged && policy.hasSpendingLimits, case .unbounded(let reason) = price {
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template): price unknown (\(reason))")
            throw .priceUnknown(client: policy.name, reason: reason)
        }
        // Public routes (models, quotes) cost nothing and are not ledgered.
        guard route.auth != .none else { return nil }
        let started = ContinuousClock.now
        let estimate = price.heldMicro
        let start = RequestLedger.Start(id: requestID, client: policy.name, uid: caller.peer.uid, pid: caller.peer.pid, method: method,
                                        route: "/api/v1" + route.template, model: model, estimateMicro: estimate, bytesIn: body.declaredLength ?? 0)
        let admission = requests.admit(start, policy: policy)
        metrics.record(.ledger, .now - started)
        switch admission {
        case .admitted(let day):
            return LedgerHold(id: requestID, client: policy.name, day: day, estimateMicro: estimate, model: model, requests: requests)
        case .ledgerUnavailable(let why):
            throw .ledger("the request ledger cannot be written (\(why)), so nothing is sent until it can")
        case .overRequest(let limit):
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template) estimate \(Money.text(estimate)) > max_request \(Money.text(limit))")
            throw .budgetExceeded(client: policy.name, limit: .perRequest, limitMicro: limit, spentMicro: 0, estimateMicro: estimate)
        case .overDaily(let limit, let spent):
            await ledger.audit(.budgetRefused, "\(policy.name) \(route.template) spent \(Money.text(spent)) + \(Money.text(estimate)) > daily \(Money.text(limit))")
            throw .budgetExceeded(client: policy.name, limit: .daily, limitMicro: limit, spentMicro: spent, estimateMicro: estimate)
        }
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
    private let requests: RequestLedger
    private let state: Mutex<(model: String?, finished: Bool, heldMicro: Int64)>

    init(id: String, client: String, day: Int64, estimateMicro: Int64, model: String?, requests: RequestLedger) {
        self.id = id
        self.client = client
        self.day = day
        self.estimateMicro = estimateMicro
        self.requests = requests
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
            requests.finish(id: id, client: client, day: day, estimateMicro: held, status: 599, bytesOut: 0, upstreamRequestID: nil)
        }
    }
}
