/// scrypt (RFC 7914). OpenSSL's EVP_PBE_scrypt refuses N >= 2^(16·r), which rules out real
/// keystores written with r = 1 and N = 2^18 (the official Web3 Secret Storage vector among
/// them), so ROMix is implemented here; PBKDF2-HMAC-SHA256 comes from OpenSSL.
public enum Scrypt {
    /// Largest working set we agree to allocate for one derivation (128·r·N bytes).
    public static let maxMemoryBytes = 1 << 30

    public static func validate(n: Int, r: Int, p: Int, dkLen: Int) throws(WalletCryptoError) {
        guard n > 1, n & (n - 1) == 0 else { throw .scryptParameters("n = \(n) must be a power of two greater than 1") }
        guard r >= 1, r <= 64 else { throw .scryptParameters("r = \(r) must be between 1 and 64") }
        guard p >= 1, p <= 64 else { throw .scryptParameters("p = \(p) must be between 1 and 64") }
        guard dkLen >= 1, dkLen <= 1024 else { throw .scryptParameters("dklen = \(dkLen) must be between 1 and 1024") }
        let (memory, overflow) = (128 * r).multipliedReportingOverflow(by: n)
        guard !overflow, memory <= maxMemoryBytes else {
            throw .scryptParameters("n = \(n), r = \(r) needs more than \(maxMemoryBytes >> 20) MiB")
        }
    }

    /// Derives `dkLen` bytes into a fresh `SecretBytes`.
    public static func derive(password: SecretBytes, salt: [UInt8], n: Int, r: Int, p: Int, dkLen: Int) throws(WalletCryptoError) -> SecretBytes {
        try validate(n: n, r: r, p: p, dkLen: dkLen)
        let blockSize = 128 * r
        let b = SecretBytes(count: p * blockSize)
        try password.withUnsafeBytes { pw throws(WalletCryptoError) in
            try b.withUnsafeMutableBytes { out throws(WalletCryptoError) in
                try PBKDF2.sha256(password: pw, salt: salt, iterations: 1, into: out)
            }
        }
        let words = 32 * r
        let v = UnsafeMutablePointer<UInt32>.allocate(capacity: words * n)
        let x = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        let y = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        defer {
            // V holds password-derived state: wipe before release.
            MemoryHygiene.zero(UnsafeMutableRawBufferPointer(start: v, count: words * n * 4))
            MemoryHygiene.zero(UnsafeMutableRawBufferPointer(start: x, count: words * 4))
            MemoryHygiene.zero(UnsafeMutableRawBufferPointer(start: y, count: words * 4))
            v.deallocate(); x.deallocate(); y.deallocate()
        }
        b.withUnsafeMutableBytes { bytes in
            for chunk in 0..<p {
                let block = bytes.baseAddress! + chunk * blockSize  // non-empty by construction
                for i in 0..<words {
                    x[i] = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                }
                roMix(x: x, v: v, y: y, r: r, n: n)
                for i in 0..<words {
                    block.storeBytes(of: x[i].littleEndian, toByteOffset: i * 4, as: UInt32.self)
                }
            }
        }
        let dk = SecretBytes(count: dkLen)
        try password.withUnsafeBytes { pw throws(WalletCryptoError) in
            try b.withUnsafeBytes { salt2 throws(WalletCryptoError) in
                try dk.withUnsafeMutableBytes { out throws(WalletCryptoError) in
                    try PBKDF2.sha256(password: pw, salt: salt2, iterations: 1, into: out)
                }
            }
        }
        return dk
    }

    private static func roMix(x: UnsafeMutablePointer<UInt32>, v: UnsafeMutablePointer<UInt32>,
                              y: UnsafeMutablePointer<UInt32>, r: Int, n: Int) {
        let words = 32 * r
        for i in 0..<n {
            (v + i * words).update(from: x, count: words)
            blockMix(x, y, r: r)
        }
        let mask = UInt32(truncatingIfNeeded: n - 1)
        for _ in 0..<n {
            let j = Int(x[(2 * r - 1) * 16] & mask)
            let vj = v + j * words
            for k in 0..<words { x[k] ^= vj[k] }
            blockMix(x, y, r: r)
        }
    }

