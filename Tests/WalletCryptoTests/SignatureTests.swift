import Testing
import WalletCrypto

@Suite("EIP-191 personal_sign and recovery")
struct SignatureTests {
    @Test("personal_sign digests and signatures equal eth-account's", arguments: Vectors.list("personal_sign"))
    func personalSign(vector: JSONValue) throws {
        let id = vector["id"]?.s ?? "?"
        let k = try key(vector["private"]?.s ?? "")
        let message = Vectors.bytes(vector["message"]?.s)
        #expect(Hex.encode(EIP191.personalMessageDigest(message)) == vector["digest"]?.s, "vector \(id)")
        let signature = k.signPersonalMessage(message)
        #expect(signature.hex == vector["signature"]?.s, "vector \(id)")
        #expect(try EIP191.recoverSigner(message: message, signature: signature).checksummed == vector["signer"]?.s, "vector \(id)")
    }

    @Test("the high-s twin of a valid signature is rejected on recovery")
    func highS() throws {
        let twin = try Signature(hex: Vectors.root["high_s_twin_of_V1"]?.s ?? "")
        #expect(!twin.isLowS)
        #expect(throws: WalletCryptoError.highS) {
            try EIP191.recoverSigner(message: Array("Hello, world!".utf8), signature: twin)
        }
    }

    @Test("v of 0/1 is normalised to 27/28 and other values are rejected")
    func recoveryIds() throws {
        let good = try Signature(hex: "0x2a73ec42acd33331635dcab78139d763b36ba303fc64940acd5f6797f83a78e16cf49ce6937869cf5144c10c3bcfc07d25a3155cd96315176775c812f700173a1c")
        var bytes = good.bytes
        bytes[64] = 1
        #expect(try Signature(bytes: bytes).v == 28)
        for bad: UInt8 in [2, 26, 29, 35, 36, 255] {
            bytes[64] = bad
            #expect(throws: WalletCryptoError.invalidRecoveryId(bad)) { try Signature(bytes: bytes) }
        }
    }

    @Test("short, long, zero-r and out-of-range-s signatures are rejected")
    func malformed() throws {
        #expect(throws: WalletCryptoError.self) { try Signature(bytes: [UInt8](repeating: 1, count: 64)) }
        #expect(throws: WalletCryptoError.self) { try Signature(bytes: [UInt8](repeating: 1, count: 66)) }
        #expect(throws: WalletCryptoError.self) { try Signature(bytes: [UInt8](repeating: 0, count: 64) + [27]) }
        let nBytes = try Hex.decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
        #expect(throws: WalletCryptoError.self) { try Signature(bytes: [UInt8](repeating: 1, count: 32) + nBytes + [27]) }
        #expect(throws: WalletCryptoError.self) { try Signature(hex: "0xzz") }
    }

    @Test("a signature recovers to a different address for a different message")
    func wrongMessage() throws {
        let k = PrivateKey.generate()
        let sig = k.signPersonalMessage(Array("one".utf8))
        #expect(try EIP191.recoverSigner(message: Array("two".utf8), signature: sig) != k.address)
        #expect(try EIP191.recoverSigner(message: Array("one".utf8), signature: sig) == k.address)
    }

    @Test("signatures are deterministic (RFC 6979) and always low-s")
    func deterministicLowS() throws {
        let k = PrivateKey.generate()
        for i in 0..<50 {
            let m = Array("message \(i)".utf8)
            let a = k.signPersonalMessage(m), b = k.signPersonalMessage(m)
            #expect(a == b)
            #expect(a.isLowS)
        }
    }

    @Test("raw signing refuses digests that are not 32 bytes")
    func digestLength() {
        let k = PrivateKey.generate()
        #expect(throws: WalletCryptoError.self) { try k.sign(digest: [1, 2, 3]) }
    }
}
