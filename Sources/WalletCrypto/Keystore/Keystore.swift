/// Web3 Secret Storage v3 keystores (geth, Foundry `cast wallet`, eth-keyfile).
public enum Keystore {
    public static let defaultScryptN = 262_144

    struct KDF {
        enum Kind { case scrypt(n: Int, r: Int, p: Int), pbkdf2(iterations: Int) }
        let kind: Kind
        let salt: [UInt8]
        let dkLen: Int

        func derive(_ password: SecretBytes) throws(WalletCryptoError) -> SecretBytes {
            switch kind {
            case .scrypt(let n, let r, let p):
                return try Scrypt.derive(password: password, salt: salt, n: n, r: r, p: p, dkLen: dkLen)
            case .pbkdf2(let iterations):
                let dk = SecretBytes(count: dkLen)
                try password.withUnsafeBytes { pw throws(WalletCryptoError) in
                    try dk.withUnsafeMutableBytes { out throws(WalletCryptoError) in
                        try PBKDF2.sha256(password: pw, salt: salt, iterations: iterations, into: out)
                    }
                }
                return dk
            }
        }
    }

    /// Checks that `json` is a well-formed v3 keystore (version, cipher, sizes, KDF parameters)
    /// without deriving a key or needing a password; returns the address it declares, if any.
    @discardableResult
    public static func validate(_ json: some Collection<UInt8>) throws(WalletCryptoError) -> EthereumAddress? {
        let parsed = try parse(json)
        return try address(inObject: parsed.object)
    }

    struct Parsed {
        let object: JSONObject
        let iv: [UInt8]
        let ciphertext: [UInt8]
        let mac: [UInt8]
        let kdf: KDF
    }

    static func parse(_ json: some Collection<UInt8>) throws(WalletCryptoError) -> Parsed {
        let root: JSONValue
        do { root = try JSONValue(parsing: json) } catch { throw .invalidKeystore("not JSON (\(error.description))") }
        guard let object = root.objectValue else { throw .invalidKeystore("the top level must be a JSON object") }
        if let version = object["version"] {
            guard version.intValue == 3 || version.stringValue == "3" else {
                throw .unsupportedKeystore("version \(version.serialized())")
            }
        } else {
            throw .invalidKeystore("missing \"version\"")
        }
        guard let crypto = (object["crypto"] ?? object["Crypto"])?.objectValue else {
            throw .invalidKeystore("missing \"crypto\" object")
        }
        guard let cipher = crypto["cipher"]?.stringValue else { throw .invalidKeystore("missing crypto.cipher") }
        guard cipher == "aes-128-ctr" else { throw .unsupportedKeystore("cipher \(cipher)") }
        let iv = try hexField(crypto["cipherparams"]?["iv"], "crypto.cipherparams.iv")
        guard iv.count == 16 else { throw .invalidKeystore("crypto.cipherparams.iv must be 16 bytes") }
        let ciphertext = try hexField(crypto["ciphertext"], "crypto.ciphertext")
        guard ciphertext.count == 32 else { throw .invalidKeystore("crypto.ciphertext must be 32 bytes, got \(ciphertext.count)") }
        let mac = try hexField(crypto["mac"], "crypto.mac")
        guard mac.count == 32 else { throw .invalidKeystore("crypto.mac must be 32 bytes") }
        let kdf = try parseKDF(crypto)
        return Parsed(object: object, iv: iv, ciphertext: ciphertext, mac: mac, kdf: kdf)
    }

