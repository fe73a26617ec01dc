import Foundation
import GRDB
import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization
import VeniceClient
import WalletCrypto
import X402Protocol

/// Reconciles what Venice actually charged with the agent's ledger, from the wallet's own
/// transaction list: CHARGE and REFUND rows are matched to requests by Venice's request id,
/// else by model and time. A charge no request explains (a leaked or replayed sign-in) is
/// flagged in the audit log and in `status`.
public final class ChargeReconciler: Service, Sendable {
    let ledger: AgentLedger
    let upstream: AgentUpstream
    let session: KeySession
    let logger: Logger
    let graceMilliseconds: Int64
    private let pokes: AsyncStream<Void>
    private let poke: AsyncStream<Void>.Continuation
    private let flagged = Atomic<Int>(0)

    init(ledger: AgentLedger, upstream: AgentUpstream, session: KeySession, logger: Logger, graceMilliseconds: Int64 = 60_000) {
        self.ledger = ledger
        self.upstream = upstream
        self.session = session
        self.logger = logger
        self.graceMilliseconds = graceMilliseconds
        (pokes, poke) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        flagged.store((try? ledger.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM upstream_transactions WHERE attributed_to = '!unexplained'")
        } ?? 0) ?? 0, ordering: .relaxed)
    }

    /// Charges nobody asked for, seen so far.
    public var unexplainedCharges: Int { flagged.load(ordering: .relaxed) }

    /// Asks for a reconciliation soon (coalesced).
    func requestFinished() async { poke.yield() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in pokes.cancelOnGracefulShutdown() {
                // Venice debits after the response is served: give it a moment, and look again
                // while recent successful requests still have no charge (for up to 30 s).
                try? await Task.sleep(for: .milliseconds(300))
                await reconcile()
                if awaitingCharges(now: AgentLedger.nowMilliseconds()) {
                    try? await Task.sleep(for: .seconds(1))
                    poke.yield()
                }
            }
        } onGracefulShutdown: {
            self.poke.finish()
        }
    }

    /// Recent successful, priced requests that no transaction explains yet.
    func awaitingCharges(now: Int64) -> Bool {
        let count = try? ledger.writer.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM requests r WHERE r.status < 400 AND r.estimate_micro > 0 AND r.finished_at > ?
                  AND NOT EXISTS (SELECT 1 FROM upstream_transactions t WHERE t.attributed_to = r.id)
                """, arguments: [now - 30_000])
        }
        return (count ?? 0) ?? 0 > 0
    }

    /// One pass: fetch recent transactions, store new ones, attribute, update charges.
    public func reconcile() async {
        guard session.isUnlocked else { return }
        let route = VeniceRoute(method: "GET", path: "/x402/transactions/\(session.address.lowercasedHex)",
                                template: "/x402/transactions/me", auth: .signIn, group: .wallet)
        guard let answer = try? await upstream.fetch(UpstreamRequest(route: route, query: "limit=100&offset=0", headers: HTTPHeaders(), body: .none)),
              answer.status == 200,
              let rows = (try? JSONValue(parsing: answer.body))?["data"]?["transactions"]?.arrayValue else { return }
        do {
            try apply(rows, now: AgentLedger.nowMilliseconds())
        } catch {
            logger.warning("charge reconciliation failed", metadata: ["error": "\(error)"])
        }
    }

    func apply(_ rows: [JSONValue], now: Int64) throws {
        // Rows come from upstream: one whose amount is not a sane dollar figure is logged and skipped.
        var accepted: [(row: JSONValue, id: String, type: String, micro: Int64)] = []
        for row in rows {
            guard let id = row["id"]?.stringValue, let type = row["type"]?.stringValue else { continue }
            guard let amount = row["amount"]?.doubleValue, let micro = Money.micro(usd: amount) else {
                logger.warning("skipped an upstream transaction whose amount is out of range",
                               metadata: ["transaction": "\(id.prefix(64))", "amount": "\(row["amount"]?.numberLiteral?.prefix(32) ?? "-")"])
                continue
            }
            accepted.append((row, id, type, micro))
        }
        let newlyFlagged: [String] = try ledger.writer.write { db in
            for (row, id, type, micro) in accepted {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO upstream_transactions (id, type, amount_micro, request_id, model_id, created_at, attributed_to)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, type, micro, row["requestId"]?.stringValue,
                                     row["modelId"]?.stringValue, row["createdAt"]?.stringValue ?? "",
                                     type == "TOP_UP" ? "topup" : nil])
            }
            // Exact matches on Venice's request id first; then, for rows left, model and time —
            // but never onto a request whose own Venice id is known (only that id may attach to it).
            let open = try Row.fetchAll(db, sql: "SELECT * FROM upstream_transactions WHERE attributed_to IS NULL ORDER BY created_at")
            var touched = Set<String>()
            var flagged: [String] = []
            var unmatched: [Row] = []
            for tx in open {
                let txID: String = tx["id"]
                if let requestId: String = tx["request_id"],
                   let match = try String.fetchOne(db, sql: "SELECT id FROM requests WHERE upstream_request_id = ? LIMIT 1", arguments: [requestId]) {
                    try db.execute(sql: "UPDATE upstream_transactions SET attributed_to = ? WHERE id = ?", arguments: [match, txID])
                    touched.insert(match)
                } else {
                    unmatched.append(tx)
                }
            }
            for tx in unmatched {
                let txID: String = tx["id"]
                let requestId: String? = tx["request_id"]
                let model: String? = tx["model_id"]
                let created = Timestamp.milliseconds(tx["created_at"]) ?? now
                var match: String?
                if let model, (tx["type"] as String) == "CHARGE" {
                    match = try String.fetchOne(db, sql: """
                        SELECT r.id FROM requests r WHERE r.model = ? AND r.status < 400 AND r.upstream_request_id IS NULL
                          AND r.started_at <= ? + 2000 AND COALESCE(r.finished_at, ?) >= ? - 15000
                          AND NOT EXISTS (SELECT 1 FROM upstream_transactions t WHERE t.attributed_to = r.id)
                        ORDER BY ABS(COALESCE(r.finished_at, r.started_at) - ?) LIMIT 1
                        """, arguments: [model, created, now, created, created])
                }
                if let match {
                    try db.execute(sql: "UPDATE upstream_transactions SET attributed_to = ? WHERE id = ?", arguments: [match, txID])
                    touched.insert(match)
                } else if (tx["type"] as String) == "CHARGE", now - created > graceMilliseconds {
                    try db.execute(sql: "UPDATE upstream_transactions SET attributed_to = '!unexplained' WHERE id = ?", arguments: [txID])
                    flagged.append("\(txID) \(tx["amount_micro"] as Int64) micro-USD model \(model ?? "-") request \(requestId ?? "-") at \(tx["created_at"] as String)")
                }
            }
            for request in touched {
                try db.execute(sql: """
                    UPDATE requests SET charged_micro = (SELECT -SUM(amount_micro) FROM upstream_transactions WHERE attributed_to = ?) WHERE id = ?
                    """, arguments: [request, request])
            }
            return flagged
        }
        for detail in newlyFlagged {
            ledger.audit("unexplained_charge", detail)
            logger.warning("a charge no request of this agent explains (leaked or replayed sign-in?)", metadata: ["transaction": "\(detail)"])
        }
        flagged.add(newlyFlagged.count, ordering: .relaxed)
    }

}
