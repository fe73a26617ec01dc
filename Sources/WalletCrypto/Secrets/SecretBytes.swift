#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffer for secrets: page-locked (`mlock`, so it is not swapped out), zeroed when
/// released or on `zeroize()`, reachable only inside `withUnsafeBytes`. It has no
/// `Data`, `String`, `Codable` or printable form.
public final class SecretBytes: @unchecked Sendable {
    // Invariant: `storage` is written only during init and zeroize (callers own
    // sequencing of zeroize); reads happen through withUnsafeBytes.
    private let storage: UnsafeMutableRawBufferPointer
    private let locked: Bool
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "SecretBytes count must not be negative")
        self.count = count
        let capacity = max(count, 1)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        #if canImport(Glibc) || canImport(Darwin)
        locked = mlock(storage.baseAddress, capacity) == 0
        #else
        locked = false
        #endif
    }

    public convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count)
        if let base = source.baseAddress, source.count > 0, let dst = storage.baseAddress {
            dst.copyMemory(from: base, byteCount: source.count)
        }
    }

    /// Takes the bytes and zeroes the source array.
    public convenience init(zeroingSource bytes: inout [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeMutableBytes { src in
            if let base = src.baseAddress, src.count > 0, let dst = storage.baseAddress {
                dst.copyMemory(from: base, byteCount: src.count)
            }
            MemoryHygiene.zero(src)
        }
        bytes.removeAll()
    }

    /// True when the pages are locked in RAM (mlock may be refused by RLIMIT_MEMLOCK).
    public var isLocked: Bool { locked }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Overwrites the secret with zeros now (it is also zeroed on deinit).
    public func zeroize() {
        MemoryHygiene.zero(storage)
    }

    /// Overwrites any buffer that held secret bytes (a request body, a read buffer) with zeros,
    /// in a way the optimizer cannot drop.
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        MemoryHygiene.zero(buffer)
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in MemoryHygiene.constantTimeEqual(a, b) } }
    }

    deinit {
        MemoryHygiene.zero(storage)
        #if canImport(Glibc) || canImport(Darwin)
        if locked { munlock(storage.baseAddress, storage.count) }
        #endif
        storage.deallocate()
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count]) }
}
