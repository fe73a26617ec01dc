/// `make bench`: prints the figures the issues ask for. Build in release mode.
@main
struct VeniceBench {
    static func main() async throws {
        #if DEBUG
        print("warning: debug build; run `make bench` for release figures")
        #endif
        // `venice-bench --x402-only` skips the slow keystore figures; `--agent-only` runs the agent cells alone;
        // `--stream-only` runs the streamed-chat table alone.
        if CommandLine.arguments.contains("--stream-only") {
            try await StreamBenchmarks.run(count: 50)
            return
        }
        let agentOnly = CommandLine.arguments.contains("--agent-only")
        if !CommandLine.arguments.contains("--x402-only") && !agentOnly { try WalletBenchmarks.run() }
        if !agentOnly { try X402Benchmarks.run() }
        if CommandLine.arguments.contains("--ledger") {
            try await LedgerBenchmarks.run(count: 5000)
            return
        }
        if !CommandLine.arguments.contains("--x402-only") && !CommandLine.arguments.contains("--no-agent") {
            let sequential = CommandLine.arguments.firstIndex(of: "--sequential").flatMap { index in
                CommandLine.arguments.dropFirst(index + 1).first.flatMap { Int($0) }
            } ?? 10_000
            try await AgentBenchmarks.run(seconds: 3, sequential: sequential)
            try await StreamBenchmarks.run(count: 50)
        }
    }
}
