import Foundation
import Testing
import WalletCrypto

@Suite("Keystore v3")
struct KeystoreTests {
    static func password(_ s: String) -> SecretBytes {
        var b = Array(s.utf8)
        return SecretBytes(zeroingSource: &b)
    }

    static func vector(_ id: String) -> JSONValue {
        Vectors.list("keystores").first { $0["id"]?.s == id } ?? .null
    }

    @Test("official pbkdf2, official scrypt (r=1, N=2^18) and a Foundry-style scrypt keystore decrypt",
          arguments: ["KS1-pbkdf2", "KS2-scrypt-r1", "KS3-scrypt-foundry"])
    func decryptVectors(id: String) throws {
        let v = Self.vector(id)
        let json = v["json"]?.serializedBytes() ?? []
        let key = try Keystore.decrypt(json, password: Self.password(v["password"]?.s ?? ""))
        #expect(key.address.checksummed == v["address"]?.s, "vector \(id)")
        #expect(key.withUnsafeSecretBytes { Hex.encode($0) } == v["private"]?.s, "vector \(id)")
    }

    @Test("a wrong password fails with a MAC error, not a crash")
    func wrongPassword() {
        let v = Self.vector("KS3-scrypt-foundry")
        #expect(throws: WalletCryptoError.wrongPasswordOrCorrupted) {
            try Keystore.decrypt(v["json"]?.serializedBytes() ?? [], password: Self.password("wrong"))
        }
    }

    @Test("tampered ciphertext or MAC is detected", arguments: ["ciphertext", "mac"])
    func tampered(field: String) throws {
        let v = Self.vector("KS3-scrypt-foundry")
        guard case .object(var root) = v["json"] ?? .null, case .object(var crypto) = root["crypto"] ?? .null else {
            Issue.record("vector missing"); return
        }
        var hex = Array(crypto[field]?.s ?? "")
        hex[10] = hex[10] == "0" ? "1" : "0"
        crypto[field] = .string(String(hex))
        root["crypto"] = .object(crypto)
        #expect(throws: WalletCryptoError.wrongPasswordOrCorrupted) {
            try Keystore.decrypt(JSONValue.object(root).serializedBytes(), password: Self.password(v["password"]?.s ?? ""))
        }
    }

    @Test("unknown kdf, unknown cipher and malformed files are named errors")
    func unsupported() throws {
        let v = Self.vector("KS3-scrypt-foundry")
        guard case .object(var root) = v["json"] ?? .null, case .object(var crypto) = root["crypto"] ?? .null else { return }
        crypto["kdf"] = "argon2"
        root["crypto"] = .object(crypto)
        #expect(throws: WalletCryptoError.unsupportedKeystore("kdf argon2")) {
            try Keystore.decrypt(JSONValue.object(root).serializedBytes(), password: Self.password("x"))
        }
        crypto["kdf"] = "scrypt"
        crypto["cipher"] = "aes-256-cbc"
        root["crypto"] = .object(crypto)
        #expect(throws: WalletCryptoError.unsupportedKeystore("cipher aes-256-cbc")) {
            try Keystore.decrypt(JSONValue.object(root).serializedBytes(), password: Self.password("x"))
        }
        #expect(throws: WalletCryptoError.self) { try Keystore.decrypt(Array("not json".utf8), password: Self.password("x")) }
        #expect(throws: WalletCryptoError.self) { try Keystore.decrypt(Array("{}".utf8), password: Self.password("x")) }
    }

    @Test("absurd scrypt parameters are refused before allocating")
    func scryptBounds() {
        #expect(throws: WalletCryptoError.self) { try Scrypt.validate(n: 1 << 30, r: 8, p: 1, dkLen: 32) }
        #expect(throws: WalletCryptoError.self) { try Scrypt.validate(n: 1000, r: 8, p: 1, dkLen: 32) }
    }

    @Test("scrypt matches RFC 7914 test vector 2")
    func rfc7914() throws {
        let dk = try Scrypt.derive(password: Self.password("password"), salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16, dkLen: 64)
        #expect(dk.withUnsafeBytes { Hex.encode($0) } ==
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    @Test("encrypt then decrypt round-trips, and the file is written 0600 and never overwritten")
    func roundTrip() throws {
        let key = PrivateKey.generate()
        let json = try Keystore.encrypt(key, password: Self.password("pw"), scryptN: 1024)
        let back = try Keystore.decrypt(json, password: Self.password("pw"))
        #expect(back.address == key.address)
        #expect(try Keystore.address(inKeystore: json) == key.address)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("key.json").path
        try SecureFile.write(json, to: path, overwrite: false)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(throws: WalletCryptoError.self) { try SecureFile.write(json, to: path, overwrite: false) }
        #expect(try SecureFile.read(path) == json)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["key.json"])
    }

    @Test("a password file's single trailing newline is not part of the password")
    func passwordFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("secret\n\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try SecureFile.readPassword(path).withUnsafeBytes { Array($0) } == Array("secret\n".utf8))
        try Data("secret\r\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try SecureFile.readPassword(path).withUnsafeBytes { Array($0) } == Array("secret".utf8))
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("number literals survive a round trip exactly")
    func literals() throws {
        let text = #"{"big":115792089237316195423570985008687907853269984665640564039457584007913129639935,"neg":-1.5e3,"s":"a\"b\n\u00e9","a":[true,false,null]}"#
        let v = try JSONValue(parsing: text)
        #expect(v["big"]?.numberLiteral == "115792089237316195423570985008687907853269984665640564039457584007913129639935")
        #expect(v["s"]?.stringValue == "a\"b\né")
        #expect(try JSONValue(parsing: v.serialized()) == v)
    }

    @Test("malformed JSON is rejected, deep nesting is bounded", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "{\"a\" 1}", "[1] 2", "\"\\ud800\"",
        String(repeating: "[", count: 10_000),
    ])
    func malformed(text: String) {
        #expect(throws: WalletCryptoError.self) { try JSONValue(parsing: text) }
    }
}
