import Foundation
import GRDB
import Synchronization
import WalletCrypto

/// Named clients: only a hash of each `vat_…` token is stored; the token is shown once. The
/// table is mirrored in memory (loaded at start, updated by every change) so resolving a
/// token costs one hash and one dictionary lookup, never a database read per request.
final class ClientStore: Sendable {
    let ledger: AgentLedger
    private let byTokenHash: Mutex<[String: ClientPolicy]>

    struct Created: Sendable {
        let policy: ClientPolicy
        let token: String
    }

    init(ledger: AgentLedger) async throws {
        self.ledger = ledger
        let rows = try await ledger.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM clients").map { (hash: $0["token_hash"] as String, policy: Self.policy($0)) }
        }
        byTokenHash = Mutex(Dictionary(rows.map { ($0.hash, $0.policy) }, uniquingKeysWith: { first, _ in first }))
    }

    static func hash(_ token: String) -> String { Hex.encode(Keccak256.hash("venice-agent client token:" + token)) }

    /// Stores a client with `requested`'s settings (its name, routes and limits) and a new token.
    func create(_ requested: ClientPolicy) async throws(AgentError) -> Created {
        let name = requested.name
        let routes = requested.routes
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
              name != "default", !name.hasPrefix("uid-") else {
            throw .badRequest("client name must be 1–64 letters, digits, '-', '_' or '.', and not \"default\" or uid-…")
        }
        if let routes {
            let unknown = routes.subtracting(ClientPolicy.groupNames)
            guard unknown.isEmpty else {
                throw .badRequest("unknown route group(s) \(unknown.sorted().joined(separator: ", ")); use \(ClientPolicy.groupNames.sorted().joined(separator: ", "))")
            }
        }
        let token = "vat_" + Hex.encode(SecureRandom.bytes(count: 24))
        let hash = Self.hash(token)
        var policy = requested
        policy.source = .token
        let stored = policy
        do {
            try await ledger.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO clients (name, token_hash, routes, max_request_micro, daily_micro, created_at, models, max_parallel,
                                         requests_per_minute, monthly_micro, soft_limit, expires_at, may_topup)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [name, hash, routes.map { $0.sorted().joined(separator: ",") } ?? "*",
                                     stored.maxRequestMicro, stored.dailyMicro, AgentLedger.nowMilliseconds(),
                                     stored.models.map { $0.entries.joined(separator: ",") }, stored.maxParallel, stored.requestsPerMinute,
                                     stored.monthlyMicro, stored.softLimit, stored.expiresAt, stored.mayTopUp])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw .clientExists(name: name)
        } catch {
            throw .ledger("cannot store the client: \(error)")
        }
        byTokenHash.withLock { $0[hash] = policy }
        await ledger.audit(.clientAdded, "\(name) routes=\(routes.map { $0.sorted().joined(separator: ",") } ?? "*")"
                           + (policy.mayTopUp ? " may_topup" : ""))
        return Created(policy: policy, token: token)
    }

    func policy(forToken token: String) -> ClientPolicy? {
        let hash = Self.hash(token)
        return byTokenHash.withLock { $0[hash] }
    }

    func all() -> [ClientPolicy] {
        byTokenHash.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    func remove(name: String) async throws(AgentError) -> Bool {
        let removed: Bool
        do {
            removed = try await ledger.writer.write { db in
                try db.execute(sql: "DELETE FROM clients WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        } catch {
            throw .ledger("cannot remove the client: \(error)")
        }
        if removed {
            byTokenHash.withLock { table in table = table.filter { $0.value.name != name } }
            await ledger.audit(.clientRemoved, name)
        }
        return removed
    }

    static func policy(_ row: Row) -> ClientPolicy {
        let routes: String = row["routes"]
        let models: String? = row["models"]
        var policy = ClientPolicy(name: row["name"], routes: routes == "*" ? nil : Set(routes.split(separator: ",").map(String.init)),
                            maxRequestMicro: row["max_request_micro"], dailyMicro: row["daily_micro"], source: .token,
                            // A stored list was valid when stored; one that no longer parses allows nothing rather than everything.
                            models: models.map { text in
                                (try? ModelAllowList(parsing: text.split(separator: ",").map(String.init)))
                                    ?? ModelAllowList(requirements: [[]])
                            },
                            maxParallel: row["max_parallel"], requestsPerMinute: row["requests_per_minute"], monthlyMicro: row["monthly_micro"],
                            softLimit: row["soft_limit"], expiresAt: row["expires_at"])
        policy.mayTopUp = (row["may_topup"] as Int?) == 1
        return policy
    }
}