    /// Decrypts a keystore with `password` (its UTF-8 bytes as typed). A wrong password or
    /// a tampered file fails with `.wrongPasswordOrCorrupted`, never a crash.
    public static func decrypt(_ json: some Collection<UInt8>, password: SecretBytes) throws(WalletCryptoError) -> PrivateKey {
        let parsed = try parse(json)
        let (object, iv, ciphertext, mac, kdf) = (parsed.object, parsed.iv, parsed.ciphertext, parsed.mac, parsed.kdf)

        let dk = try kdf.derive(password)
        guard dk.count >= 32 else { throw .unsupportedKeystore("dklen below 32") }
        let computedMac: [UInt8] = dk.withUnsafeBytes { raw in
            var hasher = Keccak256Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[16..<32]))
            hasher.update(ciphertext)
            return hasher.finalize()
        }
        let macOK = computedMac.withUnsafeBytes { a in mac.withUnsafeBytes { b in MemoryHygiene.constantTimeEqual(a, b) } }
        guard macOK else { throw .wrongPasswordOrCorrupted }

        let plain = SecretBytes(count: 32)
        let decrypted = dk.withUnsafeBytes { key in
            ciphertext.withUnsafeBytes { input in
                plain.withUnsafeMutableBytes { out in
                    (try? SymmetricCipher.aes128ctr(key: UnsafeRawBufferPointer(rebasing: key[0..<16]), iv: iv, input: input, output: out)) != nil
                }
            }
        }
        guard decrypted else { throw .cryptoFailure("AES-128-CTR") }
        let key: PrivateKey
        do { key = try PrivateKey(secret: plain) } catch { throw .invalidKeystore("the decrypted secret is not a valid secp256k1 key") }
        if let stored = try address(inObject: object), stored != key.address {
            throw .invalidKeystore("the \"address\" field (\(stored)) does not match the decrypted key")
        }
        return key
    }

    /// Encrypts `key` as a v3 keystore with scrypt; returns the JSON bytes.
    public static func encrypt(_ key: PrivateKey, password: SecretBytes, scryptN: Int = defaultScryptN,
                               scryptR: Int = 8, scryptP: Int = 1) throws(WalletCryptoError) -> [UInt8] {
        let salt = SecureRandom.bytes(count: 32)
        let iv = SecureRandom.bytes(count: 16)
        let dk = try Scrypt.derive(password: password, salt: salt, n: scryptN, r: scryptR, p: scryptP, dkLen: 32)
        var ciphertext = [UInt8](repeating: 0, count: 32)
        let encrypted = dk.withUnsafeBytes { k in
            key.withUnsafeSecretBytes { secret in
                ciphertext.withUnsafeMutableBytes { out in
                    (try? SymmetricCipher.aes128ctr(key: UnsafeRawBufferPointer(rebasing: k[0..<16]), iv: iv, input: secret, output: out)) != nil
                }
            }
        }
        guard encrypted else { throw .cryptoFailure("AES-128-CTR") }
        let mac: [UInt8] = dk.withUnsafeBytes { raw in
            var hasher = Keccak256Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[16..<32]))
            hasher.update(ciphertext)
            return hasher.finalize()
        }
        let document: JSONValue = [
            "address": .string(Hex.encode(key.address.bytes)),
            "crypto": [
                "cipher": "aes-128-ctr",
                "cipherparams": ["iv": .string(Hex.encode(iv))],
                "ciphertext": .string(Hex.encode(ciphertext)),
                "kdf": "scrypt",
                "kdfparams": [
                    "dklen": 32, "n": .number(String(scryptN)), "p": .number(String(scryptP)),
                    "r": .number(String(scryptR)), "salt": .string(Hex.encode(salt)),
                ],
                "mac": .string(Hex.encode(mac)),
            ],
            "id": .string(uuidV4()),
            "version": 3,
        ]
        return document.serializedBytes()
    }

    /// The `address` a keystore declares, if any (no password needed).
    public static func address(inKeystore json: some Collection<UInt8>) throws(WalletCryptoError) -> EthereumAddress? {
        let root: JSONValue
        do { root = try JSONValue(parsing: json) } catch { throw .invalidKeystore("not JSON (\(error.description))") }
        guard let object = root.objectValue else { throw .invalidKeystore("the top level must be a JSON object") }
        return try address(inObject: object)
    }

    static func address(inObject object: JSONObject) throws(WalletCryptoError) -> EthereumAddress? {
        guard let value = object["address"], !value.isNull else { return nil }
        guard var s = value.stringValue else { throw .invalidKeystore("\"address\" must be a string") }
        if !s.hasPrefix("0x") { s = "0x" + s }
        do { return try EthereumAddress(s.lowercased()) } catch { throw .invalidKeystore("\"address\": \(error.description)") }
    }

    static func parseKDF(_ crypto: JSONObject) throws(WalletCryptoError) -> KDF {
        guard let name = crypto["kdf"]?.stringValue else { throw .invalidKeystore("missing crypto.kdf") }
        guard let params = crypto["kdfparams"]?.objectValue else { throw .invalidKeystore("missing crypto.kdfparams") }
        let salt = try hexField(params["salt"], "crypto.kdfparams.salt")
        let dkLen = try intField(params["dklen"], "crypto.kdfparams.dklen")
        guard dkLen == 32 else { throw .unsupportedKeystore("dklen \(dkLen) (expected 32)") }
        switch name {
        case "scrypt":
            let n = try intField(params["n"], "crypto.kdfparams.n")
            let r = try intField(params["r"], "crypto.kdfparams.r")
            let p = try intField(params["p"], "crypto.kdfparams.p")
            try Scrypt.validate(n: n, r: r, p: p, dkLen: dkLen)
            return KDF(kind: .scrypt(n: n, r: r, p: p), salt: salt, dkLen: dkLen)
        case "pbkdf2":
            let prf = params["prf"]?.stringValue ?? "hmac-sha256"
            guard prf == "hmac-sha256" else { throw .unsupportedKeystore("pbkdf2 prf \(prf)") }
            let c = try intField(params["c"], "crypto.kdfparams.c")
            guard c >= 1, c <= 100_000_000 else { throw .invalidKeystore("crypto.kdfparams.c = \(c) is out of range") }
            return KDF(kind: .pbkdf2(iterations: c), salt: salt, dkLen: dkLen)
        default:
            throw .unsupportedKeystore("kdf \(name)")
        }
    }

    static func hexField(_ value: JSONValue?, _ name: String) throws(WalletCryptoError) -> [UInt8] {
        guard let s = value?.stringValue else { throw .invalidKeystore("missing \(name)") }
        do { return try Hex.decode(s) } catch { throw .invalidKeystore("\(name): \(error.description)") }
    }

    static func intField(_ value: JSONValue?, _ name: String) throws(WalletCryptoError) -> Int {
        guard let v = value?.intValue else { throw .invalidKeystore("\(name) must be an integer") }
        return v
    }

    static func uuidV4() -> String {
        var b = SecureRandom.bytes(count: 16)
        b[6] = (b[6] & 0x0f) | 0x40
        b[8] = (b[8] & 0x3f) | 0x80
        let h = Hex.encode(b)
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
