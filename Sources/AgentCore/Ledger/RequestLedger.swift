import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import X402Protocol

/// One row per forwarded request — who, what, the estimate held against the budget, and
/// (after reconciliation) what Venice actually charged — kept off the request's path:
///
/// - **Admission is decided in memory.** `SpendBook` holds each client's spending for the
///   current UTC day (estimates of open and successful requests, charges once reconciled),
///   loaded from the table at start. Checking a limit and holding the estimate is one step
///   under one lock, so parallel requests cannot together pass a limit.
/// - **Rows are written behind**, in batches (one transaction per batch, `synchronous =
///   NORMAL`), by `run()`. A power cut or a crash may lose the last moments of rows — the
///   documented trade for a hop that costs microseconds. A batch that cannot be written is
///   kept and retried, and while the ledger cannot be written new requests are refused
///   (`isHealthy`): the agent fails closed rather than serving what it cannot record.
/// - **Reads flush first**, so a spend table never misses a request that was answered.
final class RequestLedger: Service, Sendable {
    let ledger: AgentLedger
    let book: SpendBook
    private let queue = Mutex(Queue())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    /// How long the writer waits for more rows before a batch is written.
    let batchDelay: Duration
    /// Rows kept while the database refuses them; beyond this, requests are refused.
    let maxPending: Int

    struct Queue {
        var writes: [Write] = []
        /// The last batch failed: rows wait and new requests are refused.
        var failing: (any Error)?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    enum Write: Sendable {
        case start(Start, startedAt: Int64)
        case model(id: String, model: String)
        case finish(id: String, status: Int, bytesOut: Int, upstreamRequestID: String?, finishedAt: Int64)
        /// The row's estimate replaced by the answer's usage cost (`settle`).
        case settle(id: String, estimateMicro: Int64)
    }

    struct Start: Sendable {
        let id: String
        let client: String
        let uid: UInt32
        let pid: Int32
        let method: String
        let route: String
        let model: String?
        let estimateMicro: Int64
        let bytesIn: Int
    }

    enum Admission: Sendable {
        /// Admitted; its estimate is held against `day` (and its month). `spentDay` and
        /// `spentMonth` include it.
        case admitted(day: Int64, spentDay: Int64, spentMonth: Int64)
        case overRequest(limit: Int64)
        case overDaily(limit: Int64, spent: Int64)
        case overMonthly(limit: Int64, spent: Int64)
        /// The ledger cannot be written: nothing is admitted until it can.
        case ledgerUnavailable(String)
    }

