import ArgumentParser
import WalletCrypto

/// `venice-agent billing …`: Venice's account billing, through the agent's minted ADMIN key.
struct Billing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Venice account billing (needs a minted ADMIN key: `venice-agent apikey mint --type ADMIN`).",
        subcommands: [BillingBalance.self, BillingUsage.self, BillingAnalytics.self]
    )
}

struct BillingBalance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "balance", abstract: "Account balances (DIEM, USD, credits).")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.GET, "/api/v1/billing/balance", timeoutSeconds: 60)
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            let balances = r["balances"]
            print(Table.keyValues([
                ("can consume", ClientCommands.text(r["canConsume"])),
                ("spending", ClientCommands.text(r["consumptionCurrency"])),
                ("DIEM", ClientCommands.text(balances?["diem"])),
                ("USD", ClientCommands.usd(balances?["usd"])),
                ("bundled credits", ClientCommands.text(balances?["bundledCredits"])),
                ("earned credits", ClientCommands.text(balances?["earnedCredits"])),
            ]))
        }
    }
}

struct BillingUsage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Usage history (first page), as a table or CSV.")
    @OptionGroup var options: ClientOptions
    @Option(help: "From this time, ISO 8601 UTC, e.g. 2026-11-01T00:00:00Z.") var since: String?
    @Option(help: "Until this time (exclusive), ISO 8601 UTC.") var until: String?
    @Flag(help: "Print Venice's CSV export.") var csv = false

    func run() async throws {
        try await ClientCommands.run {
            let path = "/api/v1/billing/usage-history" + ClientCommands.query([("startTimestamp", since), ("endTimestamp", until)])
            let response = try await options.client.call(.GET, path, accept: csv ? "text/csv" : nil, timeoutSeconds: 120)
            if options.json || csv { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            var table = Table([("time", .left), ("sku", .left), ("units", .right), ("amount", .right), ("currency", .left), ("notes", .left)])
            for row in r["data"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(row["timestamp"]), ClientCommands.text(row["sku"]), ClientCommands.text(row["units"]),
                              ClientCommands.text(row["amount"]), ClientCommands.text(row["currency"]), ClientCommands.text(row["notes"])])
            }
            print(table.render())
            if let cursor = r["nextCursor"]?.stringValue { print("more rows exist (cursor \(cursor))") }
        }
    }
}

struct BillingAnalytics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analytics", abstract: "Spending per model over a look-back window.")
    @OptionGroup var options: ClientOptions
    @Option(help: "Window such as 7d (at most 90d).") var lookback = "7d"

    func validate() throws {
        guard lookback.hasSuffix("d"), let days = Int(lookback.dropLast()), days > 0 else {
            throw ValidationError("--lookback takes a number of days such as 7d")
        }
    }

    func run() async throws {
        try await ClientCommands.run {
            let path = "/api/v1/billing/usage-analytics" + ClientCommands.query([("lookback", lookback)])
            let response = try await options.client.call(.GET, path, timeoutSeconds: 120)
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            var table = Table([("model", .left), ("type", .left), ("units", .right), ("USD", .right), ("DIEM", .right)])
            for row in r["byModel"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(row["modelName"]), ClientCommands.text(row["modelType"]), ClientCommands.text(row["totalUnits"]),
                              ClientCommands.usd(row["totalUsd"]), ClientCommands.text(row["totalDiem"])])
            }
            print("look-back \(ClientCommands.text(r["lookback"]))")
            print(table.render())
        }
    }
}
