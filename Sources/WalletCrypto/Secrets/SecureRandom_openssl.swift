internal import COpenSSL

/// Random bytes from OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    public static func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        // RAND_bytes only fails when the OS entropy source is gone; continuing would
        // hand out predictable keys and nonces, so this is the one place we stop.
        precondition(venice_rand_bytes(base, Int32(buffer.count)) == 1,
                     "OpenSSL RAND_bytes failed: the system CSPRNG is unavailable")
    }
}

/// Constant-time helpers and zeroing through OpenSSL (not optimised away).
enum MemoryHygiene {
    static func zero(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        venice_cleanse(base, buffer.count)
    }

    static func zero(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { zero($0) }
    }

    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count == 0 }
        return venice_memcmp(pa, pb, a.count) == 0
    }
}
