import Testing
import WalletCrypto

@Suite("secp256k1 keys and addresses")
struct KeyTests {
    @Test("public keys and addresses match the PROTOCOLS.md key vectors", arguments: Vectors.list("keys"))
    func keyVectors(vector: JSONValue) throws {
        let k = try key(vector["private"]?.s ?? "")
        #expect(Hex.encode(k.publicKey.uncompressed) == vector["public"]?.s, "vector \(vector["id"]?.s ?? "?")")
        #expect(k.address.checksummed == vector["address"]?.s, "vector \(vector["id"]?.s ?? "?")")
    }

    @Test("private keys 0, n and above n are rejected", arguments: [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ])
    func invalidPrivateKeys(hex: String) {
        #expect(throws: WalletCryptoError.invalidPrivateKey) { try key(hex) }
    }

    @Test("private keys of the wrong length are rejected")
    func wrongLength() {
        #expect(throws: WalletCryptoError.self) { try key("01") }
        #expect(throws: WalletCryptoError.self) { try key(String(repeating: "01", count: 33)) }
    }

    @Test("generated keys are valid and distinct")
    func generate() {
        let a = PrivateKey.generate(), b = PrivateKey.generate()
        #expect(a.address != b.address)
        #expect(a.publicKey.uncompressed.count == 65)
    }

    @Test("a private key never shows its secret in description, debugDescription, dump or interpolation")
    func redaction() throws {
        let hex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
        let k = try key(hex)
        var dumped = ""
        dump(k, to: &dumped)
        let renderings = [k.description, k.debugDescription, "\(k)", String(describing: k), String(reflecting: k), dumped]
        for text in renderings {
            #expect(!text.lowercased().contains(hex))
            #expect(!text.lowercased().contains(String(hex.prefix(16))))
            #expect(text.contains("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23") || text.contains("redacted"))
        }
    }

    @Test("secret bytes are zeroed by zeroize")
    func zeroize() {
        var source: [UInt8] = [1, 2, 3, 4]
        let secret = SecretBytes(zeroingSource: &source)
        #expect(source.isEmpty)
        #expect(secret.withUnsafeBytes { Array($0) } == [1, 2, 3, 4])
        secret.zeroize()
        #expect(secret.withUnsafeBytes { Array($0) } == [0, 0, 0, 0])
    }

    @Test("public keys parse from compressed, raw and uncompressed forms")
    func publicKeyForms() throws {
        let k = try key("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        let full = k.publicKey.uncompressed
        #expect(try PublicKey(bytes: full) == k.publicKey)
        #expect(try PublicKey(bytes: Array(full[1...])) == k.publicKey)
        let compressed = [UInt8(full[64] & 1 == 0 ? 2 : 3)] + Array(full[1..<33])
        #expect(try PublicKey(bytes: compressed) == k.publicKey)
        #expect(throws: WalletCryptoError.invalidPublicKey) { try PublicKey(bytes: [4] + [UInt8](repeating: 0, count: 64)) }
    }
}

@Suite("EIP-55 addresses")
struct AddressTests {
    @Test("the official EIP-55 list round-trips", arguments: Vectors.list("eip55"))
    func official(address: JSONValue) throws {
        let s = address.s
        let parsed = try EthereumAddress(s)
        #expect(parsed.checksummed == s)
        #expect(try EthereumAddress(s.lowercased()) == parsed)
    }

    @Test("all-lowercase and all-uppercase hex are accepted")
    func caseInsensitiveForms() throws {
        let a = try EthereumAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
        let b = try EthereumAddress("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED")
        #expect(a == b)
        #expect(a.checksummed == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    }

    @Test("a mixed-case address with a wrong checksum is rejected")
    func badChecksum() {
        #expect(throws: WalletCryptoError.badChecksum("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")) {
            try EthereumAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
        }
    }

    @Test("malformed addresses are rejected with a clear error", arguments: [
        "", "0x", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd", "0xZaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ])
    func malformed(input: String) {
        #expect(throws: WalletCryptoError.self) { try EthereumAddress(input) }
        do { _ = try EthereumAddress(input) } catch { #expect(error.description.contains("address")) }
    }
}
