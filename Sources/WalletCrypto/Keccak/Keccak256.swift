/// Keccak-256 as Ethereum uses it: the original Keccak submission (padding byte 0x01),
/// not FIPS-202 SHA3-256 (padding 0x06), which OpenSSL offers instead.
public enum Keccak256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    public static func hash(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = Keccak256Hasher()
        hasher.update(buffer)
        return hasher.finalize()
    }
}

/// Incremental Keccak-256: `update` any number of times, then `finalize` once.
public struct Keccak256Hasher: Sendable {
    static let rate = 136
    private var state = KeccakState()
    private var buffer = KeccakBlock()
    private var buffered = 0

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        var offset = 0
        let count = input.count
        if buffered > 0 {
            let take = min(Self.rate - buffered, count)
            buffer.copy(from: input, offset: 0, count: take, at: buffered)
            buffered += take
            offset = take
            if buffered == Self.rate {
                buffer.withBytes { state.absorb(block: $0) }
                buffered = 0
            }
        }
        while count - offset >= Self.rate {
            state.absorb(block: UnsafeRawBufferPointer(rebasing: input[offset..<offset + Self.rate]))
            offset += Self.rate
        }
        if offset < count {
            buffer.copy(from: input, offset: offset, count: count - offset, at: 0)
            buffered = count - offset
        }
    }

    public mutating func finalize() -> [UInt8] {
        buffer.pad(from: buffered)
        buffer.withBytes { state.absorb(block: $0) }
        buffered = 0
        return state.squeeze32()
    }
}

/// One 136-byte block of input, kept inline (no heap).
struct KeccakBlock: Sendable {
    private var lanes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    mutating func copy(from src: UnsafeRawBufferPointer, offset: Int, count: Int, at position: Int) {
        withUnsafeMutableBytes(of: &lanes) { dst in
            guard count > 0, let base = src.baseAddress, let d = dst.baseAddress else { return }
            (d + position).copyMemory(from: base + offset, byteCount: count)
        }
    }

    mutating func pad(from position: Int) {
        withUnsafeMutableBytes(of: &lanes) { dst in
            for i in position..<Keccak256Hasher.rate { dst[i] = 0 }
            dst[position] ^= 0x01
            dst[Keccak256Hasher.rate - 1] ^= 0x80
        }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: lanes) { body($0) }
    }
}

/// The 1600-bit Keccak state and the Keccak-f[1600] permutation (24 rounds).
struct KeccakState: Sendable {
    private var a: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    private static let roundConstants: [UInt64] = [
        0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
        0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
        0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
        0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
        0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
        0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
    ]

    mutating func absorb(block: UnsafeRawBufferPointer) {
        withUnsafeMutableBytes(of: &a) { raw in
            let s = raw.bindMemory(to: UInt64.self)
            for i in 0..<17 {
                s[i] ^= UInt64(littleEndian: block.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
            }
            Self.permute(s)
        }
    }

    func squeeze32() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: a) { raw in
            let s = raw.bindMemory(to: UInt64.self)
            out.withUnsafeMutableBytes { o in
                for i in 0..<4 {
                    o.storeBytes(of: s[i].littleEndian, toByteOffset: i * 8, as: UInt64.self)
                }
            }
        }
        return out
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { (x << n) | (x >> (64 &- n)) }

