import ArgumentParser
import WalletCrypto

/// `venice-agent image styles`
struct ImageStyles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "styles", abstract: "List the style presets --style accepts.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.GET, "/api/v1/image/styles", timeoutSeconds: 60)
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            for style in r["data"]?.arrayValue ?? [] { print(ClientCommands.text(style)) }
        }
    }
}
