// libFuzzer harness for the SIWE parser and the SIWX / x402 header decoders.
// Built only by scripts/fuzz.sh (VENICE_FUZZ=1, -sanitize=fuzzer, -parse-as-library); the
// normal package build never sees this target.
import WalletCrypto
import X402Protocol

private let verifier = SiwxVerifier()
private let now: Int64 = 1_767_225_660_000

private func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out = [UInt8]()
    var i = 0
    while i < bytes.count {
        let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
        out.append(table[Int(b0 >> 2)])
        out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
        out.append(i + 1 < bytes.count ? table[Int((b1 & 15) << 2 | b2 >> 6)] : 61)
        out.append(i + 2 < bytes.count ? table[Int(b2 & 63)] : 61)
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    // 1. Strict SIWE parser. Invariant: whatever parses re-renders to exactly the input,
    //    and the rendering parses back to equal fields.
    if let message = try? SiweMessage(parsing: text) {
        let rendered = message.text
        precondition(rendered == text, "parse/render round trip changed the text")
        guard let again = try? SiweMessage(parsing: rendered) else { preconditionFailure("rendered text does not parse") }
        precondition(again == message, "re-parse gave different fields")
    }
    _ = try? SiweTimestamp(parsing: text)

    // 2. SIWX header decoder: as given (header text), and as the JSON inside a valid base64 envelope.
    _ = try? verifier.verify(headerValue: text, nowMilliseconds: now)
    _ = try? verifier.verify(headerValue: base64(bytes), nowMilliseconds: now)

    // 3. x402 decoders on the same JSON.
    _ = try? PaymentPayload(headerValue: base64(bytes))
    _ = try? PaymentRequired(body: bytes)
    _ = try? SettlementResponse(headerValue: base64(bytes))
    _ = Venice402Body(body: bytes)
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

@_cdecl("fuzz_siwe_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
