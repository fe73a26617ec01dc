import ArgumentParser
import WalletCrypto

/// `venice-agent dashboard`: a one-time link to the agent's read-only dashboard in a browser.
struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a one-time link to the agent's dashboard (spend, clients, top-ups, audit) on its loopback listener.",
        discussion: """
        The link works once, within 5 minutes, for the user running the agent; it becomes a browser \
        session that ends after 12 hours, when the agent locks, or when it stops. Without a `listen` \
        address in the config, the agent binds 127.0.0.1 on a free port for the dashboard alone.
        """
    )
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run {
            let response = try await options.client.call(.POST, "/agent/v1/dashboard", timeoutSeconds: 30)
            if options.json { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            print(ClientCommands.text(r["url"]))
            print("open it within \(ClientCommands.text(r["code_expires_in_s"])) s; it works once "
                  + "(the session lasts \(ClientCommands.text(r["session_hours"])) h or until the agent locks)")
        }
    }
}
