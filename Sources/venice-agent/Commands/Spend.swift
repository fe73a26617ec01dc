import ArgumentParser
import WalletCrypto

/// `venice-agent spend`: what the agent's ledger says was spent, grouped.
struct Spend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show spending recorded by the agent, grouped by client, model, route or day.")
    @OptionGroup var options: ClientOptions

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case client, model, route, day }

    @Option(help: "Group rows by client, model, route or day.") var by: Grouping = .client
    @Option(help: "First day to include, YYYY-MM-DD.") var since: String?

    func validate() throws {
        if let since, since.count != 10 || since.split(separator: "-").count != 3 {
            throw ValidationError("--since takes a day as YYYY-MM-DD, e.g. 2026-11-01")
        }
    }

    func run() async throws {
        try await ClientCommands.run {
            let path = "/agent/v1/spend" + ClientCommands.query([("by", by.rawValue), ("since", since)])
            let response = try await options.client.call(.GET, path, timeoutSeconds: 60)
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            var table = Table([(by.rawValue, .left), ("requests", .right), ("estimate", .right), ("charged", .right)])
            for row in r["rows"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(row["key"]), ClientCommands.text(row["requests"]),
                              ClientCommands.usd(row["estimate_usd"]), ClientCommands.usd(row["charged_usd"])])
            }
            table.append(["total", "", ClientCommands.usd(r["total_estimate_usd"]), ClientCommands.usd(r["total_charged_usd"])])
            print(table.render())
        }
    }
}
