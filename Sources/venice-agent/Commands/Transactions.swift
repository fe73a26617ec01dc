import ArgumentParser
import WalletCrypto

/// `venice-agent transactions`: the wallet's credit ledger at Venice, newest first.
struct Transactions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the wallet's credit ledger at Venice (top-ups, charges, refunds), newest first."
    )
    @OptionGroup var options: ClientOptions
    @Option(help: "Rows per page (1–100).") var limit = 50
    @Option(help: "Rows to skip.") var offset = 0

    func validate() throws {
        guard (1...100).contains(limit) else { throw ValidationError("--limit must be between 1 and 100") }
        guard offset >= 0 else { throw ValidationError("--offset must be 0 or more") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let path = "/api/v1/x402/transactions/me" + ClientCommands.query([("limit", String(limit)), ("offset", String(offset))])
            let response = try await ProgressIndicator.run("asking Venice for the ledger") { _ in
                try await options.client.call(.GET, path, timeoutSeconds: 60)
            }
            if options.json { return ClientCommands.printRaw(response) }
            let data = ClientCommands.venicePayload(try ClientCommands.object(response))
            var table = Table([("time", .left), ("type", .left), ("amount", .right), ("balance after", .right), ("model", .left), ("request", .left)])
            for row in data["transactions"]?.arrayValue ?? [] {
                table.append([ClientCommands.text(row["createdAt"]), ClientCommands.text(row["type"]), ClientCommands.usd(row["amount"]),
                              ClientCommands.usd(row["balanceAfter"]), ClientCommands.text(row["modelId"]), ClientCommands.text(row["requestId"])])
            }
            print(table.render())
            print("balance \(ClientCommands.usd(data["currentBalance"]))")
            if data["pagination"]?["hasMore"]?.boolValue == true {
                print("more: venice-agent transactions --offset \(offset + limit) --limit \(limit)")
            }
        }
    }
}
