/// A non-reentrant async lock: one holder at a time, the others wait in arrival order. An
/// actor alone is not a mutex across `await` (its methods interleave at every suspension);
/// the payment path holds this gate from the cap check until the payment's outcome is known.
actor PaymentGate {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Number of callers waiting for their turn (for tests and status).
    var waiting: Int { waiters.count }

    /// Runs `body` alone: no other `run` of this gate is in progress meanwhile.
    func run<T: Sendable, E: Error>(_ body: @Sendable () async throws(E) -> T) async throws(E) -> T {
        await enter()
        do {
            let value = try await body()
            leave()
            return value
        } catch {
            leave()
            throw error
        }
    }

    private func enter() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func leave() {
        if waiters.isEmpty {
            held = false
        } else {
            // The turn passes straight to the next waiter; `held` stays true.
            waiters.removeFirst().resume()
        }
    }
}
