// libFuzzer harness for the agent's TOML configuration: ConfigFile.parse (TOMLKit / toml++ and
// the strict Decodable layer) followed by apply(to:) on a fresh AgentConfiguration.
// Built only by scripts/fuzz.sh (VENICE_FUZZ=1, -sanitize=fuzzer, -parse-as-library); the
// normal package build never sees this target.
//
// A config file is written by the owner, but the daemon must still refuse a bad one with an
// error that names the problem: errors are fine, traps are not.
@testable import AgentCore
#if canImport(Glibc)
import Glibc
#endif

/// Known findings, skipped so a run can look past them (FUZZ_KEEP_KNOWN=1 keeps them, e.g. to check
/// a fix). toml++ (TOMLKit 0.6.0's CTOML) checks two parser preconditions with assert(), which
/// aborts (SIGABRT) in debug and release builds alike, as SwiftPM does not define NDEBUG:
///   1. a table header `[` / `[[` followed (after blanks) by anything but a key, e.g. `[\n`
///      (toml.hpp:15481, parse_key ← parse_table_header);
///   2. `}` where an array expects a value, right after `[` or `,`, e.g. `t=[}`
///      (toml.hpp:14994, parse_value ← parse_array).
/// A small TOML lexer (strings, comments) finds both; where it is unsure it skips (over-skipping
/// only costs coverage). toml++ stops at its first error, so the lexer may stop there too.
private let keepKnown = getenv("FUZZ_KEEP_KNOWN") != nil

private func hitsKnownTOMLAssert(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    func at(_ i: Int) -> UInt8? { i < b.count ? b[i] : nil }
    func blank(_ c: UInt8?) -> Bool { c == 0x20 || c == 0x09 }
    func keyStart(_ c: UInt8?) -> Bool {
        guard let c else { return false }
        return (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")
    }
    let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
    var i = b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0  // toml++ skips a UTF-8 BOM
    var lineHasContent = false  // a significant byte on this line (outside comments)
    var last: UInt8 = 0x0A      // the last significant byte, comments and whitespace skipped
    while i < b.count {
        let c = b[i]
        switch c {
        case 0x0A:
            lineHasContent = false; i += 1; continue
        case 0x20, 0x09, 0x0D:
            i += 1; continue
        case UInt8(ascii: "#"):
            while i < b.count, b[i] != 0x0A { i += 1 }
            continue
        case UInt8(ascii: "["):
            if !lineHasContent {  // a table header
                var j = i + 1
                if at(j) == UInt8(ascii: "[") { j += 1 }
                while blank(at(j)) { j += 1 }
                if !keyStart(at(j)) { return true }
            }
        case UInt8(ascii: "}"):
            if last == UInt8(ascii: "[") || last == UInt8(ascii: ",") { return true }
        case quote, apostrophe:
            let multiline = at(i + 1) == c && at(i + 2) == c
            i += multiline ? 3 : 1
            while true {
                guard i < b.count else { return false }  // unterminated: toml++ stops with an error
                if c == quote && b[i] == backslash { i += 2; continue }
                if !multiline && b[i] == 0x0A { return false }  // newline in a one-line string: error
                if b[i] == c && (!multiline || (at(i + 1) == c && at(i + 2) == c)) {
                    i += multiline ? 3 : 1
                    while multiline && at(i) == c { i += 1 }  // up to two quotes may end the content
                    break
                }
                i += 1
            }
            lineHasContent = true; last = c
            continue
        default:
            break
        }
        lineHasContent = true; last = c
        i += 1
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    if !keepKnown, hitsKnownTOMLAssert(buffer) { return -1 }  // -1: libFuzzer keeps it out of the corpus
    let text = String(decoding: buffer, as: UTF8.self)

    // 1. Parsing. Invariant: deterministic (the same text decodes to the same ConfigFile; compared
    //    by description, since `nan` is a valid TOML float and NaN != NaN).
    guard let file = try? ConfigFile.parse(text, path: "fuzz.toml") else { return 0 }
    let again = try? ConfigFile.parse(text, path: "fuzz.toml")
    precondition(again.map { String(reflecting: $0) } == String(reflecting: file), "parsing the same text twice differed")

    // 2. Applying. Invariant: whatever apply(to:) accepts is within the ranges it promises to
    //    enforce, so no later arithmetic (body limits, caps in micro-USD) can overflow.
    var configuration = AgentConfiguration(keystorePath: "/nonexistent/keystore.json", socketPath: "/nonexistent/agent.sock")
    guard (try? file.apply(to: &configuration)) != nil else { return 0 }
    precondition((1...64).contains(configuration.maxInFlight), "max_in_flight \(configuration.maxInFlight) accepted")
    precondition((1 << 20...4096 << 20).contains(configuration.maxRequestBodyBytes),
                 "max_request_body_mb gave \(configuration.maxRequestBodyBytes) bytes")
    for (name, micro) in [("topup_cap_usd", configuration.topUpCapMicro), ("daily_cap_usd", configuration.dailyTopUpCapMicro),
                          ("auto_topup_usd", configuration.autoTopUpMicro)] {
        precondition((0...1_000_000_000_000).contains(micro), "payments.\(name) gave \(micro) micro-USD")
    }
    if let lifetime = configuration.lifetime { precondition(lifetime > .zero, "a non-positive lifetime was accepted") }
    let policies = [configuration.defaultPolicy] + (configuration.otherUIDsPolicy.map { [$0] } ?? []) + configuration.bindings.map(\.policy)
    for policy in policies {
        precondition(policy.routes.map { $0.isSubset(of: ClientPolicy.groupNames) } ?? true, "unknown route group accepted")
        for micro in [policy.maxRequestMicro, policy.dailyMicro].compactMap({ $0 }) {
            precondition((0...1_000_000_000_000).contains(micro), "policy \(policy.name) limit \(micro) micro-USD accepted")
        }
    }
    // Every [[binding]] became exactly one binding, each naming an executable or a unit.
    precondition(configuration.bindings.count == (file.binding?.count ?? 0), "bindings lost or invented")
    for binding in configuration.bindings {
        precondition(binding.executable != nil || binding.unit != nil, "a binding without executable or unit was accepted")
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

@_cdecl("fuzz_agent_config_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
