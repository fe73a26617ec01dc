import Synchronization

/// How many bytes of request bodies the agent holds whole at once, across all requests. A body
/// is read whole to be priced or replayed; without a shared bound, a few clients sending many
/// large bodies at once could take the machine's memory and starve everyone else. Beyond the
/// bound, a request is answered 503 `AGENT_BUSY` with `Retry-After` instead.
final class BodyMemory: Sendable {
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Bytes held now.
    var inUse: Int { used.withLock { $0 } }

    /// Holds `bytes` more for `reservation`, or refuses when that would pass the limit.
    func grow(_ reservation: Reservation, by bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        let granted = used.withLock { total -> Bool in
            guard bytes <= limit - total else { return false }
            total += bytes
            return true
        }
        if granted { reservation.add(bytes) }
        return granted
    }

    fileprivate func giveBack(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    /// The bytes one body holds; given back when the last reference to it goes.
    final class Reservation: Sendable {
        private let memory: BodyMemory
        private let held = Mutex(0)

        init(_ memory: BodyMemory) { self.memory = memory }

        fileprivate func add(_ bytes: Int) { held.withLock { $0 += bytes } }

        deinit { memory.giveBack(held.withLock { $0 }) }
    }
}
