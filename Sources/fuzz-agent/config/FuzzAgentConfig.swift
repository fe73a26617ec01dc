// libFuzzer harness for the agent's TOML configuration: TOMLParser (our own strict TOML reader,
// Sources/AgentCore/Config) and ConfigFile.parse on top of it, followed by apply(to:) on a fresh
// AgentConfiguration.
// Built only by scripts/fuzz.sh (VENICE_FUZZ=1, -sanitize=fuzzer, -parse-as-library); the
// normal package build never sees this target.
//
// A config file is written by the owner, but the daemon must still refuse a bad one with an
// error that names the problem: errors are fine, traps are not. (TOMLKit's toml++ aborted on
// inputs such as "[\n" and "t=[}"; the harness used to skip those. Nothing is skipped now.)
@testable import AgentCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: buffer, as: UTF8.self)

    // 0. The TOML layer. Invariants: deterministic (compared by description, since `nan` is a
    //    valid TOML float and NaN != NaN); an error points at a line and column inside the text.
    let tree = Result { () throws(TOMLError) in try TOMLParser.parse(text) }
    let treeAgain = Result { () throws(TOMLError) in try TOMLParser.parse(text) }
    switch (tree, treeAgain) {
    case (.success(let first), .success(let second)):
        precondition(first.description == second.description, "parsing the same text twice gave different trees")
    case (.failure(let first), .failure(let second)):
        precondition(first == second, "parsing the same text twice gave different errors")
        let lines = text.utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        precondition((1...lines).contains(first.line) && first.column >= 1, "error outside the text: \(first)")
        precondition(!first.message.isEmpty, "an error without a message")
    default:
        preconditionFailure("parsing the same text twice succeeded once and failed once")
    }

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
