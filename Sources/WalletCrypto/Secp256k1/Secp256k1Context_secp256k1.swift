internal import CSecp256k1

/// The process-wide libsecp256k1 context: created once and randomized once (side-channel
/// blinding). After that it is only read, which libsecp256k1 allows from any thread.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let raw: OpaquePointer

    private init() {
        guard let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            preconditionFailure("secp256k1_context_create failed: out of memory")
        }
        var seed = SecureRandom.bytes(count: 32)
        let ok = seed.withUnsafeBufferPointer { secp256k1_context_randomize(ctx, $0.baseAddress) }
        MemoryHygiene.zero(&seed)
        precondition(ok == 1, "secp256k1_context_randomize failed")
        raw = ctx
    }
}

/// All calls into libsecp256k1. Lengths are checked by the callers before we get here.
enum Secp256k1 {
    static let orderN: [UInt8] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
    ]
    static let halfOrder: [UInt8] = [
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
    ]

    static var ctx: OpaquePointer { Secp256k1Context.shared.raw }

    static func verifySecretKey(_ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count == 32, let base = key.baseAddress else { return false }
        return secp256k1_ec_seckey_verify(ctx, base.assumingMemoryBound(to: UInt8.self)) == 1
    }

    /// Uncompressed (65-byte) public key of a verified secret key.
    static func publicKey(secret: UnsafeRawBufferPointer) -> [UInt8]? {
        guard secret.count == 32, let base = secret.baseAddress else { return nil }
        var pub = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_create(ctx, &pub, base.assumingMemoryBound(to: UInt8.self)) == 1 else { return nil }
        return serialize(&pub)
    }

    static func parsePublicKey(_ bytes: [UInt8]) -> [UInt8]? {
        var input = bytes
        if input.count == 64 { input.insert(0x04, at: 0) }
        guard input.count == 33 || input.count == 65 else { return nil }
        var pub = secp256k1_pubkey()
        let ok = input.withUnsafeBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return 0 }
            return secp256k1_ec_pubkey_parse(ctx, &pub, base, buf.count)
        }
        guard ok == 1 else { return nil }
        return serialize(&pub)
    }

    private static func serialize(_ pub: inout secp256k1_pubkey) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 65)
        var len = 65
        let ok = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return 0 }
            return secp256k1_ec_pubkey_serialize(ctx, base, &len, &pub, UInt32(SECP256K1_EC_UNCOMPRESSED))
        }
        guard ok == 1, len == 65 else { return nil }
        return out
    }

    /// RFC 6979 deterministic, low-s recoverable signature: 64-byte r||s and recovery id.
    static func signRecoverable(digest: UnsafeRawBufferPointer, secret: UnsafeRawBufferPointer) -> (rs: [UInt8], recid: Int32)? {
        guard digest.count == 32, secret.count == 32,
              let d = digest.baseAddress, let k = secret.baseAddress else { return nil }
        var sig = secp256k1_ecdsa_recoverable_signature()
        guard secp256k1_ecdsa_sign_recoverable(ctx, &sig, d.assumingMemoryBound(to: UInt8.self),
                                               k.assumingMemoryBound(to: UInt8.self), nil, nil) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: 64)
        var recid: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return 0 }
            return secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, base, &recid, &sig)
        }
        guard ok == 1 else { return nil }
        return (out, recid)
    }

    /// Recovers the uncompressed public key; nil when no point recovers.
    static func recover(digest: [UInt8], rs: [UInt8], recid: Int32) -> [UInt8]? {
        guard digest.count == 32, rs.count == 64, recid == 0 || recid == 1 else { return nil }
        var sig = secp256k1_ecdsa_recoverable_signature()
        let parsed = rs.withUnsafeBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return 0 }
            return secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, base, recid)
        }
        guard parsed == 1 else { return nil }
        var pub = secp256k1_pubkey()
        let ok = digest.withUnsafeBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return 0 }
            return secp256k1_ecdsa_recover(ctx, &pub, &sig, base)
        }
        guard ok == 1 else { return nil }
        return serialize(&pub)
    }

    /// Big-endian comparison of two 32-byte integers.
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for i in 0..<32 where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        return 0
    }

    static func isZero(_ a: [UInt8]) -> Bool { a.allSatisfy { $0 == 0 } }
}
