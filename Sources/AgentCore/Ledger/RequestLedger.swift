import Foundation
import GRDB

/// One row per forwarded request: who, what, the estimate held against the budget, and
/// (after reconciliation) what Venice actually charged.
struct RequestLedger: Sendable {
    let ledger: AgentLedger

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
    func admit(_ start: Start, policy: ClientPolicy, dayStart: Int64) throws -> Admission {
        if let limit = policy.maxRequestMicro, start.estimateMicro > limit { return .overRequest(limit: limit) }
        return try ledger.writer.write { db in
            if let limit = policy.dailyMicro {
                let spent = try Self.spent(db, client: start.client, since: dayStart)
                if spent + start.estimateMicro > limit { return .overDaily(limit: limit, spent: spent) }
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

    func spentToday(client: String, dayStart: Int64) -> Int64 {
        (try? ledger.writer.read { db in try Self.spent(db, client: client, since: dayStart) }) ?? 0
    }

    func finish(id: String, status: Int, bytesOut: Int, upstreamRequestID: String?) {
        _ = try? ledger.writer.write { db in
            try db.execute(sql: """
                UPDATE requests SET status = ?, bytes_out = ?, upstream_request_id = COALESCE(?, upstream_request_id), finished_at = ? WHERE id = ?
                """, arguments: [status, bytesOut, upstreamRequestID, AgentLedger.nowMilliseconds(), id])
        }
    }

    struct SpendRow: Sendable {
        let key: String
        let requests: Int
        let estimateMicro: Int64
        let chargedMicro: Int64
    }

    /// Sums the ledger since `since`, grouped by client, model, route or UTC day.
    func spend(since: Int64, by: String) throws -> [SpendRow] {
        let key: String
        switch by {
        case "client": key = "client"
        case "model": key = "COALESCE(model, '-')"
        case "route": key = "route"
        case "day": key = "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')"
        default: throw AgentError.badRequest("by must be one of client, model, route, day")
        }
        return try ledger.writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(key) AS k, COUNT(*) AS n, COALESCE(SUM(estimate_micro), 0) AS est,
                       COALESCE(SUM(CASE WHEN charged_micro IS NOT NULL THEN charged_micro
                                         WHEN status IS NULL OR status < 400 THEN estimate_micro ELSE 0 END), 0) AS charged
                FROM requests WHERE started_at >= ? GROUP BY k ORDER BY k
                """, arguments: [since]).map {
                SpendRow(key: $0["k"], requests: $0["n"], estimateMicro: $0["est"], chargedMicro: $0["charged"])
            }
        }
    }
}
