import WalletCrypto

/// Issue 2 figures: sign, recover, keccak-256 of 300 B, keystore unlock.
enum WalletBenchmarks {
    static func run() throws {
        print("== WalletCrypto (one core) ==")
        let key = PrivateKey.generate()
        let digest = Keccak256.hash("venice-agent benchmark")
        let payload300 = [UInt8](repeating: 0xa5, count: 300)
        var sink: UInt8 = 0

        _ = Bench.measure("keccak-256, 300 B", iterations: 1000) {
            sink ^= Keccak256.hash(payload300)[0]
        }
        let sign = try Bench.measure("secp256k1 sign (32-byte digest, RFC 6979)", iterations: 100) {
            sink ^= try key.sign(digest: digest).v
        }
        let signature = try key.sign(digest: digest)
        _ = try Bench.measure("secp256k1 recover signer address", iterations: 100) {
            sink ^= try signature.recoverAddress(digest: digest).bytes[0]
        }
        let message = [UInt8](repeating: 0x41, count: 300)
        _ = Bench.measure("EIP-191 personal_sign, 300 B message", iterations: 100) {
            sink ^= key.signPersonalMessage(message).v
        }
        var password = Array("benchmark password".utf8)
        let secret = SecretBytes(zeroingSource: &password)
        for (n, label) in [(8192, "keystore unlock, scrypt N=2^13 r=8 (Foundry)"), (262_144, "keystore unlock, scrypt N=2^18 r=8 (default)")] {
            let json = try Keystore.encrypt(key, password: secret, scryptN: n)
            _ = try Bench.measure(label, minimum: .seconds(2)) {
                sink ^= try Keystore.decrypt(json, password: secret).address.bytes[0]
            }
        }
        print("raw sign cost for comparisons: \(Bench.format(sign * 1e6, 2)) µs (sink \(sink))")
    }
}