    /// Keccak-f[1600] on lanes indexed x + 5y.
    private static func permute(_ s: UnsafeMutableBufferPointer<UInt64>) {
        var a00 = s[0], a10 = s[1], a20 = s[2], a30 = s[3], a40 = s[4]
        var a01 = s[5], a11 = s[6], a21 = s[7], a31 = s[8], a41 = s[9]
        var a02 = s[10], a12 = s[11], a22 = s[12], a32 = s[13], a42 = s[14]
        var a03 = s[15], a13 = s[16], a23 = s[17], a33 = s[18], a43 = s[19]
        var a04 = s[20], a14 = s[21], a24 = s[22], a34 = s[23], a44 = s[24]
        roundConstants.withUnsafeBufferPointer { rc in
            for round in 0..<24 {
                // theta
                let c0 = a00 ^ a01 ^ a02 ^ a03 ^ a04
                let c1 = a10 ^ a11 ^ a12 ^ a13 ^ a14
                let c2 = a20 ^ a21 ^ a22 ^ a23 ^ a24
                let c3 = a30 ^ a31 ^ a32 ^ a33 ^ a34
                let c4 = a40 ^ a41 ^ a42 ^ a43 ^ a44
                let d0 = c4 ^ rotl(c1, 1)
                let d1 = c0 ^ rotl(c2, 1)
                let d2 = c1 ^ rotl(c3, 1)
                let d3 = c2 ^ rotl(c4, 1)
                let d4 = c3 ^ rotl(c0, 1)
                a00 ^= d0; a01 ^= d0; a02 ^= d0; a03 ^= d0; a04 ^= d0
                a10 ^= d1; a11 ^= d1; a12 ^= d1; a13 ^= d1; a14 ^= d1
                a20 ^= d2; a21 ^= d2; a22 ^= d2; a23 ^= d2; a24 ^= d2
                a30 ^= d3; a31 ^= d3; a32 ^= d3; a33 ^= d3; a34 ^= d3
                a40 ^= d4; a41 ^= d4; a42 ^= d4; a43 ^= d4; a44 ^= d4
                // rho + pi: B[y][2x+3y] = rotl(A[x][y], ROT[x][y]); bXY names B[x][y].
                let b00 = a00
                let b13 = rotl(a01, 36)
                let b21 = rotl(a02, 3)
                let b34 = rotl(a03, 41)
                let b42 = rotl(a04, 18)
                let b02 = rotl(a10, 1)
                let b10 = rotl(a11, 44)
                let b23 = rotl(a12, 10)
                let b31 = rotl(a13, 45)
                let b44 = rotl(a14, 2)
                let b04 = rotl(a20, 62)
                let b12 = rotl(a21, 6)
                let b20 = rotl(a22, 43)
                let b33 = rotl(a23, 15)
                let b41 = rotl(a24, 61)
                let b01 = rotl(a30, 28)
                let b14 = rotl(a31, 55)
                let b22 = rotl(a32, 25)
                let b30 = rotl(a33, 21)
                let b43 = rotl(a34, 56)
                let b03 = rotl(a40, 27)
                let b11 = rotl(a41, 20)
                let b24 = rotl(a42, 39)
                let b32 = rotl(a43, 8)
                let b40 = rotl(a44, 14)
                // chi
                a00 = b00 ^ (~b10 & b20); a10 = b10 ^ (~b20 & b30); a20 = b20 ^ (~b30 & b40)
                a30 = b30 ^ (~b40 & b00); a40 = b40 ^ (~b00 & b10)
                a01 = b01 ^ (~b11 & b21); a11 = b11 ^ (~b21 & b31); a21 = b21 ^ (~b31 & b41)
                a31 = b31 ^ (~b41 & b01); a41 = b41 ^ (~b01 & b11)
                a02 = b02 ^ (~b12 & b22); a12 = b12 ^ (~b22 & b32); a22 = b22 ^ (~b32 & b42)
                a32 = b32 ^ (~b42 & b02); a42 = b42 ^ (~b02 & b12)
                a03 = b03 ^ (~b13 & b23); a13 = b13 ^ (~b23 & b33); a23 = b23 ^ (~b33 & b43)
                a33 = b33 ^ (~b43 & b03); a43 = b43 ^ (~b03 & b13)
                a04 = b04 ^ (~b14 & b24); a14 = b14 ^ (~b24 & b34); a24 = b24 ^ (~b34 & b44)
                a34 = b34 ^ (~b44 & b04); a44 = b44 ^ (~b04 & b14)
                // iota
                a00 ^= rc[round]
            }
        }
        s[0] = a00; s[1] = a10; s[2] = a20; s[3] = a30; s[4] = a40
        s[5] = a01; s[6] = a11; s[7] = a21; s[8] = a31; s[9] = a41
        s[10] = a02; s[11] = a12; s[12] = a22; s[13] = a32; s[14] = a42
        s[15] = a03; s[16] = a13; s[17] = a23; s[18] = a33; s[19] = a43
        s[20] = a04; s[21] = a14; s[22] = a24; s[23] = a34; s[24] = a44
    }
}
