import Foundation
public import GRDB
public import Logging
import X402Protocol
#if canImport(Glibc)
import Glibc
#endif

/// The agent's durable state in SQLite (WAL): request ledger, payment intents, minted keys
/// (sealed), local clients (token hashes only), audit trail. Money is stored as integer
/// USDC micro-units. Writes are named after intent; each is one transaction, made through
/// GRDB's async API (on GRDB's own queue, never blocking the cooperative pool).
///
/// Durability is decided here, per kind of write. The connection runs with `synchronous =
/// NORMAL`: a commit is not fsync'd, so a power cut may lose the last second of request and
/// audit rows — acceptable, they only describe. A payment intent must never be lost (it is
/// what stops the agent from paying twice), so journal writes go through `durableWrite`,
/// which commits with `synchronous = FULL` (the WAL is fsync'd before the commit returns).
public final class AgentLedger: Sendable {
    public let writer: any DatabaseWriter
    let logger: Logger
    /// The database file (nil for an in-memory ledger).
    let path: String?

    /// Opens (and migrates) `<directory>/ledger.sqlite`; the folder is made 0700, the files 0600.
    public convenience init(directory: String, logger: Logger = Logger(label: "venice-agent.ledger")) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/ledger.sqlite"
        var config = Configuration()
        config.prepareDatabase { db in
            // NORMAL for descriptive rows; payment intents use durableWrite (FULL). See above.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // No checkpoint on a commit: copying the WAL back and fsyncing the database would
            // stall whichever request's write happened to cross the threshold. `WALCheckpointer`
            // does it in the background, on a connection of its own.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        let previous = umask(0o077)
        defer { umask(previous) }
        let pool = try DatabasePool(path: path, configuration: config)
        for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o600) }
        try self.init(writer: pool, logger: logger, path: path)
    }

    /// For tests: any writer (e.g. an in-memory `DatabaseQueue`).
    public init(writer: any DatabaseWriter, logger: Logger = Logger(label: "venice-agent.ledger"), path: String? = nil) throws {
        self.writer = writer
        self.logger = logger
        self.path = path
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Shipped migrations are never edited; add new ones below.
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE requests (
                    id TEXT PRIMARY KEY,
                    client TEXT NOT NULL,
                    uid INTEGER NOT NULL,
                    pid INTEGER NOT NULL,
                    method TEXT NOT NULL,
                    route TEXT NOT NULL,
                    model TEXT,
                    estimate_micro INTEGER NOT NULL DEFAULT 0 CHECK (estimate_micro >= 0),
                    charged_micro INTEGER,
                    status INTEGER,
                    bytes_in INTEGER NOT NULL DEFAULT 0,
                    bytes_out INTEGER NOT NULL DEFAULT 0,
                    upstream_request_id TEXT,
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER
                );
                CREATE INDEX requests_client_time ON requests(client, started_at);
                CREATE INDEX requests_upstream_id ON requests(upstream_request_id);
                CREATE TABLE topups (
                    id TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    amount_micro INTEGER NOT NULL CHECK (amount_micro > 0),
                    pay_to TEXT NOT NULL,
                    authorization_nonce TEXT NOT NULL UNIQUE,
                    valid_before INTEGER NOT NULL,
                    payload TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'settled', 'failed', 'unknown')),
                    payment_id TEXT,
                    transaction_hash TEXT,
                    outcome TEXT,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE upstream_transactions (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    amount_micro INTEGER NOT NULL,
                    request_id TEXT,
                    model_id TEXT,
                    created_at TEXT NOT NULL,
                    attributed_to TEXT
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL CHECK (type IN ('ADMIN', 'INFERENCE')),
                    last6 TEXT NOT NULL,
                    description TEXT NOT NULL,
                    usd_limit REAL,
                    diem_limit REAL,
                    limit_period TEXT,
                    expires_at TEXT,
                    sealed_secret BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE clients (
                    name TEXT PRIMARY KEY,
                    token_hash TEXT NOT NULL UNIQUE,
                    routes TEXT NOT NULL,
                    max_request_micro INTEGER,
                    daily_micro INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                """)
        }
        // v2: a top-up is first *reserved* (caps checked and the amount held in the same
        // transaction, before any network call), then signed and journaled, then settled. At
        // most one intent may be unresolved at a time; the triggers refuse a second one even if
        // a bug elsewhere tried (rows left open by earlier versions stay, and block new ones).
        migrator.registerMigration("v2-topup-reservations") { db in
            try db.execute(sql: """
                CREATE TABLE topups_v2 (
                    id TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    amount_micro INTEGER NOT NULL CHECK (amount_micro > 0),
                    pay_to TEXT,
                    authorization_nonce TEXT UNIQUE,
                    valid_before INTEGER,
                    payload TEXT,
                    state TEXT NOT NULL CHECK (state IN ('reserved', 'pending', 'settled', 'failed', 'unknown')),
                    payment_id TEXT,
                    transaction_hash TEXT,
                    outcome TEXT,
                    updated_at INTEGER NOT NULL,
                    CHECK (state = 'reserved' OR state = 'failed' OR payload IS NOT NULL)
                );
                INSERT INTO topups_v2 (id, created_at, amount_micro, pay_to, authorization_nonce, valid_before, payload, state,
                                       payment_id, transaction_hash, outcome, updated_at)
                    SELECT id, created_at, amount_micro, pay_to, authorization_nonce, valid_before, payload, state,
                           payment_id, transaction_hash, outcome, updated_at FROM topups;
                DROP TABLE topups;
                ALTER TABLE topups_v2 RENAME TO topups;
                CREATE INDEX topups_created ON topups(created_at);
                CREATE TRIGGER topups_one_open_insert BEFORE INSERT ON topups
                    WHEN NEW.state IN ('reserved', 'pending', 'unknown')
                     AND EXISTS (SELECT 1 FROM topups WHERE state IN ('reserved', 'pending', 'unknown'))
                BEGIN SELECT RAISE(ABORT, 'another payment intent is unresolved'); END;
                CREATE TRIGGER topups_one_open_update BEFORE UPDATE OF state ON topups
                    WHEN NEW.state IN ('reserved', 'pending', 'unknown') AND OLD.state NOT IN ('reserved', 'pending', 'unknown')
                     AND EXISTS (SELECT 1 FROM topups WHERE state IN ('reserved', 'pending', 'unknown') AND id <> NEW.id)
                BEGIN SELECT RAISE(ABORT, 'another payment intent is unresolved'); END;
                """)
        }
        // v3: client policies beyond routes and daily/per-request limits (issue 13).
        migrator.registerMigration("v3-client-policies") { db in
            try db.execute(sql: """
                ALTER TABLE clients ADD COLUMN models TEXT;
                ALTER TABLE clients ADD COLUMN max_parallel INTEGER;
                ALTER TABLE clients ADD COLUMN requests_per_minute INTEGER;
                ALTER TABLE clients ADD COLUMN monthly_micro INTEGER;
                ALTER TABLE clients ADD COLUMN soft_limit REAL;
                ALTER TABLE clients ADD COLUMN expires_at INTEGER;
                """)
        }
        // v4: a token client may be allowed to top up within the agent's caps (issue 15).
        migrator.registerMigration("v4-client-topup") { db in
            try db.execute(sql: "ALTER TABLE clients ADD COLUMN may_topup INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }

    static func nowMilliseconds() -> Int64 { SystemWallClock().nowMilliseconds() }

    /// One transaction committed with `synchronous = FULL`: when it returns, the rows survive a
    /// power cut. For payment intents only (see the type's comment).
    func durableWrite<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: Result<T, any Error>?
            try db.inTransaction(.immediate) {
                result = Result { try updates(db) }
                if case .failure = result { return .rollback }
                return .commit
            }
            guard let result else { throw DatabaseError(resultCode: .SQLITE_ERROR, message: "the transaction did not run") }
            return try result.get()
        }
    }

    // MARK: audit

    /// Appends an audit event; a failed write is logged with the event (never swallowed).
    public func audit(_ kind: AuditKind, _ detail: String) async {
        do {
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO audit (time, kind, detail) VALUES (?, ?, ?)",
                               arguments: [Self.nowMilliseconds(), kind.rawValue, detail])
            }
        } catch {
            logger.error("an audit event could not be written", metadata: ["kind": "\(kind.rawValue)", "detail": "\(detail)", "error": "\(error)"])
        }
    }

    public struct AuditEvent: Sendable {
        public let time: Int64
        public let kind: String
        public let detail: String
    }

    public func auditEvents(limit: Int) async throws -> [AuditEvent] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT time, kind, detail FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map { AuditEvent(time: $0["time"], kind: $0["kind"], detail: $0["detail"]) }
        }
    }
}

/// What an audit event records. The raw values are what `venice-agent audit` shows.
public enum AuditKind: String, Sendable, CaseIterable {
    case lock, unlock
    case unlockFailed = "unlock_failed"
    case paymentSigned = "payment_signed"
    case paymentSettled = "payment_settled"
    case paymentRefused = "payment_refused"
    case paymentFailed = "payment_failed"
    case budgetRefused = "budget_refused"
    case budgetWarning = "budget_warning"
    case autoTopUp = "auto_topup"
    case autoTopUpSkipped = "auto_topup_skipped"
    case autoTopUpRefused = "auto_topup_refused"
    case autoTopUpBreaker = "auto_topup_breaker"
    case apiKeyMinted = "apikey_minted"
    case apiKeyRevoked = "apikey_revoked"
    case apiKeyRenewed = "apikey_renewed"
    case apiKeyRenewalFailed = "apikey_renewal_failed"
    case clientAdded = "client_added"
    case clientRemoved = "client_removed"
    /// A client allowed to top up asked for one (the payment's own events follow).
    case clientTopUp = "client_topup"
    case unexplainedCharge = "unexplained_charge"
    /// An answer's usage cost more than the estimate held for it (recorded at the usage cost).
    case usageOverEstimate = "usage_over_estimate"
}