    init(ledger: AgentLedger, batchDelay: Duration = .milliseconds(5), maxPending: Int = 10_000) async throws {
        self.ledger = ledger
        self.batchDelay = batchDelay
        self.maxPending = maxPending
        let now = AgentLedger.nowMilliseconds()
        let today = Timestamp.utcMidnight(now)
        let month = Timestamp.utcMonthStart(now)
        func spent(since start: Int64) async throws -> [String: Int64] {
            let rows = try await ledger.writer.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT client, \(Self.spentExpression) AS spent FROM requests WHERE started_at >= ? GROUP BY client
                    """, arguments: [start]).map { (client: $0["client"] as String, micro: $0["spent"] as Int64) }
            }
            return Dictionary(rows.map { ($0.client, $0.micro) }, uniquingKeysWith: +)
        }
        book = SpendBook(day: today, spent: try await spent(since: today), month: month, monthSpent: try await spent(since: month))
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: the request's path (no database)

    /// Checks the caller's limits and holds the estimate (in memory, atomically), and queues
    /// the row. Refused while the ledger cannot be written.
    func admit(_ start: Start, policy: ClientPolicy) -> Admission {
        let now = AgentLedger.nowMilliseconds()
        if let failing = queue.withLock({ q in q.failing != nil || q.writes.count >= maxPending ? q.failing ?? LedgerBacklog() : nil }) {
            return .ledgerUnavailable(String(describing: failing))
        }
        if let limit = policy.maxRequestMicro, start.estimateMicro > limit { return .overRequest(limit: limit) }
        switch book.hold(start.estimateMicro, client: start.client, dailyLimit: policy.dailyMicro, monthlyLimit: policy.monthlyMicro, now: now) {
        case .held(let day, let spentDay, let spentMonth):
            enqueue(.start(start, startedAt: now))
            return .admitted(day: day, spentDay: spentDay, spentMonth: spentMonth)
        case .overDaily(let limit, let spent):
            return .overDaily(limit: limit, spent: spent)
        case .overMonthly(let limit, let spent):
            return .overMonthly(limit: limit, spent: spent)
        }
    }

    func setModel(id: String, model: String) { enqueue(.model(id: id, model: model)) }

    /// The status of a row whose request may have reached Venice but whose answer never reached
    /// its client (the connection broke after sending, the client went away): Venice may charge
    /// it, so its estimate stays held until reconciliation finds the charge, and a charge may be
    /// attributed to it. A client cannot spend past its budget by hanging up early.
    static let outcomeUnknown = 599

    /// Finishes a row; a failed request's hold is released, unless it may have been charged.
    func finish(id: String, client: String, day: Int64, estimateMicro: Int64, status: Int, bytesOut: Int, upstreamRequestID: String?) {
        if status >= 400, status != Self.outcomeUnknown { book.release(estimateMicro, client: client, day: day) }
        enqueue(.finish(id: id, status: status, bytesOut: bytesOut, upstreamRequestID: upstreamRequestID, finishedAt: AgentLedger.nowMilliseconds()))
    }

    /// Replaces an open row's held estimate (`fromMicro`) by what its answer says it used
    /// (`toMicro`), before the row is finished: the day's spending moves by the difference and the
    /// row's `estimate_micro` becomes the settled amount, so the reconciler's later `charge −
    /// estimate` counts from it (the row cannot be matched to a charge before it is finished, and
    /// this write is queued before the finish).
    func settle(id: String, client: String, day: Int64, fromMicro: Int64, toMicro: Int64) {
        book.adjust(Money.sum(toMicro, -fromMicro) ?? 0, client: client, day: day)
        enqueue(.settle(id: id, estimateMicro: toMicro))
    }

    private func enqueue(_ write: Write) {
        queue.withLock { $0.writes.append(write) }
        wake.yield()
    }

    // MARK: the writer

    func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakes {
                try? await Task.sleep(for: batchDelay)
                try? await flush()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        try? await flush()
    }

    /// Writes every queued row now (one transaction). Readers call it first.
    func flush() async throws {
        let batch = queue.withLock { q -> [Write] in
            defer { q.writes = [] }
            return q.writes
        }
        guard !batch.isEmpty else {
            if let failing = queue.withLock({ $0.failing }) { throw failing }
            return
        }
        do {
            try await ledger.writer.write { db in try Self.apply(batch, db) }
            queue.withLock { $0.failing = nil }
        } catch {
            // Nothing is lost: the batch goes back in front, in order, and is retried.
            queue.withLock { q in
                q.writes = batch + q.writes
                q.failing = error
            }
            ledger.logger.error("request rows could not be written; new requests are refused until they can", metadata: ["error": "\(error)"])
            Task { [wake, batchDelay] in
                try? await Task.sleep(for: max(batchDelay, .milliseconds(200)))
                wake.yield()
            }
            throw error
        }
    }

    static func apply(_ batch: [Write], _ db: Database) throws {
        for write in batch {
            switch write {
            case .start(let start, let startedAt):
                try db.cachedStatement(sql: """
                    INSERT INTO requests (id, client, uid, pid, method, route, model, estimate_micro, bytes_in, started_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [start.id, start.client, Int64(start.uid), Int64(start.pid), start.method, start.route,
                                             start.model, start.estimateMicro, start.bytesIn, startedAt])
            case .model(let id, let model):
                try db.cachedStatement(sql: "UPDATE requests SET model = COALESCE(model, ?) WHERE id = ?").execute(arguments: [model, id])
            case .finish(let id, let status, let bytesOut, let upstreamRequestID, let finishedAt):
                try db.cachedStatement(sql: """
                    UPDATE requests SET status = ?, bytes_out = ?, upstream_request_id = COALESCE(?, upstream_request_id), finished_at = ? WHERE id = ?
                    """).execute(arguments: [status, bytesOut, upstreamRequestID, finishedAt, id])
            case .settle(let id, let estimateMicro):
                try db.cachedStatement(sql: "UPDATE requests SET estimate_micro = ? WHERE id = ?").execute(arguments: [estimateMicro, id])
            }
        }
    }

    // MARK: reads (flush first)

    /// What one row counts as spent: Venice's charge once reconciled; until then its estimate,
    /// while it is open, succeeded, or may have been charged (`outcomeUnknown`); nothing for a
    /// request that failed without reaching Venice.
    static let rowSpending = """
        CASE WHEN charged_micro IS NOT NULL THEN charged_micro
             WHEN status IS NULL OR status < 400 OR status = \(outcomeUnknown) THEN estimate_micro ELSE 0 END
        """

