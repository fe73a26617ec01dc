/// `make bench`: prints the figures the issues ask for. Build in release mode.
@main
struct VeniceBench {
    static func main() async throws {
        #if DEBUG
        print("warning: debug build; run `make bench` for release figures")
        #endif
        // `venice-bench --x402-only` skips the slow keystore figures.
        if !CommandLine.arguments.contains("--x402-only") { try WalletBenchmarks.run() }
        try X402Benchmarks.run()
        if !CommandLine.arguments.contains("--x402-only") && !CommandLine.arguments.contains("--no-agent") {
            try await AgentBenchmarks.run(seconds: 3)
        }
    }
}
