import ArgumentParser
import WalletCrypto

/// `venice-agent requests`: the requests of the last minutes, as the dashboard shows them.
struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the requests of the last minutes: client, route, status, estimate against charge, latency; newest first."
    )
    @OptionGroup var options: ClientOptions
    @Option(help: "How far back, in minutes (1–1440).") var minutes = 60
    @Option(help: "At most this many rows (1–1000).") var limit = 200

    func validate() throws {
        guard (1...1440).contains(minutes) else { throw ValidationError("--minutes must be between 1 and 1440") }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let path = "/agent/v1/requests" + ClientCommands.query([("minutes", String(minutes)), ("limit", String(limit))])
            let response = try await options.client.call(.GET, path, timeoutSeconds: 30)
            if options.json { return ClientCommands.printRaw(response) }
            var table = Table([("time", .left), ("client", .left), ("route", .left), ("model", .left), ("status", .right),
                               ("estimate", .right), ("charged", .right), ("latency", .right)])
            for row in try ClientCommands.object(response)["requests"]?.arrayValue ?? [] {
                let charged = row["charged_usd"]?.isNull == false ? ClientCommands.usd(row["charged_usd"]) : "pending"
                let latency = row["latency_ms"]?.isNull == false ? ClientCommands.text(row["latency_ms"]) + " ms" : "…"
                table.append([ClientCommands.text(row["started_at"]), ClientCommands.text(row["client"]),
                              ClientCommands.text(row["method"]) + " " + ClientCommands.text(row["route"]), ClientCommands.text(row["model"]),
                              ClientCommands.text(row["status"]), ClientCommands.usd(row["estimate_usd"]), charged, latency])
            }
            print(table.render())
        }
    }
}

/// `venice-agent topups`: the latest top-ups with their state and outcome.
struct TopUps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topups",
        abstract: "List the latest top-ups with their state (reserved, pending, settled, failed, unknown) and outcome, newest first."
    )
    @OptionGroup var options: ClientOptions
    @Option(help: "How many (1–500).") var limit = 50

    func validate() throws {
        guard (1...500).contains(limit) else { throw ValidationError("--limit must be between 1 and 500") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.GET, "/agent/v1/topups" + ClientCommands.query([("limit", String(limit))]),
                                                         timeoutSeconds: 30)
            if options.json { return ClientCommands.printRaw(response) }
            var table = Table([("time", .left), ("amount", .right), ("state", .left), ("outcome", .left)])
            for row in try ClientCommands.object(response)["topups"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(row["created_at"]), ClientCommands.usd(row["amount_usd"]),
                              ClientCommands.text(row["state"]), ClientCommands.text(row["outcome"])])
            }
            print(table.render())
        }
    }
}
