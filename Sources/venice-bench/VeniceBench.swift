/// `make bench`: prints the figures the issues ask for. Build in release mode.
@main
struct VeniceBench {
    static func main() throws {
        #if DEBUG
        print("warning: debug build; run `make bench` for release figures")
        #endif
        try WalletBenchmarks.run()
    }
}
