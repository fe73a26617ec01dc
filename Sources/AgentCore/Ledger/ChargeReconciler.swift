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
    let requests: RequestLedger
    let venice: VeniceAPI
    let session: KeySession
    let logger: Logger
    let graceMilliseconds: Int64
    /// Venice's clock minus ours (from its `Date` headers): its `createdAt` times are converted
    /// to local time before they are compared with the ledger's.
    let upstreamClockOffset: @Sendable () -> Int64
    /// When to poll `/x402/transactions` (see `ReconcilePacer`).
    let pacer: ReconcilePacer
    /// Whether Venice is spending the linked account's DIEM (then no CHARGE rows come).
    let funding: WalletFunding
    private let pokes: AsyncStream<Void>
    private let poke: AsyncStream<Void>.Continuation
    private let flagged = Atomic<Int>(0)

    init(ledger: AgentLedger, requests: RequestLedger, venice: VeniceAPI, session: KeySession, logger: Logger, graceMilliseconds: Int64 = 60_000,
         upstreamClockOffset: @escaping @Sendable () -> Int64 = { 0 }, pacer: ReconcilePacer = ReconcilePacer(),
         funding: WalletFunding = WalletFunding()) async {
        self.pacer = pacer
        self.funding = funding
        self.upstreamClockOffset = upstreamClockOffset
        self.ledger = ledger
        self.requests = requests
        self.venice = venice
        self.session = session
        self.logger = logger
        self.graceMilliseconds = graceMilliseconds
        (pokes, poke) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        let count = try? await ledger.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM upstream_transactions WHERE attributed_to = '!unexplained'")
        }
        flagged.store((count ?? 0) ?? 0, ordering: .relaxed)
    }

    /// Charges nobody asked for, seen so far.
    public var unexplainedCharges: Int { flagged.load(ordering: .relaxed) }

    /// Asks for a reconciliation soon (coalesced).
    func requestFinished() async { poke.yield() }

    public func run() async throws {
        var pacer = pacer
        await withGracefulShutdownHandler {
            for await _ in pokes.cancelOnGracefulShutdown() {
                // While a fresh balance says Venice spends DIEM, finished requests bring no charges: a
                // poke (often one coalesced from a burst the last poll already covered) polls nothing,
                // except once a minute, which refreshes that reading (DIEM runs out; charges come).
                let now = AgentLedger.nowMilliseconds()
                if funding.spendsDIEM(now: now), !funding.isOlder(than: 60_000, now: now) { continue }
                // Venice debits after the response is served, and lists a wallet's transactions
                // 20 times a minute at most: poll within `pacer`'s budget while recent successful
                // requests still have no charge, less and less often while nothing new appears.
                repeat {
                    let delay = pacer.delayBeforePoll(now: .now)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                    if Task.isShuttingDownGracefully { return }
                    let stored = await reconcile()
                    pacer.polled(at: .now, foundNew: stored > 0)
                    // Nothing new while charges are awaited: maybe Venice is spending DIEM, which
                    // never shows here. The balance says so (read at most once a minute).
                    if stored == 0, funding.isOlder(than: 60_000, now: AgentLedger.nowMilliseconds()) { await readFunding() }
                } while await awaitingCharges(now: AgentLedger.nowMilliseconds())
            }
        } onGracefulShutdown: {
            self.poke.finish()
        }
    }

    /// Reads the wallet's balance for `funding`.
    func readFunding() async {
        guard session.isUnlocked, let data = try? await venice.balance() else { return }
        funding.record(data, now: AgentLedger.nowMilliseconds())
    }

    /// Recent successful, priced requests that no transaction explains yet (none are awaited
    /// while Venice spends DIEM).
    func awaitingCharges(now: Int64) async -> Bool {
        if funding.spendsDIEM(now: now) { return false }
        try? await requests.flush()
        let count = try? await ledger.writer.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM requests r WHERE \(RequestLedger.mayBeCharged) AND r.estimate_micro > 0 AND r.finished_at > ?
                  AND NOT EXISTS (SELECT 1 FROM upstream_transactions t WHERE t.attributed_to = r.id)
                """, arguments: [now - 30_000])
        }
        return (count ?? 0) ?? 0 > 0
    }

    /// One pass: fetch the newest page of transactions, store new ones, attribute, update
    /// charges. Returns how many rows were new.
    @discardableResult
    public func reconcile() async -> Int {
        guard session.isUnlocked, let rows = try? await venice.transactions(limit: 100, offset: 0) else { return 0 }
        do {
            return try await apply(rows, now: AgentLedger.nowMilliseconds())
        } catch {
            logger.warning("charge reconciliation failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    @discardableResult
    func apply(_ rows: [JSONValue], now: Int64) async throws -> Int {
        let offset = upstreamClockOffset()
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
        let toStore = accepted
        try await requests.flush()
        let (newlyFlagged, adjustments, stored): ([String], [(client: String, startedAt: Int64, delta: Int64)], Int) = try await ledger.writer.write { db in
            var stored = 0
            for (row, id, type, micro) in toStore {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO upstream_transactions (id, type, amount_micro, request_id, model_id, created_at, attributed_to)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, type, micro, row["requestId"]?.stringValue,
                                     row["modelId"]?.stringValue, row["createdAt"]?.stringValue ?? "",
                                     type == "TOP_UP" ? "topup" : nil])
                stored += db.changesCount
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
                let created = (Timestamp.milliseconds(tx["created_at"]) ?? now + offset) - offset
                var match: String?
                if let model, (tx["type"] as String) == "CHARGE" {
                    match = try String.fetchOne(db, sql: """
                        SELECT r.id FROM requests r WHERE r.model = ? AND \(RequestLedger.mayBeCharged) AND r.upstream_request_id IS NULL
                          AND r.started_at <= ? + 2000 AND COALESCE(r.finished_at, ?) >= ? - 15000
                          AND NOT EXISTS (SELECT 1 FROM upstream_transactions t WHERE t.attributed_to = r.id)
                        ORDER BY ABS(COALESCE(r.finished_at, r.started_at) - ?) LIMIT 1
                        """, arguments: [model, created, now, created, created])
                }
                // Routes whose body names no model (`/augment/*`, `/image/upscale`, …) answer no id either:
                // their charge goes to the nearest such request of the window that has none yet.
                if match == nil, (tx["type"] as String) == "CHARGE" {
                    let charged = RouteTable.chargedTemplates.map { "/api/v1" + $0 }
                    let placeholders = Array(repeating: "?", count: charged.count).joined(separator: ", ")
                    let values: [(any DatabaseValueConvertible)?] = charged.map { $0 } + [created, now, created, created]
                    match = try String.fetchOne(db, sql: """
                        SELECT r.id FROM requests r WHERE r.model IS NULL AND r.route IN (\(placeholders))
                          AND \(RequestLedger.mayBeCharged) AND r.upstream_request_id IS NULL
                          AND r.started_at <= ? + 2000 AND COALESCE(r.finished_at, ?) >= ? - 15000
                          AND NOT EXISTS (SELECT 1 FROM upstream_transactions t WHERE t.attributed_to = r.id)
                        ORDER BY ABS(COALESCE(r.finished_at, r.started_at) - ?) LIMIT 1
                        """, arguments: StatementArguments(values))
                }
                if let match {
                    try db.execute(sql: "UPDATE upstream_transactions SET attributed_to = ? WHERE id = ?", arguments: [match, txID])
                    touched.insert(match)
                } else if (tx["type"] as String) == "CHARGE", now - created > graceMilliseconds {
                    try db.execute(sql: "UPDATE upstream_transactions SET attributed_to = '!unexplained' WHERE id = ?", arguments: [txID])
                    flagged.append("\(txID) \(tx["amount_micro"] as Int64) micro-USD model \(model ?? "-") request \(requestId ?? "-") at \(tx["created_at"] as String)")
                }
            }
            // Each touched row's spending moves from its hold (or an older charge) to what Venice charged.
            var adjustments: [(client: String, startedAt: Int64, delta: Int64)] = []
            let spending = RequestLedger.rowSpending
            for request in touched {
                let before = try Row.fetchOne(db, sql: "SELECT client, started_at, \(spending) AS spent FROM requests WHERE id = ?", arguments: [request])
                try db.execute(sql: """
                    UPDATE requests SET charged_micro = (SELECT -SUM(amount_micro) FROM upstream_transactions WHERE attributed_to = ?) WHERE id = ?
                    """, arguments: [request, request])
                let after = try Int64.fetchOne(db, sql: "SELECT \(spending) FROM requests WHERE id = ?", arguments: [request])
                if let before, let after {
                    adjustments.append((before["client"], before["started_at"], after - (before["spent"] as Int64)))
                }
            }
            return (flagged, adjustments, stored)
        }
        for adjustment in adjustments where adjustment.delta != 0 {
            requests.book.adjust(adjustment.delta, client: adjustment.client, day: Timestamp.utcMidnight(adjustment.startedAt))
        }
        for detail in newlyFlagged {
            await ledger.audit(.unexplainedCharge, detail)
            logger.warning("a charge no request of this agent explains (leaked or replayed sign-in?)", metadata: ["transaction": "\(detail)"])
        }
        flagged.add(newlyFlagged.count, ordering: .relaxed)
        return stored
    }

}