    /// Rows whose request may be charged by Venice: answered, or with an unknown outcome.
    static let mayBeCharged = "(r.status < 400 OR r.status = \(outcomeUnknown))"

    /// The rows' spending summed (0 for none).
    static let spentExpression = "COALESCE(SUM(\(rowSpending)), 0)"

    func spentToday(client: String) -> Int64 { book.spent(client: client, now: AgentLedger.nowMilliseconds()) }
    func spentThisMonth(client: String) -> Int64 { book.spentThisMonth(client: client, now: AgentLedger.nowMilliseconds()) }

    struct SpendRow: Sendable {
        let key: String
        let requests: Int
        let estimateMicro: Int64
        let chargedMicro: Int64
    }

    /// The SQL expression of each grouping the spend tables offer.
    static func groupingExpression(_ name: String) -> String? {
        switch name {
        case "client": "client"
        case "model": "COALESCE(model, '-')"
        case "route": "route"
        case "day": "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')"
        default: nil
        }
    }

    /// Sums the ledger since `since`, grouped by client, model, route or UTC day; only `client`'s
    /// rows when one is given (a client sees only its own spending).
    func spend(since: Int64, by: String, client: String? = nil) async throws -> [SpendRow] {
        guard let key = Self.groupingExpression(by) else { throw AgentError.badRequest("by must be one of client, model, route, day") }
        return try await grouped(since: since, keys: [key], client: client).map {
            SpendRow(key: $0.keys[0], requests: $0.requests, estimateMicro: $0.estimateMicro, chargedMicro: $0.chargedMicro)
        }
    }

    /// Spending per UTC day and, within each day, per client or model (`spend --chart`).
    struct StackedRow: Sendable {
        let day: String
        let key: String
        let requests: Int
        let estimateMicro: Int64
        let chargedMicro: Int64
    }

    func spendPerDay(since: Int64, stack: String, client: String? = nil) async throws -> [StackedRow] {
        guard stack == "client" || stack == "model", let key = Self.groupingExpression(stack), let day = Self.groupingExpression("day") else {
            throw AgentError.badRequest("stack must be client or model")
        }
        return try await grouped(since: since, keys: [day, key], client: client).map {
            StackedRow(day: $0.keys[0], key: $0.keys[1], requests: $0.requests, estimateMicro: $0.estimateMicro, chargedMicro: $0.chargedMicro)
        }
    }

