import AgentCore
import ArgumentParser

/// `venice-agent doctor`: checks this machine and, with `--live`, the real Venice through the
/// agent; one `PASS|FAIL|SKIP rule  detail` line per rule, exit 1 when any failed.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the agent's files, socket and clock; with --live, Venice itself (read-only); with --spend-usd, one cheap image and speech.",
        discussion: """
            Offline (the default): the socket and its folder, the keystore (never decrypted), the config file, the state folder, \
            and the clock against the upstream's Date header. --live adds read-only calls through the agent (models, a signed \
            balance, CF-RAY, rate-limit headers). --spend-usd AMOUNT (at most 1.00, needs --live) SPENDS REAL MONEY: one cheapest \
            image and one short speech, then waits until the agent has reconciled both charges. --transcript FILE writes every \
            exchange, secrets redacted.
            """
    )
    @OptionGroup var options: ClientOptions
    @Flag(help: "Also check Venice itself through the agent (read-only calls).") var live = false
    @Option(name: .customLong("spend-usd"), help: "With --live: spend at most this (≤ 1.00 USD) on one cheapest image and one short speech, and check both charges are reconciled.")
    var spendUSD: Double?
    @Option(help: "Write every HTTP exchange (secrets redacted) to this file, 0600.") var transcript: String?
    @Option(help: "Config file to check (default ~/.config/venice-agent/config.toml when it exists).") var config: String?
    @Option(help: "Keystore to check (default: the running agent's, else the config file's).") var keystore: String?
    @Option(help: "State folder to check (default: the running agent's, else the config file's, else the default).") var stateDir: String?
    @Option(help: "Venice base URL for the clock check (default: the running agent's upstream).") var upstream: String?
    @Option(help: "Seconds to wait for the charges to be reconciled (--spend-usd).") var reconcileTimeout = 120

    static let maximumSpendUSD = 1.00

    func validate() throws {
        if let spendUSD {
            guard live else { throw ValidationError("--spend-usd needs --live (it calls Venice through the agent)") }
            guard spendUSD > 0, spendUSD <= Self.maximumSpendUSD else {
                throw ValidationError("--spend-usd must be more than 0 and at most 1.00 (USD); doctor spends only what one cheap image and a short speech cost")
            }
        }
        guard (5...600).contains(reconcileTimeout) else { throw ValidationError("--reconcile-timeout must be between 5 and 600 seconds") }
    }

    func run() async throws {
        var runner = DoctorRunner(self)
        let status = await runner.run()
        if status != 0 { throw ExitCode(status) }
    }
}