    /// BlockMix_{Salsa20/8, r}: result back in `b`, `y` is scratch.
    private static func blockMix(_ b: UnsafeMutablePointer<UInt32>, _ y: UnsafeMutablePointer<UInt32>, r: Int) {
        var t = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &t) { raw in
            let xs = raw.bindMemory(to: UInt32.self).baseAddress!  // 64-byte tuple, never empty
            xs.update(from: b + (2 * r - 1) * 16, count: 16)
            for i in 0..<(2 * r) {
                let bi = b + i * 16
                for k in 0..<16 { xs[k] ^= bi[k] }
                salsa20_8(xs)
                // Even blocks go to the first half, odd blocks to the second.
                let dst = y + ((i & 1) * r + (i >> 1)) * 16
                dst.update(from: xs, count: 16)
            }
        }
        b.update(from: y, count: 32 * r)
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    private static func salsa20_8(_ b: UnsafeMutablePointer<UInt32>) {
        var x0 = b[0], x1 = b[1], x2 = b[2], x3 = b[3], x4 = b[4], x5 = b[5], x6 = b[6], x7 = b[7]
        var x8 = b[8], x9 = b[9], x10 = b[10], x11 = b[11], x12 = b[12], x13 = b[13], x14 = b[14], x15 = b[15]
        for _ in 0..<4 {
            x4 ^= rotl(x0 &+ x12, 7); x8 ^= rotl(x4 &+ x0, 9)
            x12 ^= rotl(x8 &+ x4, 13); x0 ^= rotl(x12 &+ x8, 18)
            x9 ^= rotl(x5 &+ x1, 7); x13 ^= rotl(x9 &+ x5, 9)
            x1 ^= rotl(x13 &+ x9, 13); x5 ^= rotl(x1 &+ x13, 18)
            x14 ^= rotl(x10 &+ x6, 7); x2 ^= rotl(x14 &+ x10, 9)
            x6 ^= rotl(x2 &+ x14, 13); x10 ^= rotl(x6 &+ x2, 18)
            x3 ^= rotl(x15 &+ x11, 7); x7 ^= rotl(x3 &+ x15, 9)
            x11 ^= rotl(x7 &+ x3, 13); x15 ^= rotl(x11 &+ x7, 18)
            x1 ^= rotl(x0 &+ x3, 7); x2 ^= rotl(x1 &+ x0, 9)
            x3 ^= rotl(x2 &+ x1, 13); x0 ^= rotl(x3 &+ x2, 18)
            x6 ^= rotl(x5 &+ x4, 7); x7 ^= rotl(x6 &+ x5, 9)
            x4 ^= rotl(x7 &+ x6, 13); x5 ^= rotl(x4 &+ x7, 18)
            x11 ^= rotl(x10 &+ x9, 7); x8 ^= rotl(x11 &+ x10, 9)
            x9 ^= rotl(x8 &+ x11, 13); x10 ^= rotl(x9 &+ x8, 18)
            x12 ^= rotl(x15 &+ x14, 7); x13 ^= rotl(x12 &+ x15, 9)
            x14 ^= rotl(x13 &+ x12, 13); x15 ^= rotl(x14 &+ x13, 18)
        }
        b[0] &+= x0; b[1] &+= x1; b[2] &+= x2; b[3] &+= x3; b[4] &+= x4; b[5] &+= x5; b[6] &+= x6; b[7] &+= x7
        b[8] &+= x8; b[9] &+= x9; b[10] &+= x10; b[11] &+= x11; b[12] &+= x12; b[13] &+= x13; b[14] &+= x14; b[15] &+= x15
    }
}