    /// Requests, estimates and spending since `since`, grouped by the SQL expressions `keys`.
    private func grouped(since: Int64, keys: [String], client: String?) async throws
        -> [(keys: [String], requests: Int, estimateMicro: Int64, chargedMicro: Int64)] {
        let columns = keys.enumerated().map { "\($0.element) AS k\($0.offset)" }.joined(separator: ", ")
        let groups = keys.indices.map { "k\($0)" }.joined(separator: ", ")
        try await flush()
        return try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(columns), COUNT(*) AS n, COALESCE(SUM(estimate_micro), 0) AS est, \(Self.spentExpression) AS charged
                FROM requests WHERE started_at >= ? AND (? IS NULL OR client = ?) GROUP BY \(groups) ORDER BY \(groups)
                """, arguments: [since, client, client]).map { row in
                (keys: keys.indices.map { (row["k\($0)"] as String?) ?? "-" }, requests: row["n"], estimateMicro: row["est"], chargedMicro: row["charged"])
            }
        }
    }

    /// One request's row as the owner sees it (`GET /agent/v1/requests/:id`).
    struct RequestRow: Sendable {
        let id: String
        let client: String
        let method: String
        let route: String
        let model: String?
        let status: Int?
        let estimateMicro: Int64
        /// What Venice charged, once reconciled (nil until then).
        let chargedMicro: Int64?
        let upstreamRequestID: String?
        let startedAt: Int64
        let finishedAt: Int64?
    }

    static let rowColumns = "id, client, method, route, model, status, estimate_micro, charged_micro, upstream_request_id, started_at, finished_at"

    static func requestRow(_ row: Row) -> RequestRow {
        RequestRow(id: row["id"], client: row["client"], method: row["method"], route: row["route"], model: row["model"],
                   status: row["status"], estimateMicro: row["estimate_micro"], chargedMicro: row["charged_micro"],
                   upstreamRequestID: row["upstream_request_id"], startedAt: row["started_at"], finishedAt: row["finished_at"])
    }

    /// The row of request `id` (the `X-Agent-Request-Id` it was answered with), nil when unknown.
    func row(id: String) async throws -> RequestRow? {
        try await flush()
        return try await ledger.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.rowColumns) FROM requests WHERE id = ?", arguments: [id]).map(Self.requestRow)
        }
    }

    /// The requests started since `since` (Unix ms), newest first, at most `limit`.
    func recent(since: Int64, limit: Int) async throws -> [RequestRow] {
        try await flush()
        return try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.rowColumns) FROM requests WHERE started_at >= ? ORDER BY started_at DESC, id LIMIT ?",
                             arguments: [since, limit]).map(Self.requestRow)
        }
    }

    struct LedgerBacklog: Error, CustomStringConvertible {
        var description: String { "too many request rows are waiting to be written" }
    }
}

/// Each client's spending for the current UTC day, in memory: the estimates held by open and
/// successful requests, replaced by Venice's charges as they are reconciled. The authority for
/// admission; the table is the record.
final class SpendBook: Sendable {
    private struct State {
        var day: Int64
        var spent: [String: Int64]
        /// The current UTC month (its first midnight) and each client's spending in it.
        var month: Int64
        var monthSpent: [String: Int64]
    }

    enum Hold: Sendable {
        case held(day: Int64, spentDay: Int64, spentMonth: Int64)
        case overDaily(limit: Int64, spent: Int64)
        case overMonthly(limit: Int64, spent: Int64)
    }

    private let state: Mutex<State>

    init(day: Int64, spent: [String: Int64], month: Int64? = nil, monthSpent: [String: Int64]? = nil) {
        state = Mutex(State(day: day, spent: spent, month: month ?? Timestamp.utcMonthStart(day), monthSpent: monthSpent ?? spent))
    }

    /// Holds `micro` for `client` today and this month unless that passes `dailyLimit` or
    /// `monthlyLimit`.
    func hold(_ micro: Int64, client: String, dailyLimit: Int64?, monthlyLimit: Int64? = nil, now: Int64) -> Hold {
        state.withLock { s in
            Self.roll(&s, now: now)
            let spent = s.spent[client, default: 0]
            let monthSpent = s.monthSpent[client, default: 0]
            if let dailyLimit {
                guard let total = Money.sum(spent, micro), total <= dailyLimit else { return .overDaily(limit: dailyLimit, spent: spent) }
            }
            if let monthlyLimit {
                guard let total = Money.sum(monthSpent, micro), total <= monthlyLimit else {
                    return .overMonthly(limit: monthlyLimit, spent: monthSpent)
                }
            }
            let day = Money.sum(spent, micro) ?? Money.maxMicro
            let month = Money.sum(monthSpent, micro) ?? Money.maxMicro
            s.spent[client] = day
            s.monthSpent[client] = month
            return .held(day: s.day, spentDay: day, spentMonth: month)
        }
    }

    /// Gives back a hold made on `day` (nothing when that day is over).
    func release(_ micro: Int64, client: String, day: Int64) { adjust(-micro, client: client, day: day) }

    /// Adds `delta` (a charge minus its estimate, say) to `client`'s spending of `day`, and of
    /// its month while that month is the current one.
    func adjust(_ delta: Int64, client: String, day: Int64) {
        state.withLock { s in
            if s.day == day { s.spent[client] = max(0, Money.sum(s.spent[client, default: 0], delta) ?? 0) }
            if s.month == Timestamp.utcMonthStart(day) {
                s.monthSpent[client] = max(0, Money.sum(s.monthSpent[client, default: 0], delta) ?? 0)
            }
        }
    }

    func spentThisMonth(client: String, now: Int64) -> Int64 {
        state.withLock { s in
            Self.roll(&s, now: now)
            return s.monthSpent[client, default: 0]
        }
    }

    func spent(client: String, now: Int64) -> Int64 {
        state.withLock { s in
            Self.roll(&s, now: now)
            return s.spent[client, default: 0]
        }
    }

    private static func roll(_ s: inout State, now: Int64) {
        let today = Timestamp.utcMidnight(now)
        if today > s.day {
            s.day = today
            s.spent = [:]
        }
        let month = Timestamp.utcMonthStart(now)
        if month > s.month {
            s.month = month
            s.monthSpent = [:]
        }
    }
}
