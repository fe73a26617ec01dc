import ArgumentParser
import WalletCrypto

/// `venice-agent lock`: drop the key from the agent's memory.
struct Lock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lock the agent: it forgets the decrypted key until `venice-agent unlock`.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.POST, "/agent/v1/lock", timeoutSeconds: 30)
            if options.json { return ClientCommands.printRaw(response) }
            print("locked; run `venice-agent unlock` to use the wallet again")
        }
    }
}
