import ArgumentParser
import WalletCrypto

/// `venice-agent balance`: the wallet's prepaid credit at Venice.
struct Balance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the wallet's prepaid USDC credit at Venice (GET /x402/balance for the agent's wallet)."
    )
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run {
            let response = try await ProgressIndicator.run("asking Venice for the balance") { _ in
                try await options.client.call(.GET, "/api/v1/x402/balance/me", timeoutSeconds: 60)
            }
            if options.json { return ClientCommands.printRaw(response) }
            let data = ClientCommands.venicePayload(try ClientCommands.object(response))
            var rows = [
                ("wallet", ClientCommands.text(data["walletAddress"])),
                ("balance", ClientCommands.usd(data["balanceUsd"])),
                ("can consume", ClientCommands.text(data["canConsume"])),
            ]
            if let diem = data["diemBalanceUsd"], !diem.isNull { rows.append(("DIEM", ClientCommands.usd(diem))) }
            if let minimum = data["minimumTopUpUsd"] { rows.append(("minimum top-up", ClientCommands.usd(minimum))) }
            print(Table.keyValues(rows))
        }
    }
}
