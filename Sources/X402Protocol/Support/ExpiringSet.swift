/// A set whose members expire `window` ms after insertion, with a hard size cap.
/// Not thread-safe: owners wrap it in a `Mutex`.
struct ExpiringSet<Element: Hashable & Sendable>: Sendable {
    private var members: Set<Element> = []
    private var queue: [(expiry: Int64, element: Element)] = []
    private var head = 0
    let window: Int64
    let capacity: Int

    init(window: Int64, capacity: Int) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    var count: Int { members.count }

    func contains(_ element: Element) -> Bool { members.contains(element) }

    /// Drops members whose window has passed.
    mutating func evictExpired(now: Int64) {
        while head < queue.count, queue[head].expiry <= now {
            members.remove(queue[head].element)
            head += 1
        }
        if head > 1024, head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    var isFull: Bool { members.count >= capacity }

    /// Drops the oldest member (used only when the owner prefers bounded memory to refusing).
    mutating func evictOldest() {
        guard head < queue.count else { return }
        members.remove(queue[head].element)
        head += 1
    }

    /// Inserts; false if already present.
    @discardableResult
    mutating func insert(_ element: Element, now: Int64) -> Bool {
        guard members.insert(element).inserted else { return false }
        queue.append((now + window, element))
        return true
    }
}
