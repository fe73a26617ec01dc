import ArgumentParser
import WalletCrypto

/// `venice-agent topup USD`: the agent signs an EIP-3009 USDC authorization and settles it at Venice.
struct Topup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add prepaid credit: the agent pays USD in USDC on Base from the wallet (x402 top-up), within its caps."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "Amount in US dollars, e.g. 10.") var usd: Double

    func validate() throws {
        guard usd > 0, usd.isFinite else { throw ValidationError("the amount must be a positive number of dollars, e.g. 10") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let body: JSONValue = ["usd": .number(String(usd))]
            let response = try await ProgressIndicator.run("topping up \(DollarFormat.usd(usd))") { _ in
                try await options.client.call(.POST, "/agent/v1/topup", json: body, timeoutSeconds: 180)
            }
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            print("credited \(ClientCommands.usd(r["amount_credited"])); balance \(ClientCommands.usd(r["new_balance"]))"
                  + " (payment \(ClientCommands.text(r["payment_id"])), transaction \(ClientCommands.text(r["transaction"])))")
        }
    }
}
