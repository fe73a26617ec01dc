import Foundation
import GRDB
import HTTPTypes
import WalletCrypto

/// Minted Venice API keys. The secret is sealed (AES-256-GCM, key derived from the wallet key
/// with HMAC-SHA256, the key id as associated data) and is only ever unsealed in memory to
/// authenticate an upstream call. Listings show the last 6 characters.
struct ApiKeyStore: Sendable {
    let ledger: AgentLedger

    struct Record: Sendable {
        let id: String
        let type: String
        let last6: String
        let description: String
        let usdLimit: Double?
        let diemLimit: Double?
        let limitPeriod: String?
        let expiresAt: String?
        let createdAt: Int64
        let revokedAt: Int64?
        let sealed: [UInt8]
    }

    static let sealingLabel = Array("venice-agent api-key sealing v1".utf8)

    static func sealingKey(_ session: KeySession) throws -> SecretBytes {
        try session.withDerivedKey(label: sealingLabel)
    }

    func store(id: String, type: String, secret: String, description: String, usdLimit: Double?, diemLimit: Double?,
               limitPeriod: String?, expiresAt: String?, session: KeySession) async throws {
        let key = try Self.sealingKey(session)
        let sealed = try SymmetricCipher.seal(Array(secret.utf8), key: key, associatedData: Array(id.utf8))
        try await ledger.writer.write { db in
            try db.execute(sql: """
                INSERT INTO api_keys (id, type, last6, description, usd_limit, diem_limit, limit_period, expires_at, sealed_secret, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, type, String(secret.suffix(6)), description, usdLimit, diemLimit, limitPeriod, expiresAt,
                                 Data(sealed), AgentLedger.nowMilliseconds()])
        }
    }

    func all() async throws -> [Record] {
        try await ledger.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at").map(Self.record) }
    }

    /// The newest live ADMIN key (not revoked, not expired) of `records`.
    static func activeAdmin(in records: [Record], nowMilliseconds: Int64) -> Record? {
        records.reversed().first { $0.type == "ADMIN" && $0.revokedAt == nil && !expired($0, now: nowMilliseconds) }
    }

    func markRevoked(id: String) async throws {
        try await ledger.writer.write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ?", arguments: [AgentLedger.nowMilliseconds(), id])
        }
    }

    func unseal(_ record: Record, session: KeySession) throws -> String {
        let key = try Self.sealingKey(session)
        let plain = try SymmetricCipher.open(record.sealed, key: key, associatedData: Array(record.id.utf8))
        return plain.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    static func expired(_ record: Record, now: Int64) -> Bool {
        guard let at = Timestamp.milliseconds(record.expiresAt) else { return false }
        return at <= now
    }

    static func record(_ row: Row) -> Record {
        let sealed: Data = row["sealed_secret"]
        return Record(id: row["id"], type: row["type"], last6: row["last6"], description: row["description"], usdLimit: row["usd_limit"],
                      diemLimit: row["diem_limit"], limitPeriod: row["limit_period"], expiresAt: row["expires_at"],
                      createdAt: row["created_at"], revokedAt: row["revoked_at"], sealed: Array(sealed))
    }
}
