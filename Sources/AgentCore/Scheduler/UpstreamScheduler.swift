/// At most `maxInFlight` upstream requests at once (Venice allows 5 per wallet), with a fair
/// queue: waiting clients are served round-robin, one request per client per turn, and the
/// total number waiting is bounded.
public actor UpstreamScheduler {
    public struct Full: Error {}

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    public let maxInFlight: Int
    public let maxQueued: Int
    private var inFlight = 0
    private var queues: [String: [Waiter]] = [:]
    /// Clients with waiters, in round-robin order.
    private var order: [String] = []
    private var queued = 0
    private var nextID: UInt64 = 0
    private(set) var peakInFlight = 0

    public init(maxInFlight: Int = 5, maxQueued: Int = 256) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxQueued = max(0, maxQueued)
    }

    public var snapshot: (inFlight: Int, queued: Int, peakInFlight: Int) { (inFlight, queued, peakInFlight) }

    /// Waits for a slot. Throws `Full` when the queue is full, `CancellationError` when cancelled.
    public func acquire(client: String) async throws {
        if inFlight < maxInFlight && queued == 0 {
            take()
            return
        }
        guard queued < maxQueued else { throw Full() }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enqueue(Waiter(id: id, continuation: continuation), client: client)
            }
        } onCancel: {
            Task { await self.cancel(id: id, client: client) }
        }
    }

    /// Returns a slot and hands it to the next client in turn.
    public func release() {
        inFlight -= 1
        dispatch()
    }

    private func take() {
        inFlight += 1
        peakInFlight = max(peakInFlight, inFlight)
    }

    private func enqueue(_ waiter: Waiter, client: String) {
        if queues[client, default: []].isEmpty { order.append(client) }
        queues[client, default: []].append(waiter)
        queued += 1
        dispatch()
    }

    private func dispatch() {
        while inFlight < maxInFlight, !order.isEmpty {
            let client = order.removeFirst()
            guard var waiting = queues[client], !waiting.isEmpty else { continue }
            let waiter = waiting.removeFirst()
            queued -= 1
            if waiting.isEmpty {
                queues[client] = nil
            } else {
                queues[client] = waiting
                order.append(client)
            }
            take()
            waiter.continuation.resume()
        }
    }

    private func cancel(id: UInt64, client: String) {
        guard var waiting = queues[client], let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiting.remove(at: index)
        queued -= 1
        if waiting.isEmpty {
            queues[client] = nil
            order.removeAll { $0 == client }
        } else {
            queues[client] = waiting
        }
        waiter.continuation.resume(throwing: CancellationError())
    }
}
