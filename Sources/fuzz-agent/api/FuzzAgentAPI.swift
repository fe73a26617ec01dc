// libFuzzer harness for the parsers the agent runs on untrusted bytes at its API: JSON request
// bodies (JSONValue, the unlock password scanner SecretJSONField, the mint-key body, USD
// amounts), the client-token lookup over request headers and target, the multipart `model`
// sniffer and form splitter, the audio-length bound, and the CLI's parser of the (possibly
// hostile) server's HTTP response.
// Built only by scripts/fuzz.sh (VENICE_FUZZ=1, -sanitize=fuzzer, -parse-as-library); the
// normal package build never sees this target.
//
// Every input goes to every parser; the ones that need structure read it as lines:
//   line 1            request target (ClientToken) / Content-Type (MultipartField)
//   further lines     `Name: value` request headers (ClientToken) / the multipart body
// and the whole input is also a JSON body and a raw HTTP response.
@testable import AgentCore
import HTTPTypes
import WalletCrypto
import X402Protocol

private let newline = UInt8(ascii: "\n")
private let colon = UInt8(ascii: ":")

/// Containers nested in `value` (0 for a scalar): the depth the two JSON scanners limit.
private func nesting(_ value: JSONValue) -> Int {
    switch value {
    case .array(let items): 1 + (items.map(nesting).max() ?? 0)
    case .object(let object): 1 + (object.map { nesting($0.value) }.max() ?? 0)
    default: 0
    }
}

/// Reference check for "carries a client token": `vat_` with v, a, t in any ASCII case.
private func carriesMarker<C: Collection<UInt8>>(_ bytes: C) -> Bool {
    let b = Array(bytes)
    guard b.count >= 4 else { return false }
    for i in 0...(b.count - 4) where b[i] | 0x20 == 0x76 && b[i + 1] | 0x20 == 0x61 && b[i + 2] | 0x20 == 0x74 && b[i + 3] == 0x5F {
        return true
    }
    return false
}

private func isLowerHex(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x61...0x66).contains(b) }

// MARK: JSON bodies

private func fuzzJSON(_ bytes: [UInt8]) {
    // 1. JSONValue. Invariant: a value that parses serializes to JSON that parses to an equal
    //    value, and serializing that again gives the very same bytes (serialization is stable).
    let parsed = try? JSONValue(parsing: bytes)
    if let parsed {
        let once = parsed.serializedBytes()
        guard let again = try? JSONValue(parsing: once) else {
            preconditionFailure("the serialization of a parsed value does not parse: \(String(decoding: once, as: UTF8.self))")
        }
        precondition(again == parsed, "serialize → parse changed the value")
        precondition(again.serializedBytes() == once, "serialization is not stable")
        precondition(parsed.serialized() == String(decoding: once, as: UTF8.self), "serialized() and serializedBytes() differ")
        // The typed accessors never trap on any literal.
        _ = parsed.intValue; _ = parsed.doubleValue
        if let object = parsed.objectValue {
            for (_, value) in object { _ = value.intValue; _ = value.doubleValue; _ = value.stringValue }
        }
    }

    // 2. SecretJSONField (the unlock body). Invariant: it agrees with JSONValue. When JSONValue
    //    accepts the body and it is not nested past SecretJSONField's own limit (32), the scanner
    //    must find exactly the same "password" bytes, or fail for the same reason (not an object,
    //    missing, not a string). It may accept more (raw, non-UTF-8 password bytes are fine).
    let secret: Result<SecretBytes, SecretJSONField.Failure> = bytes.withUnsafeBytes { raw in
        Result { () throws(SecretJSONField.Failure) in try SecretJSONField.string("password", in: raw) }
    }
    if let parsed, nesting(parsed) <= 30 {
        switch (parsed.objectValue?["password"], secret) {
        case (_, .success) where parsed.objectValue == nil:
            preconditionFailure("SecretJSONField took a password out of a body that is not an object")
        case (.string(let expected)?, .success(let found)):
            let same = found.withUnsafeBytes { Array($0) == Array(expected.utf8) }
            precondition(same, "SecretJSONField read different password bytes than JSONValue")
        case (.string?, .failure(let failure)):
            preconditionFailure("SecretJSONField refused a valid body with a string password: \(failure)")
        case (nil, .failure(let failure)):
            if parsed.objectValue == nil {
                precondition(failure == .notAnObject, "a non-object body failed as \(failure), not notAnObject")
            } else {
                precondition(failure == .missing(field: "password"), "a body without password failed as \(failure)")
            }
        case (nil, .success):
            preconditionFailure("SecretJSONField found a password JSONValue does not see")
        case (_?, .success):
            preconditionFailure("SecretJSONField accepted a password that is not a JSON string")
        case (_?, .failure(let failure)):
            precondition(failure == .notAString(field: "password"), "a non-string password failed as \(failure)")
        }
    }

    // 3. Bodies of POST /agent/v1/keys, /clients and /topup (only objects get that far).
    //    Invariant: an accepted mint request satisfies the rules parse() promises.
    guard let parsed, parsed.objectValue != nil else { return }
    if let mint = try? ApiKeyService.parse(parsed) {
        precondition(mint.type == "ADMIN" || mint.type == "INFERENCE", "mint type \(mint.type) accepted")
        precondition(mint.description.map { $0.count <= 64 } ?? true, "description over 64 characters accepted")
        precondition(mint.limitPeriod.map { ["EPOCH", "MONTH", "LIFETIME"].contains($0) } ?? true, "limit_period accepted")
        precondition(mint.expiresAt.map { !$0.isEmpty && Timestamp.milliseconds($0) != nil } ?? true, "expires_at accepted")
    }
    // USD amounts (clients, top-up): the body's number literal as a Double, then micro-units.
    //    Invariant: every amount in 0…$1,000,000 (the range the API accepts) converts, within range.
    for key in ["max_request_usd", "daily_usd", "usd", "usd_limit", "diem_limit"] {
        guard let usd = parsed[key]?.doubleValue, usd >= 0, usd <= 1_000_000 else { continue }
        guard let micro = Money.micro(usd: usd) else { preconditionFailure("\(key) = \(usd) has no micro-USD value") }
        precondition((0...1_000_000_000_000).contains(micro), "\(key) = \(usd) gave \(micro) micro-USD")
    }
}

