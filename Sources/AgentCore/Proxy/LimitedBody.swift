public import NIOCore
import Synchronization

/// A request body streamed upstream: it fails once more than `limit` bytes went through
/// (`exceeded` says so afterwards), keeps its first bytes (to read small form fields such as
/// `model`), and can be closed.
///
/// Closing matters: the body is read by the upstream client's own task, while the request's
/// connection reads the same inbound stream again once the response is written (to skip what
/// is left of the body). Two readers at once trap in NIO, so before a response can complete,
/// `close()` stops the body and waits until no read of it is in progress.
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    struct LimitExceeded: Error {}

    final class Flag: Sendable {
        struct State {
            var reading = 0
            var closed = false
            var waiters: [CheckedContinuation<Void, Never>] = []
        }

        let exceeded = Atomic<Bool>(false)
        /// The first bytes that went through (to read small form fields such as `model`).
        let head = Mutex<[UInt8]>([])
        let state = Mutex(State())

        /// Starts a read; false once closed (the read ends the body instead).
        func beginRead() -> Bool {
            state.withLock { s in
                guard !s.closed else { return false }
                s.reading += 1
                return true
            }
        }

        func endRead() {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.reading -= 1
                guard s.reading == 0 else { return [] }
                defer { s.waiters = [] }
                return s.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func close() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    s.closed = true
                    guard s.reading > 0 else { return true }
                    s.waiters.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    static var headLimit: Int { 64 * 1024 }

    /// The first (up to 64 KiB) bytes of the body seen so far.
    var head: [UInt8] { flag.head.withLock { $0 } }

    let base: Base
    let limit: Int
    let flag = Flag()

    var exceeded: Bool { flag.exceeded.load(ordering: .relaxed) }

    /// Ends the body for its reader and waits until no read of the inbound stream is in progress.
    func close() async { await flag.close() }

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Base.AsyncIterator
        let limit: Int
        let flag: Flag
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard flag.beginRead() else { return nil }
            defer { flag.endRead() }
            guard let chunk = try await inner.next() else { return nil }
            if seen < LimitedBody.headLimit {
                let take = Swift.min(chunk.readableBytes, LimitedBody.headLimit - seen)
                if let bytes = chunk.getBytes(at: chunk.readerIndex, length: take) {
                    flag.head.withLock { $0 += bytes }
                }
            }
            seen += chunk.readableBytes
            if seen > limit {
                flag.exceeded.store(true, ordering: .relaxed)
                throw LimitExceeded()
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: base.makeAsyncIterator(), limit: limit, flag: flag)
    }
}
