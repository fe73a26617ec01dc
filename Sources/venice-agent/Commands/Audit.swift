import ArgumentParser
import WalletCrypto

/// `venice-agent audit`: the agent's own record of locks, unlocks, payments and refusals.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the agent's audit events (unlock, lock, top-ups, refusals), newest first.")
    @OptionGroup var options: ClientOptions
    @Option(help: "How many events (1–1000).") var limit = 50

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.GET, "/agent/v1/audit" + ClientCommands.query([("limit", String(limit))]),
                                                         timeoutSeconds: 30)
            if options.json { return ClientCommands.printRaw(response) }
            var table = Table([("time", .left), ("event", .left), ("detail", .left)])
            for event in try ClientCommands.object(response)["events"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(event["time"]), ClientCommands.text(event["kind"]), ClientCommands.text(event["detail"])])
            }
            print(table.render())
        }
    }
}
