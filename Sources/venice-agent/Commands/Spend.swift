import ArgumentParser
import Foundation
import WalletCrypto

/// `venice-agent spend`: what the agent's ledger says was spent, grouped.
struct Spend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show spending recorded by the agent, grouped by client, model, route or day.")
    @OptionGroup var options: ClientOptions

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case client, model, route, day }

    @Option(help: "Group rows by client, model, route or day.") var by: Grouping = .client
    @Option(help: "First day to include, YYYY-MM-DD.") var since: String?
    @Flag(help: "Draw the last 30 days as bars per day, stacked by client (or --by model).") var chart = false

    func validate() throws {
        if chart, by != .client, by != .model { throw ValidationError("--chart stacks by client or model; drop --by \(by.rawValue)") }
        if chart, since != nil { throw ValidationError("--chart always shows the last 30 days; drop --since") }
        if let since, since.count != 10 || since.split(separator: "-").count != 3 {
            throw ValidationError("--since takes a day as YYYY-MM-DD, e.g. 2026-11-01")
        }
    }

    func run() async throws {
        if chart { return try await runChart() }
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

    /// The last 30 UTC days, from `/agent/v1/spend?by=day&stack=…`.
    func runChart() async throws {
        try await ClientCommands.run {
            let now = Int64(Date().timeIntervalSince1970)
            let empty = SpendChart.lastDays(30, nowSeconds: now, amounts: [:])
            let path = "/agent/v1/spend" + ClientCommands.query([("by", "day"), ("stack", by.rawValue), ("since", empty.first?.date)])
            let response = try await options.client.call(.GET, path, timeoutSeconds: 60)
            if options.json { return ClientCommands.printRaw(response) }
            var amounts: [String: [(key: String, usd: Double)]] = [:]
            for row in try ClientCommands.object(response)["rows"]?.arrayValue ?? [] {
                guard let day = row["key"]?.stringValue else { continue }
                amounts[day] = (row["parts"]?.arrayValue ?? []).compactMap { part in
                    guard let key = part["key"]?.stringValue, let usd = part["charged_usd"]?.doubleValue else { return nil }
                    return (key, usd)
                }
            }
            let environment = ProcessInfo.processInfo.environment
            let color = isatty(1) == 1 && environment["NO_COLOR"] == nil
            let chart = SpendChart(days: SpendChart.lastDays(30, nowSeconds: now, amounts: amounts),
                                   width: SpendChart.terminalWidth(environment: environment), color: color)
            print(chart.render(title: "spend per UTC day, last 30 days, stacked by \(by.rawValue) (charged, or estimated until reconciled)"))
        }
    }
}