// MARK: client token

private func fuzzClientToken(_ lines: [ArraySlice<UInt8>]) {
    // Line 1 is the request target, every further `Name: value` line a header (lines whose
    // name is not a valid field name are dropped, as a server would refuse them).
    let targetBytes = lines.first ?? []
    let target = String(decoding: targetBytes, as: UTF8.self)
    var fields = HTTPFields()
    for line in lines.dropFirst() {
        guard let c = line.firstIndex(of: colon),
              let name = HTTPField.Name(String(decoding: line[line.startIndex..<c], as: UTF8.self)) else { continue }
        var value = line[(c + 1)...]
        while value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        fields.append(HTTPField(name: name, value: value))
    }
    let result = ClientToken.find(in: fields, target: target)

    // Invariant: `vat_` (any case) in a header value or the target is never "no token": a
    // token somewhere odd must be refused, not ignored (that would fall back to a broader policy).
    let valueCarries = fields.contains { carriesMarker($0.value.utf8) }
    let targetCarries = carriesMarker(target.utf8)
    if valueCarries || targetCarries {
        precondition(result != .absent, "a request carrying vat_ was read as having no token")
    } else {
        precondition(result == .absent, "a request with no vat_ anywhere was read as \(result)")
    }
    // Invariant: a token is accepted only as the single Authorization header `Bearer vat_<hex>`,
    // with nothing token-like in any other header or the target.
    if case .present(let token) = result {
        let t = Array(token.utf8)
        precondition(t.count > 4 && t.starts(with: Array("vat_".utf8)) && t.dropFirst(4).allSatisfy(isLowerHex),
                     "accepted token is not vat_<lowercase hex>: \(token)")
        let authorizations = fields.filter { $0.name == .authorization }
        precondition(authorizations.count == 1, "token accepted with \(authorizations.count) Authorization headers")
        precondition(!targetCarries, "token accepted while the target also carries vat_")
        precondition(!fields.contains { $0.name != .authorization && carriesMarker($0.value.utf8) },
                     "token accepted while another header carries vat_")
        let auth = authorizations[0].value
        precondition(auth.lowercased().hasPrefix("bearer") && auth.contains(token), "token is not the Authorization header's")
    }
}

// MARK: multipart

private func fuzzMultipart(_ lines: [ArraySlice<UInt8>], _ bytes: [UInt8]) {
    // Line 1 is the Content-Type, the rest (after its newline) the body. Invariant: a sniffed
    // `model` is at most 256 characters (anything longer is not a model name).
    let contentType = String(decoding: lines.first ?? [], as: UTF8.self)
    let bodyStart = bytes.firstIndex(of: newline).map { $0 + 1 } ?? bytes.count
    let body = Array(bytes[bodyStart...])
    for type in [contentType, "multipart/form-data; boundary=XyZ"] {
        if let model = MultipartField.value(named: "model", in: body, contentType: type) {
            precondition(model.count <= 256, "a \(model.count)-character model name was sniffed")
        }
        // The byte-level form behind upload prices: parts lie within the body, text fields
        // are short, and an audio bound never exceeds what the file's size allows at the
        // slowest rate a WAV header can claim (1 byte a second).
        guard let form = MultipartForm(body: body, contentType: type) else { continue }
        var total = 0
        for part in form.parts {
            precondition(part.content.startIndex >= 0 && part.content.endIndex <= body.count, "a part outside the body")
            total += part.content.count
            if let text = form.text(part.name) { precondition(text.utf8.count <= 256 * 3, "a long text field") }
            let seconds = AudioDuration.upperBound(part.content)
            precondition(seconds >= 0 && seconds <= part.content.count + 1, "\(seconds) s from \(part.content.count) bytes")
        }
        precondition(total <= body.count, "parts longer than the body")
    }
    let seconds = AudioDuration.upperBound(bytes[...])
    precondition(seconds >= 0 && seconds <= bytes.count + 1, "\(seconds) s from \(bytes.count) bytes")
}

// MARK: HTTP response (CLI side)

private func fuzzResponse(_ bytes: [UInt8]) {
    // The agent's answer as the CLI reads it. Invariants: an accepted answer has a status in
    // 100…599 and a body within the limit; a Content-Length body is exactly that prefix.
    for limit in [1 << 16, 8] {
        guard let response = try? UnixSocketExchange.parse(bytes, limit: limit) else { continue }
        precondition((100...599).contains(response.status), "status \(response.status) accepted")
        precondition(response.body.count <= limit, "a \(response.body.count)-byte body passed a \(limit)-byte limit")
    }
    // Also framed by the CLI's real limit (256 MiB), which makes size arithmetic near Int.max reachable.
    if let response = try? UnixSocketExchange.parse(bytes, limit: 256 << 20) {
        precondition((100...599).contains(response.status), "status \(response.status) accepted")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = bytes.split(separator: newline, omittingEmptySubsequences: false)
    fuzzJSON(bytes)
    fuzzClientToken(lines)
    fuzzMultipart(lines, bytes)
    fuzzResponse(bytes)
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

@_cdecl("fuzz_agent_api_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
