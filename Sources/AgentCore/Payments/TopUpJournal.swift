import GRDB
import WalletCrypto

/// The durable record of every payment intent. An intent is committed (fsync'd) before its
/// signed authorization is sent, so a crash can never lead to a second payment for it.
struct TopUpJournal: Sendable {
    let ledger: AgentLedger

    enum State: String, Sendable {
        case pending, settled, failed, unknown
    }

    struct Intent: Sendable {
        let id: String
        let createdAt: Int64
        let amountMicro: Int64
        let payTo: String
        let nonce: String
        let validBefore: Int64
        let payload: String
        let state: State
    }

    func record(_ intent: Intent) throws {
        try ledger.writer.write { db in
            try db.execute(sql: """
                INSERT INTO topups (id, created_at, amount_micro, pay_to, authorization_nonce, valid_before, payload, state, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                """, arguments: [intent.id, intent.createdAt, intent.amountMicro, intent.payTo, intent.nonce,
                                 intent.validBefore, intent.payload, intent.createdAt])
        }
    }

    func update(_ id: String, state: State, paymentId: String? = nil, transaction: String? = nil, outcome: String) throws {
        try ledger.writer.write { db in
            try db.execute(sql: """
                UPDATE topups SET state = ?, payment_id = COALESCE(?, payment_id), transaction_hash = COALESCE(?, transaction_hash),
                outcome = ?, updated_at = ? WHERE id = ?
                """, arguments: [state.rawValue, paymentId, transaction, outcome, AgentLedger.nowMilliseconds(), id])
        }
    }

    func unresolved() throws -> [Intent] {
        try ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM topups WHERE state IN ('pending', 'unknown') ORDER BY created_at").map(Self.intent)
        }
    }

    /// Money committed today (UTC): settled, pending and unknown intents all count against the cap.
    func committedSince(_ startMilliseconds: Int64) throws -> Int64 {
        try ledger.writer.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT COALESCE(SUM(amount_micro), 0) FROM topups WHERE state IN ('pending', 'settled', 'unknown') AND created_at >= ?
                """, arguments: [startMilliseconds]) ?? 0
        }
    }

    func settledPaymentIds() throws -> Set<String> {
        try ledger.writer.read { db in
            Set(try String.fetchAll(db, sql: "SELECT payment_id FROM topups WHERE payment_id IS NOT NULL"))
        }
    }

    func count() throws -> Int {
        try ledger.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM topups") ?? 0 }
    }

    static func intent(_ row: Row) -> Intent {
        Intent(id: row["id"], createdAt: row["created_at"], amountMicro: row["amount_micro"], payTo: row["pay_to"],
               nonce: row["authorization_nonce"], validBefore: row["valid_before"], payload: row["payload"],
               state: State(rawValue: row["state"]) ?? .unknown)
    }
}
