import Synchronization
public import VeniceClient

/// At most `maxInFlight` upstream requests at once (Venice allows 5 per wallet), with a fair
/// queue: waiting clients are served round-robin, one request per client per turn, and the
/// total number waiting is bounded. The agent's own background work (reconciliation, renewal
/// checks) waits behind every client: it gets a slot only when no client is waiting.
public actor UpstreamScheduler {
    public enum Refusal: Error, Sendable {
        /// Too many requests are waiting already.
        case full
        /// The waiting task was cancelled (its client went away).
        case cancelled
    }

    /// Who asks for a slot.
    public enum Priority: Sendable {
        /// A client request, queued fairly among clients.
        case client(String)
        /// The agent's own work: served only when no client waits.
        case background
    }

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
    private var background: [Waiter] = []
    private var queued = 0
    private var nextID: UInt64 = 0
    private(set) var peakInFlight = 0

    public init(maxInFlight: Int = 5, maxQueued: Int = 256) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxQueued = max(0, maxQueued)
    }

    public var snapshot: (inFlight: Int, queued: Int, peakInFlight: Int) { (inFlight, queued, peakInFlight) }

    /// A slot for `priority`, held until the lease is released (explicitly, or when the lease
    /// is no longer referenced: a cancelled request, a client that vanished mid-response).
    public func lease(_ priority: Priority) async throws(Refusal) -> Lease {
        do {
            try await acquire(priority)
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw .cancelled
        }
        return Lease(scheduler: self)
    }

    private func acquire(_ priority: Priority) async throws {
        if inFlight < maxInFlight && queued == 0 {
            take()
            return
        }
        guard queued < maxQueued else { throw Refusal.full }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enqueue(Waiter(id: id, continuation: continuation), priority: priority)
            }
        } onCancel: {
            Task { await self.cancel(id: id, priority: priority) }
        }
    }

    /// Returns a slot and hands it to the next waiter in turn.
    fileprivate func release() {
        inFlight -= 1
        dispatch()
    }

    private func take() {
        inFlight += 1
        peakInFlight = max(peakInFlight, inFlight)
    }

    private func enqueue(_ waiter: Waiter, priority: Priority) {
        switch priority {
        case .client(let client):
            if queues[client, default: []].isEmpty { order.append(client) }
            queues[client, default: []].append(waiter)
        case .background:
            background.append(waiter)
        }
        queued += 1
        dispatch()
    }

    private func dispatch() {
        while inFlight < maxInFlight {
            if let client = order.first {
                order.removeFirst()
                guard var waiting = queues[client], !waiting.isEmpty else { continue }
                let waiter = waiting.removeFirst()
                if waiting.isEmpty {
                    queues[client] = nil
                } else {
                    queues[client] = waiting
                    order.append(client)
                }
                queued -= 1
                take()
                waiter.continuation.resume()
            } else if !background.isEmpty {
                let waiter = background.removeFirst()
                queued -= 1
                take()
                waiter.continuation.resume()
            } else {
                return
            }
        }
    }

    private func cancel(id: UInt64, priority: Priority) {
        let waiter: Waiter
        switch priority {
        case .client(let client):
            guard var waiting = queues[client], let index = waiting.firstIndex(where: { $0.id == id }) else { return }
            waiter = waiting.remove(at: index)
            if waiting.isEmpty {
                queues[client] = nil
                order.removeAll { $0 == client }
            } else {
                queues[client] = waiting
            }
        case .background:
            guard let index = background.firstIndex(where: { $0.id == id }) else { return }
            waiter = background.remove(at: index)
        }
        queued -= 1
        waiter.continuation.resume(throwing: Refusal.cancelled)
    }

    /// An upstream slot held. Released exactly once: by `release()`, or — on every other path,
    /// a thrown error, a cancelled task, a response body never written — when the last
    /// reference to it goes away.
    public final class Lease: Sendable {
        private let released = Atomic<Bool>(false)
        private let scheduler: UpstreamScheduler

        fileprivate init(scheduler: UpstreamScheduler) {
            self.scheduler = scheduler
        }

        public func release() async {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            await scheduler.release()
        }

        deinit {
            if !released.exchange(true, ordering: .acquiringAndReleasing) {
                let scheduler = self.scheduler
                Task { await scheduler.release() }
            }
        }
    }
}

/// The agent's own signed-in calls (`VeniceAPI`) run in a background slot.
extension UpstreamScheduler: UpstreamSlots {
    public nonisolated func withSlot<T: Sendable>(_ body: @Sendable () async throws(VeniceClientError) -> T) async throws(VeniceClientError) -> T {
        let lease: Lease
        do { lease = try await self.lease(.background) } catch {
            throw .noSlot(error == .full ? "the upstream queue is full" : "cancelled while waiting")
        }
        do {
            let value = try await body()
            await lease.release()
            return value
        } catch {
            await lease.release()
            throw error
        }
    }
}
