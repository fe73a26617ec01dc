import GRDB
import Logging
import ServiceLifecycle

/// Copies the ledger's write-ahead log back into the database in the background. The pool's
/// writer never checkpoints on commit (`wal_autocheckpoint = 0`); this service does, every few
/// seconds, with a PASSIVE checkpoint on a connection of its own, so requests' writes keep
/// appending to the log while the database file is written and fsync'd. At shutdown the log
/// is checkpointed and truncated.
struct WALCheckpointer: Service {
    let path: String
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let connection: DatabaseQueue
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            connection = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            logger.error("the ledger's checkpointer could not open the database; its log grows until restart", metadata: ["error": "\(error)"])
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await checkpoint(connection, mode: Task.isShuttingDownGracefully ? "TRUNCATE" : "PASSIVE")
        }
    }

    func checkpoint(_ connection: DatabaseQueue, mode: String) async {
        do {
            try await connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(\(mode))") }
        } catch {
            logger.warning("a ledger checkpoint failed; the next one retries", metadata: ["error": "\(error)"])
        }
    }
}
