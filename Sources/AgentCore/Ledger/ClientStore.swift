import Foundation
import GRDB
import HTTPTypes
import WalletCrypto

/// Named clients: only a hash of each `vat_…` token is stored; the token is shown once.
struct ClientStore: Sendable {
    let ledger: AgentLedger

    struct Created: Sendable {
        let policy: ClientPolicy
        let token: String
    }

    static func hash(_ token: String) -> String { Hex.encode(Keccak256.hash("venice-agent client token:" + token)) }

    func create(name: String, routes: Set<String>?, maxRequestMicro: Int64?, dailyMicro: Int64?) throws(AgentError) -> Created {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), name != "default" else {
            throw .badRequest("client name must be 1–64 letters, digits, '-', '_' or '.', and not \"default\"")
        }
        if let routes {
            let unknown = routes.subtracting(ClientPolicy.groupNames)
            guard unknown.isEmpty else {
                throw .badRequest("unknown route group(s) \(unknown.sorted().joined(separator: ", ")); use \(ClientPolicy.groupNames.sorted().joined(separator: ", "))")
            }
        }
        let token = "vat_" + Hex.encode(SecureRandom.bytes(count: 24))
        do {
            try ledger.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO clients (name, token_hash, routes, max_request_micro, daily_micro, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [name, Self.hash(token), routes.map { $0.sorted().joined(separator: ",") } ?? "*",
                                     maxRequestMicro, dailyMicro, AgentLedger.nowMilliseconds()])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw AgentError(.conflict, "AGENT_CLIENT_EXISTS", "a client named \(name) already exists; remove it first or pick another name")
        } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot store the client: \(error)")
        }
        ledger.audit("client_added", "\(name) routes=\(routes.map { $0.sorted().joined(separator: ",") } ?? "*")")
        return Created(policy: ClientPolicy(name: name, routes: routes, maxRequestMicro: maxRequestMicro, dailyMicro: dailyMicro, source: .token),
                       token: token)
    }

    func policy(forToken token: String) -> ClientPolicy? {
        let row = try? ledger.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM clients WHERE token_hash = ?", arguments: [Self.hash(token)])
        }
        return row.map(Self.policy)
    }

    func all() throws -> [ClientPolicy] {
        try ledger.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM clients ORDER BY name").map(Self.policy) }
    }

    func remove(name: String) throws(AgentError) -> Bool {
        let removed: Bool
        do {
            removed = try ledger.writer.write { db in
                try db.execute(sql: "DELETE FROM clients WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        } catch {
            throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot remove the client: \(error)")
        }
        if removed { ledger.audit("client_removed", name) }
        return removed
    }

    static func policy(_ row: Row) -> ClientPolicy {
        let routes: String = row["routes"]
        return ClientPolicy(name: row["name"], routes: routes == "*" ? nil : Set(routes.split(separator: ",").map(String.init)),
                            maxRequestMicro: row["max_request_micro"], dailyMicro: row["daily_micro"], source: .token)
    }
}
