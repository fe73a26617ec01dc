import Foundation
import GRDB
import Logging
import X402Protocol

/// One row per forwarded request: who, what, the estimate held against the budget, and
/// (after reconciliation) what Venice actually charged.
struct RequestLedger: Sendable {
    let ledger: AgentLedger
    /// Pauses between attempts of a write that must not be lost (the row would otherwise keep
    /// holding its estimate against the client's budget: failing closed, but wrongly).
    var retryDelays: [Duration] = [.milliseconds(20), .milliseconds(100), .milliseconds(500)]

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
        case admitted
        case overRequest(limit: Int64)
        case overDaily(limit: Int64, spent: Int64)
    }

    /// Checks the budget and records the request in one transaction, so parallel requests
    /// cannot together exceed the daily limit.
    func admit(_ start: Start, policy: ClientPolicy, dayStart: Int64) async throws -> Admission {
        if let limit = policy.maxRequestMicro, start.estimateMicro > limit { return .overRequest(limit: limit) }
        return try await ledger.writer.write { db in
            if let limit = policy.dailyMicro {
                let spent = try Self.spent(db, client: start.client, since: dayStart)
                guard let total = Money.sum(spent, start.estimateMicro), total <= limit else { return .overDaily(limit: limit, spent: spent) }
            }
            try db.execute(sql: """
                INSERT INTO requests (id, client, uid, pid, method, route, model, estimate_micro, bytes_in, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [start.id, start.client, Int64(start.uid), Int64(start.pid), start.method, start.route, start.model,
                                 start.estimateMicro, start.bytesIn, AgentLedger.nowMilliseconds()])
            return .admitted
        }
    }

    /// Spend of a client since `since`: the actual charge once known, else the estimate for
    /// requests still in flight or successful (a hold), nothing for failures.
    static func spent(_ db: Database, client: String, since: Int64) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT COALESCE(SUM(CASE WHEN charged_micro IS NOT NULL THEN charged_micro
                                     WHEN status IS NULL OR status < 400 THEN estimate_micro ELSE 0 END), 0)
            FROM requests WHERE client = ? AND started_at >= ?
            """, arguments: [client, since]) ?? 0
    }

    func spentToday(client: String, dayStart: Int64) async throws -> Int64 {
        try await ledger.writer.read { db in try Self.spent(db, client: client, since: dayStart) }
    }

    func setModel(id: String, model: String) async {
        await persist("set the model of \(id)") { db in
            try db.execute(sql: "UPDATE requests SET model = COALESCE(model, ?) WHERE id = ?", arguments: [model, id])
        }
    }

    func finish(id: String, status: Int, bytesOut: Int, upstreamRequestID: String?) async {
        await persist("finish \(id)") { db in
            try db.execute(sql: """
                UPDATE requests SET status = ?, bytes_out = ?, upstream_request_id = COALESCE(?, upstream_request_id), finished_at = ? WHERE id = ?
                """, arguments: [status, bytesOut, upstreamRequestID, AgentLedger.nowMilliseconds(), id])
        }
    }

    /// A write retried with backoff; a final failure is logged, never swallowed.
    private func persist(_ what: String, _ write: @escaping @Sendable (Database) throws -> Void) async {
        var lastError: (any Error)?
        for delay in [Duration.zero] + retryDelays {
            if delay > .zero { try? await Task.sleep(for: delay) }
            do {
                try await ledger.writer.write { db in try write(db) }
                return
            } catch {
                lastError = error
            }
        }
        ledger.logger.error("a request ledger row could not be written; its estimate stays held against the client's budget",
                            metadata: ["write": "\(what)", "error": "\(lastError.map { String(describing: $0) } ?? "-")"])
    }

    struct SpendRow: Sendable {
        let key: String
        let requests: Int
        let estimateMicro: Int64
        let chargedMicro: Int64
    }

    /// Sums the ledger since `since`, grouped by client, model, route or UTC day; only `client`'s
    /// rows when one is given (a client sees only its own spending).
    func spend(since: Int64, by: String, client: String? = nil) async throws -> [SpendRow] {
        let key: String
        switch by {
        case "client": key = "client"
        case "model": key = "COALESCE(model, '-')"
        case "route": key = "route"
        case "day": key = "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')"
        default: throw AgentError.badRequest("by must be one of client, model, route, day")
        }
        return try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(key) AS k, COUNT(*) AS n, COALESCE(SUM(estimate_micro), 0) AS est,
                       COALESCE(SUM(CASE WHEN charged_micro IS NOT NULL THEN charged_micro
                                         WHEN status IS NULL OR status < 400 THEN estimate_micro ELSE 0 END), 0) AS charged
                FROM requests WHERE started_at >= ? AND (? IS NULL OR client = ?) GROUP BY k ORDER BY k
                """, arguments: [since, client, client]).map {
                SpendRow(key: $0["k"], requests: $0["n"], estimateMicro: $0["est"], chargedMicro: $0["charged"])
            }
        }
    }
}
