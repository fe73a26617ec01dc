public import NIOCore
import Synchronization

/// A request body that fails once more than `limit` bytes went through. `exceeded` tells
/// afterwards whether that is why the stream ended.
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    struct LimitExceeded: Error {}

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
        /// The first bytes that went through (to read small form fields such as `model`).
        let head = Mutex<[UInt8]>([])
    }

    static var headLimit: Int { 64 * 1024 }

    /// The first (up to 64 KiB) bytes of the body seen so far.
    var head: [UInt8] { flag.head.withLock { $0 } }

    let base: Base
    let limit: Int
    let flag = Flag()

    var exceeded: Bool { flag.value.load(ordering: .relaxed) }

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Base.AsyncIterator
        let limit: Int
        let flag: Flag
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await inner.next() else { return nil }
            if seen < LimitedBody.headLimit {
                let take = Swift.min(chunk.readableBytes, LimitedBody.headLimit - seen)
                if let bytes = chunk.getBytes(at: chunk.readerIndex, length: take) {
                    flag.head.withLock { $0 += bytes }
                }
            }
            seen += chunk.readableBytes
            if seen > limit {
                flag.value.store(true, ordering: .relaxed)
                throw LimitExceeded()
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: base.makeAsyncIterator(), limit: limit, flag: flag)
    }
}

/// Gives an upstream slot back exactly once: when the response body is done, or, failing
/// that, when the last reference goes away.
final class SlotLease: Sendable {
    private let released = Atomic<Bool>(false)
    private let scheduler: UpstreamScheduler

    init(scheduler: UpstreamScheduler) {
        self.scheduler = scheduler
    }

    func release() async {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await scheduler.release()
    }

    deinit {
        if !released.load(ordering: .acquiring) {
            let scheduler = self.scheduler
            Task { await scheduler.release() }
        }
    }
}
