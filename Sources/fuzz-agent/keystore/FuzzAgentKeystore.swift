// libFuzzer harness for the Web3 Secret Storage v3 keystore parser: Keystore.address(inKeystore:),
// Keystore.decrypt(_:password:) and the scrypt parameter check Scrypt.validate.
// Built only by scripts/fuzz.sh (VENICE_FUZZ=1, -sanitize=fuzzer, -parse-as-library); the
// normal package build never sees this target.
//
// The keystore file is the one input whose parser also runs a KDF. A large scrypt / PBKDF2 cost
// is legitimate and slow, not a bug, so decryption is skipped for inputs that ask for more than
// a small cost (below); the parameter validation still runs on whatever numbers the input holds.
@testable import WalletCrypto

/// The password every seed keystore is encrypted with (Tests/Fuzz/seeds-agent-keystore).
private let password: SecretBytes = {
    var bytes = Array("testpassword".utf8)
    return SecretBytes(zeroingSource: &bytes)
}()

/// Largest KDF work decrypted per input: scrypt n·r·p, PBKDF2 rounds. scrypt's ROMix is Swift,
/// and this build is -Onone with coverage instrumentation: n·r·p = 2^13 takes ~5 s here, 2^8
/// ~0.1 s, so 2^8 it is (PBKDF2 is OpenSSL's and cheap).
private let maxScryptCost = 1 << 8
private let maxPBKDF2Rounds = 10_000

/// Validation invariant: accepted parameters are the ones derive() can afford.
private func checkValidate(n: Int, r: Int, p: Int, dkLen: Int) -> Bool {
    guard (try? Scrypt.validate(n: n, r: r, p: p, dkLen: dkLen)) != nil else { return false }
    precondition(n > 1 && n.nonzeroBitCount == 1, "n = \(n) accepted")
    precondition((1...64).contains(r) && (1...64).contains(p) && (1...1024).contains(dkLen), "r/p/dklen accepted out of range")
    let (memory, overflow) = (128 * r).multipliedReportingOverflow(by: n)
    precondition(!overflow && memory <= Scrypt.maxMemoryBytes, "n = \(n), r = \(r) accepted past the memory cap")
    return true
}

/// Reads a big-endian Int64 from `bytes` at `offset` (zero-padded past the end).
private func word(_ bytes: [UInt8], _ offset: Int) -> Int {
    var v: UInt64 = 0
    for i in offset..<offset + 8 { v = v << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
    return Int(Int64(bitPattern: v))
}

/// Whether decrypting `root` would run an expensive KDF. Reads the parameters exactly as
/// Keystore.parseKDF does (same JSONValue accessors), so the product sees the same numbers.
private func tooCostly(_ root: JSONValue) -> Bool {
    guard let crypto = (root["crypto"] ?? root["Crypto"])?.objectValue,
          let params = crypto["kdfparams"]?.objectValue else { return false }
    switch crypto["kdf"]?.stringValue {
    case "scrypt":
        guard let n = params["n"]?.intValue, let r = params["r"]?.intValue, let p = params["p"]?.intValue else { return false }
        // Always fuzz the validation with whatever numbers were found (dklen as given, else 32).
        let valid = checkValidate(n: n, r: r, p: p, dkLen: params["dklen"]?.intValue ?? 32)
        guard valid else { return false }  // decrypt refuses these before deriving anything
        let (nr, o1) = n.multipliedReportingOverflow(by: r)
        let (cost, o2) = nr.multipliedReportingOverflow(by: p)
        return o1 || o2 || cost > maxScryptCost
    case "pbkdf2":
        guard let c = params["c"]?.intValue else { return false }
        return c > maxPBKDF2Rounds
    default:
        return false
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // 1. Scrypt.validate on raw numbers (the first 32 bytes as four big-endian Int64), so its
    //    overflow checks see extreme values and not only what survives JSON.
    _ = checkValidate(n: word(bytes, 0), r: word(bytes, 8), p: word(bytes, 16), dkLen: word(bytes, 24))

    // 2. The declared address (read without the password, for `key show`). Invariant: an
    //    accepted address round-trips through its EIP-55 form.
    let declared = try? Keystore.address(inKeystore: bytes)
    if let address = declared ?? nil {
        precondition((try? EthereumAddress(address.checksummed)) == address, "EIP-55 round trip changed the address")
    }

    // 3. Decryption with the seeds' password, unless the KDF is costly (then only validated).
    guard let root = try? JSONValue(parsing: bytes) else {
        precondition((try? Keystore.decrypt(bytes, password: password)) == nil, "a keystore that is not JSON decrypted")
        return 0
    }
    if tooCostly(root) { return 0 }
    // Invariant: a keystore that decrypts declares no address, or the decrypted key's address.
    if let key = try? Keystore.decrypt(bytes, password: password) {
        let stated: EthereumAddress?
        do { stated = try Keystore.address(inKeystore: bytes) } catch {
            preconditionFailure("a keystore that decrypts has an unreadable address field: \(error)")
        }
        precondition(stated == nil || stated == key.address, "decrypted key does not match the declared address")
    }
    return 0
}

// SwiftPM links executables with `main` aliased to `<module>_main`; hand control to libFuzzer's
// driver from there (LLVMFuzzerRunDriver, LLVM ≥ 11), so the target builds as a normal product.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("fuzz_agent_keystore_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
