import GRDB
import WalletCrypto
import X402Protocol

/// The durable record of every payment intent. A top-up is *reserved* first — the caps are
/// checked, the amount held and the row written in one transaction, before any network call
/// — then the signed authorization is journaled (fsync'd) before it is sent, so neither a
/// race nor a crash can lead to a payment beyond the caps or to a second payment.
struct TopUpJournal: Sendable {
    let ledger: AgentLedger

    enum State: String, Sendable {
        case reserved, pending, settled, failed, unknown

        /// States whose outcome is not known yet: at most one intent may be in one of them.
        static let open: [State] = [.reserved, .pending, .unknown]
    }

    struct Intent: Sendable {
        let id: String
        let createdAt: Int64
        let amountMicro: Int64
        let payTo: String?
        let payload: String?
        let state: State
    }

    /// Why a reservation was refused.
    enum Refusal: Error, Sendable {
        /// An earlier intent's outcome is still unknown.
        case unresolved(id: String)
        case overCap(capMicro: Int64)
        case overDailyCap(capMicro: Int64, committedMicro: Int64)
    }

    struct Reservation: Sendable {
        let id: String
        let amountMicro: Int64
        /// What was committed today before this reservation (settled, pending, unknown).
        let committedBeforeMicro: Int64
    }

    /// Checks the caps and holds `amountMicro` in one transaction: no other intent may be
    /// open, the amount must fit the per-top-up cap and what is left of the daily cap.
    func reserve(id: String, amountMicro: Int64, now: Int64, dayStart: Int64,
                 perTopUpCapMicro: Int64, dailyCapMicro: Int64) async throws -> Result<Reservation, Refusal> {
        try await ledger.durableWrite { db in
            if let open = try String.fetchOne(db, sql: "SELECT id FROM topups WHERE state IN ('reserved', 'pending', 'unknown') LIMIT 1") {
                return .failure(.unresolved(id: open))
            }
            if amountMicro > perTopUpCapMicro { return .failure(.overCap(capMicro: perTopUpCapMicro)) }
            let committed = try Self.committed(db, since: dayStart)
            guard let total = Money.sum(committed, amountMicro), total <= dailyCapMicro else {
                return .failure(.overDailyCap(capMicro: dailyCapMicro, committedMicro: committed))
            }
            try db.execute(sql: """
                INSERT INTO topups (id, created_at, amount_micro, state, outcome, updated_at) VALUES (?, ?, ?, 'reserved', 'reserved within the caps', ?)
                """, arguments: [id, now, amountMicro, now])
            return .success(Reservation(id: id, amountMicro: amountMicro, committedBeforeMicro: committed))
        }
    }

    /// The reservation now carries a signed authorization that may be sent: journaled durably first.
    func recordSigned(_ id: String, payTo: String, nonce: String, validBefore: Int64, payload: String) async throws {
        try await ledger.durableWrite { db in
            try db.execute(sql: """
                UPDATE topups SET state = 'pending', pay_to = ?, authorization_nonce = ?, valid_before = ?, payload = ?,
                outcome = 'signed, not yet sent', updated_at = ? WHERE id = ? AND state = 'reserved'
                """, arguments: [payTo, nonce, validBefore, payload, AgentLedger.nowMilliseconds(), id])
            guard db.changesCount == 1 else { throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "reservation \(id) is gone") }
        }
    }

    func update(_ id: String, state: State, paymentId: String? = nil, transaction: String? = nil, outcome: String) async throws {
        try await ledger.durableWrite { db in
            try db.execute(sql: """
                UPDATE topups SET state = ?, payment_id = COALESCE(?, payment_id), transaction_hash = COALESCE(?, transaction_hash),
                outcome = ?, updated_at = ? WHERE id = ?
                """, arguments: [state.rawValue, paymentId, transaction, outcome, AgentLedger.nowMilliseconds(), id])
        }
    }

    /// One top-up as the owner's views show it: its state, and why it ended as it did.
    struct Record: Sendable {
        let id: String
        let createdAt: Int64
        let updatedAt: Int64
        let amountMicro: Int64
        let state: State
        let outcome: String?
        let transaction: String?
    }

    /// The latest `limit` top-ups, newest first.
    func recent(limit: Int) async throws -> [Record] {
        try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM topups ORDER BY created_at DESC, id LIMIT ?", arguments: [limit]).map { row in
                Record(id: row["id"], createdAt: row["created_at"], updatedAt: row["updated_at"], amountMicro: row["amount_micro"],
                       state: State(rawValue: row["state"]) ?? .unknown, outcome: row["outcome"], transaction: row["transaction_hash"])
            }
        }
    }

    func unresolved() async throws -> [Intent] {
        try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM topups WHERE state IN ('reserved', 'pending', 'unknown') ORDER BY created_at").map(Self.intent)
        }
    }

    /// Other intents of `amountMicro` made since `since` that are recorded settled: each of them
    /// accounts for one TOP_UP row upstream.
    func settledElsewhere(amountMicro: Int64, since: Int64, excluding id: String) async throws -> Int {
        try await ledger.writer.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM topups WHERE state = 'settled' AND amount_micro = ? AND created_at >= ? AND id != ?
                """, arguments: [amountMicro, since, id]) ?? 0
        }
    }

    /// Money committed since `since` (UTC day start): everything but failed intents counts against the cap.
    static func committed(_ db: Database, since: Int64) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT COALESCE(SUM(amount_micro), 0) FROM topups WHERE state IN ('reserved', 'pending', 'settled', 'unknown') AND created_at >= ?
            """, arguments: [since]) ?? 0
    }


    static func intent(_ row: Row) -> Intent {
        Intent(id: row["id"], createdAt: row["created_at"], amountMicro: row["amount_micro"], payTo: row["pay_to"],
               payload: row["payload"], state: State(rawValue: row["state"]) ?? .unknown)
    }
}
